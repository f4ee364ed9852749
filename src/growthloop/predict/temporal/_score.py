"""Scoring the current profiles with a registered churn or propensity model.

The profile is snapshotted as of now (by default the midnight after the latest order or event)
into a scratch table, the model's population is scored (churn: customers who have bought;
propensity: everyone), and the scores replace the model's earlier ones in the analytical table
``scores``:

    canonical_id, model, version, kind, score, scored_at, as_of, profile_column, reasons

``reasons`` holds the top reasons in words. Then the scores are attached to ``profiles`` as the
column ``profile_column`` (``churn_risk`` for the model named ``churn``,
``purchase_propensity`` for ``propensity``, ``<that>_<rest of the name>`` for other names), so
rule segments can use them: ``{"type": "trait", "field": "churn_risk", "op": "gt", "value": 0.7}``.

A model refuses a snapshot whose features differ from those it was trained on (a missing
column, or a column whose values changed type), as :meth:`ColumnPlan.transform` does for files.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from growthloop.errors import ModelError
from growthloop.predict.registry import ModelVersion, load_model
from growthloop.predict.tabular import TabularClassifier, score_table
from growthloop.predict.temporal._snapshot import KINDS, Target, read_snapshot
from growthloop.profile import (
    SCORES_TABLE,
    attach_scores,
    build_profiles,
    default_as_of,
    replace_scores,
)
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["PROFILE_COLUMNS", "ProfileScores", "profile_column", "score_profiles", "scores_of"]

PROFILE_COLUMNS = {"churn": "churn_risk", "propensity": "purchase_propensity"}
_SNAPSHOT = "_snapshot_score"
_REASONS = 3


def profile_column(kind: str, name: str) -> str:
    """The profile column of a model's scores: ``churn_risk`` for the model ``churn``,
    ``churn_risk_eu`` for ``churn-eu``, ``purchase_propensity_toys`` for ``propensity-toys``."""
    base = PROFILE_COLUMNS[kind]
    rest = name[len(kind) :] if name.startswith(kind) else name
    slug = re.sub(r"[^a-z0-9]+", "_", rest.lower()).strip("_")
    return f"{base}_{slug}" if slug else base


@dataclass(frozen=True)
class ProfileScores:
    """What scoring the profiles did."""

    model: ModelVersion
    rows: int
    as_of: datetime
    scored_at: datetime
    profile_column: str
    mean_score: float
    elapsed_seconds: float
    notes: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model.name, "version": self.model.version},
            "kind": self.model.kind,
            "rows": self.rows,
            "as_of": self.as_of.isoformat(),
            "scored_at": self.scored_at.isoformat(),
            "table": SCORES_TABLE,
            "profile_column": self.profile_column,
            "mean_score": self.mean_score,
            "elapsed_seconds": self.elapsed_seconds,
            "notes": self.notes,
            "preview": self.preview,
        }


def _target(found: ModelVersion) -> Target:
    target = found.params.get("target")
    if found.kind not in KINDS or found.params.get("source") != "profiles" or not target:
        raise ModelError(
            f"model {found.name!r} v{found.version} was not trained on the profiles "
            f"({found.description or found.kind}); score files with it through "
            f"`growthloop score --file`, or train one with `growthloop train {found.kind}`"
        )
    return Target(found.kind, int(target["horizon_days"]), target.get("category"))


def score_profiles(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    models_dir: Path,
    name: str,
    version: int | None = None,
    as_of: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ProfileScores:
    """Score the profile as of ``as_of`` with a registered model (the promoted version unless
    ``version`` is given), store the scores and attach them to ``profiles``."""
    started = time.perf_counter()
    found, classifier = load_model(
        store=operational, models_dir=models_dir, name=name, version=version
    )
    if not isinstance(classifier, TabularClassifier):
        raise ModelError(
            f"model {found.name!r} v{found.version} is a {found.kind} model, not a classifier"
        )
    target = _target(found)
    moment = as_of or default_as_of(analytical)
    try:
        build_profiles(analytical, as_of=moment, table=_SNAPSHOT, interest_tags=False)
        frame, _ = read_snapshot(analytical, _SNAPSHOT, target, cutoff=moment, labelled=False)
    finally:
        analytical.con.execute(f"DROP TABLE IF EXISTS {_SNAPSHOT}")
    if frame.empty:
        raise ModelError(f"no customers to score as of {moment:%Y-%m-%d} ({target.population()})")
    try:
        scored, notes = score_table(classifier, frame, reasons=_REASONS)
    except ModelError as exc:
        raise ModelError(
            f"model {found.name!r} v{found.version} cannot score the current profiles: {exc}. "
            f"The profile's features changed since it was trained; retrain it with "
            f"`growthloop train {found.kind}`"
        ) from exc
    scored_at = (clock or (lambda: datetime.now(UTC).replace(tzinfo=None)))()
    column = profile_column(found.kind, found.name)
    reasons = ", ".join(f"reason_{k + 1}" for k in range(_REASONS))
    replace_scores(
        analytical,
        scored,
        model=found.name,
        version=found.version,
        kind=found.kind,
        scored_at=scored_at,
        as_of=moment,
        columns=f"probability, ?, list_filter([{reasons}], lambda r: r <> '')",
        params=[column],
    )
    attach_scores(analytical)
    return ProfileScores(
        model=found,
        rows=len(scored),
        as_of=moment,
        scored_at=scored_at,
        profile_column=column,
        mean_score=float(scored["probability"].mean()),
        elapsed_seconds=time.perf_counter() - started,
        notes=notes,
        preview=scored.sort_values("probability", ascending=False).head(5).to_dict("records"),
    )


def scores_of(store: AnalyticalStore, canonical_id: str) -> list[dict[str, Any]]:
    """A customer's current scores, one per model, with their top reasons."""
    if not store.has_table(SCORES_TABLE):
        return []
    return store.rows(
        f"SELECT model, version, kind, profile_column, score, reasons, scored_at, as_of "
        f"FROM {SCORES_TABLE} WHERE canonical_id = ? ORDER BY model",
        [canonical_id],
    )
