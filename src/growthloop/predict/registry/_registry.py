"""The model registry: every trained model version with its metadata, promotion and rollback.

Metadata lives in the operational store (tables ``model_versions`` and ``model_promotions``),
artifacts in the workspace's models folder (see :mod:`._artifacts`). Versions of a name count
up from 1. A version is ``candidate`` when registered, ``promoted`` when it is the one
:func:`load_model` returns by default (at most one per name), and ``retired`` once another
version replaced it. Every promotion and rollback is kept in order, so :func:`rollback` can go
back step by step.
"""

from __future__ import annotations

import json
import platform
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from growthloop.errors import ModelError, NotFoundError
from growthloop.predict.registry._artifacts import (
    artifact_folder,
    load_artifact,
    publish_artifact,
    remove_artifact,
    save_artifact,
)
from growthloop.store import OperationalStore
from growthloop.store._models import ModelPromotion
from growthloop.store._models import ModelVersion as ModelVersionRow

__all__ = [
    "STATUSES",
    "ModelVersion",
    "Promotion",
    "get_model",
    "library_versions",
    "list_models",
    "load_model",
    "promote",
    "promotion_history",
    "register_model",
    "rollback",
]

STATUSES = ("candidate", "promoted", "retired")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "scipy", "growthloop")

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version (metadata only; :func:`load_model` returns the object)."""

    name: str
    version: int
    kind: str
    status: str
    created_at: datetime
    training_from: datetime | None
    training_to: datetime | None
    features: list[dict[str, Any]]
    metrics: dict[str, Any]
    params: dict[str, Any]
    library_versions: dict[str, str]
    data_fingerprint: str | None
    artifact_path: str
    artifact_sha256: str
    description: str | None = None

    @classmethod
    def _from_row(cls, row: ModelVersionRow) -> ModelVersion:
        return cls(
            name=row.name,
            version=row.version,
            kind=row.kind,
            status=row.status,
            created_at=row.created_at,
            training_from=row.training_from,
            training_to=row.training_to,
            features=json.loads(row.features),
            metrics=json.loads(row.metrics),
            params=json.loads(row.params),
            library_versions=json.loads(row.library_versions),
            data_fingerprint=row.data_fingerprint,
            artifact_path=row.artifact_path,
            artifact_sha256=row.artifact_sha256,
            description=row.description,
        )

    def summary(self) -> dict[str, Any]:
        """Name, version, kind, status and artifact path: how results name their model."""
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "status": self.status,
            "artifact_path": self.artifact_path,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (datetimes as ISO strings)."""
        data = asdict(self)
        for key in ("created_at", "training_from", "training_to"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True)
class Promotion:
    """One entry of a name's promotion history."""

    name: str
    action: str
    version: int
    previous_version: int | None
    at: datetime


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model's behaviour depends on."""
    versions = {"python": platform.python_version()}
    for package in _LIBRARIES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ModelError(
            f"model name {name!r} is not allowed; use 1-63 lower-case letters, digits, '_', "
            "'-' or '.', starting with a letter or digit (e.g. churn or churn-eu)"
        )


def register_model(
    *,
    store: OperationalStore,
    models_dir: Path,
    kind: str,
    artifact: Any,
    features: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    params: Mapping[str, Any],
    name: str | None = None,
    training_from: datetime | None = None,
    training_to: datetime | None = None,
    data_fingerprint: str | None = None,
    description: str | None = None,
    promote_if_first: bool = False,
    clock: Clock | None = None,
) -> ModelVersion:
    """Store ``artifact`` as the next version of ``name`` (default: ``kind``), as a candidate.

    ``features`` lists the feature set (each a mapping with at least ``name`` and ``dtype``).
    With ``promote_if_first`` the new version is promoted when no version of the name is.
    """
    name = name or kind
    _check_name(name)
    if not features:
        raise ModelError(f"model {name!r} has no features; a model needs at least one")
    now = (clock or _now)()
    for _attempt in range(5):
        with store.session() as session:
            latest = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
            )
            version = (latest or 0) + 1
            relative = artifact_folder(name, version)
            row = ModelVersionRow(
                name=name,
                version=version,
                kind=kind,
                created_at=now,
                training_from=training_from,
                training_to=training_to,
                features=_dumps([dict(f) for f in features]),
                metrics=_dumps(dict(metrics)),
                params=_dumps(dict(params)),
                library_versions=_dumps(library_versions()),
                data_fingerprint=data_fingerprint,
                status="candidate",
                artifact_path=relative,
                artifact_sha256="",
                description=description,
            )
            # Written to a private folder first: a concurrent registration of the same version
            # loses at commit and must not touch the winner's folder.
            staging = f"{name}/.staging-{uuid.uuid4().hex}"
            row.artifact_sha256 = save_artifact(models_dir, staging, artifact, _metadata_file(row))
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # another process registered this version first
                session.rollback()
                remove_artifact(models_dir, staging)
                continue
        publish_artifact(models_dir, staging, relative)
        registered = ModelVersion._from_row(row)
        if promote_if_first and _promoted_row(store, name) is None:
            return promote(store, name, version, clock=clock)
        return registered
    raise ModelError(f"could not register model {name!r}: versions kept colliding; try again")


def _metadata_file(row: ModelVersionRow) -> dict[str, Any]:
    """The registry row as written to ``metadata.json``: everything but the status (which
    changes; the store has it) and the artifact's own hash."""
    data = ModelVersion._from_row(row).to_dict()
    return {k: v for k, v in data.items() if k not in ("status", "artifact_sha256")}


