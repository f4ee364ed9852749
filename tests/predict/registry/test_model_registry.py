"""The model registry: version numbering, promotion, rollback, loading, errors; SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.errors import ModelError, NotFoundError
from growthloop.predict.registry import (
    get_model,
    list_models,
    load_model,
    promote,
    promotion_history,
    register_model,
    rollback,
)
from growthloop.store import OperationalStore

FEATURES = [{"name": "tenure", "dtype": "numeric"}, {"name": "Contract", "dtype": "categorical"}]


class Ticker:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _register(store: OperationalStore, models_dir: Path, value: object, **kwargs: object):
    return register_model(
        store=store,
        models_dir=models_dir,
        kind="churn",
        artifact={"value": value},
        features=FEATURES,
        metrics={"roc_auc": 0.8},
        params={"C": 1.0},
        data_fingerprint="sha256:abc",
        **kwargs,  # type: ignore[arg-type]
    )


def _lifecycle(store: OperationalStore, models_dir: Path) -> None:
    clock = Ticker()
    first = _register(store, models_dir, 1, clock=clock)
    assert (first.name, first.version, first.status) == ("churn", 1, "candidate")
    assert first.library_versions["python"] and "numpy" in first.library_versions
    assert (models_dir / "churn" / "v1" / "model.joblib").is_file()
    assert (models_dir / "churn" / "v1" / "metadata.json").is_file()

    with pytest.raises(NotFoundError, match=r"no promoted version \(it has v1 \(candidate\)\)"):
        load_model(store=store, models_dir=models_dir, name="churn")
    # A named version loads without promotion.
    assert load_model(store=store, models_dir=models_dir, name="churn", version=1)[1] == {
        "value": 1
    }

    for value in (2, 3):
        _register(store, models_dir, value, clock=clock)
    assert [m.version for m in list_models(store)] == [1, 2, 3]
    assert list_models(store, kind="clv") == []

    with pytest.raises(ModelError, match="nothing is promoted"):
        rollback(store, "churn")
    promote(store, "churn", 1, clock=clock)
    with pytest.raises(ModelError, match="v1 is promoted"):
        rollback(store, "churn")
    promote(store, "churn", 2, clock=clock)
    promote(store, "churn", 3, clock=clock)
    assert {m.version: m.status for m in list_models(store)} == {
        1: "retired",
        2: "retired",
        3: "promoted",
    }
    meta, obj = load_model(store=store, models_dir=models_dir, name="churn")
    assert (meta.version, obj) == (3, {"value": 3})

    assert rollback(store, "churn", clock=clock).version == 2
    assert get_model(store, "churn").version == 2  # the promoted one, not the newest
    assert rollback(store, "churn", clock=clock).version == 1
    with pytest.raises(ModelError, match="no earlier promoted version"):
        rollback(store, "churn")
    assert [
        (p.action, p.version, p.previous_version) for p in promotion_history(store, "churn")
    ] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("promote", 3, 2),
        ("rollback", 2, 3),
        ("rollback", 1, 2),
    ]
    # A new registration with promote_if_first leaves the promoted version alone.
    fourth = _register(store, models_dir, 4, clock=clock, promote_if_first=True)
    assert (fourth.version, fourth.status) == (4, "candidate")
    other = _register(store, models_dir, 5, name="churn-eu", promote_if_first=True)
    assert (other.version, other.status) == (1, "promoted")


def test_lifecycle_on_sqlite(workspace: Workspace) -> None:
    _lifecycle(workspace.operational, workspace.models_dir)


@pytest.mark.postgres
def test_lifecycle_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    store = OperationalStore.open(postgres_url)
    try:
        assert store.revision() == "0004"
        _lifecycle(store, tmp_path / "models")
    finally:
        store.close()


def test_errors_name_what_exists(workspace: Workspace) -> None:
    store, models_dir = workspace.operational, workspace.models_dir
    with pytest.raises(NotFoundError, match=r"no model named 'churn' \(registered models: none"):
        get_model(store, "churn")
    _register(store, models_dir, 1)
    with pytest.raises(NotFoundError, match=r"has no version 7; it has v1 \(candidate\)"):
        get_model(store, "churn", 7)
    with pytest.raises(ModelError, match="model name 'Bad Name' is not allowed"):
        _register(store, models_dir, 1, name="Bad Name")
    # A kind finds the model when one model has it, and asks for a name when several do.
    store_kwargs = {"store": store, "models_dir": models_dir, "features": FEATURES}
    for name in ("buyers-a", "buyers-b"):
        register_model(
            kind="propensity", name=name, artifact=1, metrics={}, params={}, **store_kwargs
        )
        if name == "buyers-a":
            assert get_model(store, "propensity").name == "buyers-a"
    with pytest.raises(NotFoundError, match=r"several models are of kind 'propensity' \(buyers-a"):
        get_model(store, "propensity")


def test_changed_or_foreign_artifact_is_refused(workspace: Workspace) -> None:
    store, models_dir = workspace.operational, workspace.models_dir
    found = _register(store, models_dir, 1)
    path = models_dir / found.artifact_path / "model.joblib"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelError, match="has changed since it was registered"):
        load_model(store=store, models_dir=models_dir, name="churn", version=1)
    from growthloop.predict.registry._artifacts import load_artifact

    with pytest.raises(ModelError, match="outside the workspace's models folder"):
        load_artifact(models_dir, "../../elsewhere", found.artifact_sha256)
