"""Training from a file and scoring a file: the service functions the CLI (and later the API)
call. Training registers the chosen model; scoring loads a registered one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from growthloop.errors import ModelError
from growthloop.predict.registry import ModelVersion, load_model, register_model
from growthloop.predict.tabular._classifier import Evaluation, TabularClassifier
from growthloop.predict.tabular._columns import parse_label
from growthloop.store import OperationalStore

__all__ = [
    "ScoreResult",
    "TrainingResult",
    "file_fingerprint",
    "read_table",
    "score_file",
    "score_table",
    "train_from_file",
]

_SUFFIXES = (".csv", ".parquet", ".pq")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ModelError(
            f"{path.name}: use a .csv or .parquet file (got {suffix or 'no suffix'!r})"
        )
    return suffix


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (every column read as text, blanks kept as blank strings) or Parquet file."""
    suffix = _suffix(path)
    if not path.is_file():
        raise ModelError(f"cannot read {path}: no such file")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc


def file_fingerprint(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class TrainingResult:
    """What training did: the column report, both families' metrics, the registered model."""

    model: ModelVersion
    rows: int
    positives: int
    classes: tuple[str, str]
    columns: list[dict[str, Any]]
    evaluations: dict[str, Evaluation]
    chosen: str
    calibration: str
    importance: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.summary(),
            "rows": self.rows,
            "positives": self.positives,
            "negative_label": self.classes[0],
            "positive_label": self.classes[1],
            "columns": self.columns,
            "cross_validation": {f: e.to_dict() for f, e in self.evaluations.items()},
            "chosen": self.chosen,
            "calibration": self.calibration,
            "importance": self.importance,
        }


def train_from_file(
    *,
    store: OperationalStore,
    models_dir: Path,
    path: Path,
    kind: str,
    label_column: str,
    id_column: str | None = None,
    name: str | None = None,
    target_positive: str | None = None,
    model: str = "auto",
    calibration: str = "auto",
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TrainingResult:
    """Train a classifier on a labelled file and register it (promoted if it is the name's
    first promoted version, otherwise a candidate)."""
    table = read_table(path)
    if label_column not in table.columns:
        raise ModelError(
            f"label column {label_column!r} is not in {path.name}; its columns are: "
            f"{', '.join(map(str, table.columns))}"
        )
    y, positive, negative = parse_label(table[label_column], target_positive=target_positive)
    classifier = TabularClassifier(
        kind=kind,
        model=model,
        calibration=calibration,
        folds=folds,
        seed=seed,
        id_column=id_column,
        label_column=label_column,
    ).fit(table, y, classes=(negative, positive), progress=progress)
    chosen = classifier.evaluations_[classifier.chosen_]
    metrics = {
        **chosen.metrics,
        "chosen": classifier.chosen_,
        "calibration": classifier.calibration_method_,
        "rows": len(y),
        "positives": int(y.sum()),
        "cross_validation": {f: e.to_dict() for f, e in classifier.evaluations_.items()},
        "importance": classifier.importance_,
        "columns": classifier.plan_.report(),
    }
    params = {
        **classifier.get_params(),
        "estimator": classifier.estimator_.get_params(),
        "positive_label": positive,
        "negative_label": negative,
        "source_file": path.name,
    }
    registered = register_model(
        store=store,
        models_dir=models_dir,
        kind=kind,
        name=name,
        artifact=classifier,
        features=classifier.plan_.feature_set(),
        metrics=metrics,
        params=params,
        data_fingerprint=file_fingerprint(path),
        description=f"{classifier.chosen_} on {path.name} ({len(y)} rows)",
        promote_if_first=True,
        clock=clock,
    )
    return TrainingResult(
        model=registered,
        rows=len(y),
        positives=int(y.sum()),
        classes=(negative, positive),
        columns=classifier.plan_.report(),
        evaluations=classifier.evaluations_,
        chosen=classifier.chosen_,
        calibration=classifier.calibration_method_,
        importance=classifier.importance_,
    )


@dataclass(frozen=True)
class ScoreResult:
    """What scoring did: the model used, rows scored, where they went, notes, a preview."""

    model: ModelVersion
    rows: int
    output: Path
    id_column: str
    notes: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model.name, "version": self.model.version},
            "rows": self.rows,
            "output": str(self.output),
            "id_column": self.id_column,
            "notes": self.notes,
            "preview": self.preview,
        }


def score_table(
    classifier: TabularClassifier, table: pd.DataFrame, *, reasons: int = 3
) -> tuple[pd.DataFrame, list[str]]:
    """Id, probability and the top reasons in words for every row; and the notes."""
    X, notes = classifier.prepare(table)
    probability = classifier.calibrator_.transform(classifier.estimator_.predict_raw(X))
    explained = classifier.explain(X, top=reasons)
    id_column = classifier.plan_.id_column
    if id_column is not None and id_column in table.columns:
        ids = table[id_column].astype(str).to_numpy()
    else:
        id_column, ids = "row", [str(i + 1) for i in range(len(table))]
    out = pd.DataFrame({id_column: ids, "probability": probability.round(6)})
    for k in range(reasons):
        out[f"reason_{k + 1}"] = [r[k].text if k < len(r) else "" for r in explained]
    return out, notes.lines()


def score_file(
    *,
    store: OperationalStore,
    models_dir: Path,
    path: Path,
    output: Path,
    name: str = "churn",
    version: int | None = None,
    reasons: int = 3,
) -> ScoreResult:
    """Score every row of ``path`` with a registered classifier (the promoted version unless
    ``version`` is given) and write id, probability and top reasons to ``output``."""
    out_suffix = _suffix(output)
    table = read_table(path)
    found, classifier = load_model(store=store, models_dir=models_dir, name=name, version=version)
    if not isinstance(classifier, TabularClassifier):
        raise ModelError(
            f"model {found.name!r} v{found.version} is a {found.kind} model, not a classifier "
            "trained on a table; pick one trained with `growthloop train`"
        )
    scores, notes = score_table(classifier, table, reasons=reasons)
    output.parent.mkdir(parents=True, exist_ok=True)
    if out_suffix == ".csv":
        scores.to_csv(output, index=False)
    else:
        scores.to_parquet(output, index=False)
    return ScoreResult(
        model=found,
        rows=len(scores),
        output=output,
        id_column=str(scores.columns[0]),
        notes=notes,
        preview=scores.head(5).to_dict(orient="records"),
    )