def _rows(session: Session, name: str) -> list[ModelVersionRow]:
    return list(
        session.scalars(
            select(ModelVersionRow)
            .where(ModelVersionRow.name == name)
            .order_by(ModelVersionRow.version)
        ).all()
    )


def _promoted_row(store: OperationalStore, name: str) -> ModelVersionRow | None:
    with store.session() as session:
        return session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.status == "promoted"
            )
        ).first()


def _known_names(session: Session) -> list[str]:
    return list(session.scalars(select(ModelVersionRow.name).distinct()).all())


def _resolve_name(session: Session, name_or_kind: str) -> str:
    """``name_or_kind`` if it names a model, else the one model name of that kind."""
    names = _known_names(session)
    if name_or_kind in names:
        return name_or_kind
    of_kind = sorted(
        set(
            session.scalars(
                select(ModelVersionRow.name).where(ModelVersionRow.kind == name_or_kind)
            ).all()
        )
    )
    if len(of_kind) == 1:
        return of_kind[0]
    if of_kind:
        raise NotFoundError(
            f"several models are of kind {name_or_kind!r} ({', '.join(of_kind)}); name one"
        )
    known = ", ".join(sorted(names)) or "none yet"
    raise NotFoundError(
        f"no model named {name_or_kind!r} (registered models: {known}); "
        "list them with `growthloop models list`"
    )


def _versions_text(rows: Sequence[ModelVersionRow]) -> str:
    return ", ".join(f"v{r.version} ({r.status})" for r in rows)


def list_models(store: OperationalStore, *, kind: str | None = None) -> list[ModelVersion]:
    """Every registered version (of ``kind`` if given), by name and version."""
    query = select(ModelVersionRow).order_by(ModelVersionRow.name, ModelVersionRow.version)
    if kind is not None:
        query = query.where(ModelVersionRow.kind == kind)
    with store.session() as session:
        return [ModelVersion._from_row(r) for r in session.scalars(query).all()]


def get_model(store: OperationalStore, name: str, version: int | None = None) -> ModelVersion:
    """One version of a model (by name, or by kind when one model has it).

    Without ``version``: the promoted version, else the newest.
    """
    with store.session() as session:
        name = _resolve_name(session, name)
        rows = _rows(session, name)
    if version is None:
        promoted = [r for r in rows if r.status == "promoted"]
        return ModelVersion._from_row(promoted[0] if promoted else rows[-1])
    for row in rows:
        if row.version == version:
            return ModelVersion._from_row(row)
    raise NotFoundError(f"model {name!r} has no version {version}; it has {_versions_text(rows)}")


def load_model(
    *, store: OperationalStore, models_dir: Path, name: str, version: int | None = None
) -> tuple[ModelVersion, Any]:
    """The metadata and fitted object of a model: the promoted version unless one is named."""
    if version is None:
        with store.session() as session:
            name = _resolve_name(session, name)
            rows = _rows(session, name)
        promoted = [r for r in rows if r.status == "promoted"]
        if not promoted:
            raise NotFoundError(
                f"model {name!r} has no promoted version (it has {_versions_text(rows)}); "
                f"promote one with `growthloop models promote {name} {rows[-1].version}` "
                "or name a version"
            )
        found = ModelVersion._from_row(promoted[0])
    else:
        found = get_model(store, name, version)
    return found, load_artifact(models_dir, found.artifact_path, found.artifact_sha256)


def promotion_history(store: OperationalStore, name: str) -> list[Promotion]:
    """Every promotion and rollback of ``name``, oldest first."""
    with store.session() as session:
        events = session.scalars(
            select(ModelPromotion)
            .where(ModelPromotion.name == name)
            .order_by(ModelPromotion.promotion_id)
        ).all()
        return [
            Promotion(
                name=e.name,
                action=e.action,
                version=e.version,
                previous_version=e.previous_version,
                at=e.at,
            )
            for e in events
        ]


def _promotion_stack(events: Sequence[Promotion]) -> list[int]:
    """Replay the history: a promotion pushes its version, a rollback pops one."""
    stack: list[int] = []
    for event in events:
        if event.action == "promote":
            stack.append(event.version)
        elif stack:
            stack.pop()
    return stack


def _switch(
    store: OperationalStore, name: str, version: int, action: str, clock: Clock | None
) -> ModelVersion:
    now = (clock or _now)()
    with store.session() as session:
        rows = {r.version: r for r in _rows(session, name)}
        target = rows[version]
        previous = next((r for r in rows.values() if r.status == "promoted"), None)
        if previous is not None:
            previous.status = "retired"
        target.status = "promoted"
        session.add(
            ModelPromotion(
                name=name,
                action=action,
                version=version,
                previous_version=previous.version if previous is not None else None,
                at=now,
            )
        )
        session.commit()
        return ModelVersion._from_row(target)


def promote(
    store: OperationalStore, name: str, version: int, *, clock: Clock | None = None
) -> ModelVersion:
    """Make ``version`` the promoted version of ``name``; the one before it is retired."""
    found = get_model(store, name, version)
    if found.status == "promoted":
        return found
    return _switch(store, found.name, version, "promote", clock)


def rollback(store: OperationalStore, name: str, *, clock: Clock | None = None) -> ModelVersion:
    """Go back to the version promoted before the current one; return it."""
    with store.session() as session:
        name = _resolve_name(session, name)
    stack = _promotion_stack(promotion_history(store, name))
    if len(stack) < 2:
        current = f"v{stack[-1]} is promoted" if stack else "nothing is promoted"
        raise ModelError(
            f"model {name!r} has no earlier promoted version to roll back to ({current}); "
            f"promote a version instead with `growthloop models promote {name} VERSION`"
        )
    return _switch(store, name, stack[-2], "rollback", clock)
