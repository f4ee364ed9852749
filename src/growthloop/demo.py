"""The main job: the whole loop on a generated world, ending in an HTML report.

Each stage of the loop adds its step here and its section to the report as it is built.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from growthloop._demo_recommend import MIN_PURCHASES, recommend_step
from growthloop.errors import ConfigError, ConvergenceError, ModelError
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import LoadSummary, load_file, options_for
from growthloop.predict.lifetime import ClvTraining, score_clv, train_clv
from growthloop.predict.temporal import Target, score_profiles, train_on_profiles
from growthloop.profile import build_profiles
from growthloop.report import (
    Section,
    clusters_section,
    clv_section,
    data_quality_section,
    predictions_section,
    profiles_section,
    recommendations_section,
    render_report,
    segments_section,
)
from growthloop.segment import cluster_customers, create_segment, parse_segment
from growthloop.segment.examples import EXAMPLE_SEGMENTS
from growthloop.workspace import Workspace

__all__ = ["DemoResult", "run_demo"]

MARKER = ".growthloop-demo"
# World file → entity, in the order they load (catalogue and customers before activity).
_LOADS = (
    ("products", "products"),
    ("customers", "customers"),
    ("orders", "orders"),
    ("events", "events"),
)


@dataclass
class DemoResult:
    """What the demo did and where its outputs are."""

    workspace: Path
    report: Path
    world: Path
    loads: list[LoadSummary] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    world_counts: dict[str, int] = field(default_factory=dict)
    profiles: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    clusters: int = 0
    churn: dict[str, Any] = field(default_factory=dict)
    clv: dict[str, Any] = field(default_factory=dict)
    recommendations: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "report": str(self.report),
            "world": str(self.world),
            "world_counts": self.world_counts,
            "profiles": self.profiles,
            "segments": self.segments,
            "clusters": self.clusters,
            "churn": self.churn,
            "clv": self.clv,
            "recommendations": self.recommendations,
            "loads": [s.to_dict() for s in self.loads],
            "stage_seconds": self.stage_seconds,
        }


def _prepare(directory: Path) -> None:
    """Use an empty folder or a previous demo's; never delete anything else."""
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise ConfigError(
                f"{directory} exists and is not a growthloop demo folder; choose another "
                "folder with --dir or empty this one"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("created by `growthloop demo`; safe to delete\n")


def _churn(ws: Workspace, seed: int) -> dict[str, Any]:
    """Train the churn model (90 days, default split) and score the profiles; a world too
    small or too short for the temporal split is reported as skipped."""
    try:
        trained = train_on_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            target=Target("churn", 90),
            seed=seed,
        )
        scored = score_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name=trained.model.name,
        )
    except ModelError as exc:
        return {"skipped": str(exc)}
    return {
        "model": trained.model.summary(),
        "chosen": trained.fit.chosen,
        "test_roc_auc": {m: r.test["roc_auc"] for m, r in trained.fit.reports.items()},
        "scored": scored.rows,
        "mean_churn_risk": scored.mean_score,
    }


#: The penalizer the demo falls back to when a small world's likelihood has no proper
#: maximum (the fit drifts to a boundary where the dropout rate is not identified).
FALLBACK_PENALIZER = 0.001


def _clv(ws: Workspace, calibration_end: date) -> dict[str, Any]:
    """Train the CLV models (holdout after ``calibration_end``) and score every buyer. When the
    unpenalised likelihood has no proper maximum, the models are refitted with a small
    penalizer, as the error advises, and a note says so; a world with too few repeat buyers,
    or still no maximum, is reported as skipped."""
    notes: list[str] = []
    try:
        try:
            trained = _train_clv(ws, calibration_end, penalizer=0.0)
        except ConvergenceError as exc:
            notes.append(
                f"unpenalised fit: {exc}; refitted with penalizer={FALLBACK_PENALIZER}"
            )
            trained = _train_clv(ws, calibration_end, penalizer=FALLBACK_PENALIZER)
        scored = score_clv(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name=trained.model.name,
        )
    except ModelError as exc:
        return {"skipped": str(exc)}
    holdout = None
    if trained.holdout is not None:
        holdout = {
            "calibration_end": trained.holdout.calibration_end.isoformat(),
            "actual_total": trained.holdout.purchases["actual_total"],
            "predicted_total": trained.holdout.purchases["predicted_total"],
            "total_error": trained.holdout.purchases["total_error"],
        }
    return {
        "model": trained.model.summary(),
        "holdout": holdout,
        "scored": scored.rows,
        "mean_clv": scored.means["clv"],
        "mean_p_alive": scored.means["p_alive"],
        "notes": [*notes, *trained.notes],
    }


def _train_clv(ws: Workspace, calibration_end: date, *, penalizer: float) -> ClvTraining:
    return train_clv(
        analytical=ws.analytical,
        operational=ws.operational,
        models_dir=ws.models_dir,
        calibration_end=calibration_end,
        penalizer=penalizer,
    )


def _recommendations(ws: Workspace, world: Path) -> tuple[dict[str, Any], Section | None]:
    """Evaluate recommendations on held-out days and against the world's truth, and recommend
    to a few customers; a world too small or too short to evaluate on is reported as skipped."""
    try:
        found = recommend_step(ws.analytical, world)
    except ModelError as exc:
        return {"skipped": str(exc)}, None
    section = recommendations_section(
        found.held_out, truth=found.truth, examples=found.examples, min_purchases=MIN_PURCHASES
    )
    return found.summary(), section


def run_demo(
    directory: Path,
    *,
    customers: int = 2000,
    seed: int = 42,
    dirty_fraction: float = 0.02,
    on_stage: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Create a workspace in ``directory``, generate a world, load it and write the report."""
    notify = on_stage or (lambda _s: None)
    directory = directory.resolve()
    _prepare(directory)
    result = DemoResult(
        workspace=directory, report=directory / "report.html", world=directory / "world"
    )
    started = time.perf_counter()
    notify("generating the world")
    spec = WorldSpec(
        customers=customers,
        products=max(50, min(2000, customers // 8)),
        seed=seed,
        dirty_fraction=dirty_fraction,
    )
    world = generate_world(spec, result.world, progress=progress)
    result.world_counts = dict(world.counts)
    result.stage_seconds["generate"] = time.perf_counter() - started
    with Workspace.init(directory, name="growthloop-demo") as ws:
        step = time.perf_counter()
        for name, entity in _LOADS:
            notify(f"loading {name}")
            result.loads.append(
                load_file(ws.analytical, entity, world.files[name], options_for(entity))
            )
        result.stage_seconds["ingest"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("building customer profiles and RFM segments")
        build = build_profiles(ws.analytical)
        result.profiles = build.customers
        result.stage_seconds["profiles"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("creating example segments")
        for document in EXAMPLE_SEGMENTS:
            _, _, change = create_segment(
                analytical=ws.analytical,
                operational=ws.operational,
                definition=parse_segment(document),
                at=build.as_of,
            )
            result.segments[change.segment_id] = change.members
        result.stage_seconds["segments"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("clustering customers")
        clusters = cluster_customers(ws.analytical)
        result.clusters = clusters.k or 0
        result.stage_seconds["clusters"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("training and scoring the churn and CLV models")
        sections = [
            data_quality_section(ws.analytical),
            profiles_section(ws.analytical),
            segments_section(ws.analytical, ws.operational),
            clusters_section(ws.analytical),
        ]
        result.churn = _churn(ws, seed)
        if "skipped" not in result.churn:
            sections.append(predictions_section(ws.analytical, ws.operational, name="churn"))
        # The world is one year with a November-December peak, so every holdout holds the
        # peak; the first half calibrates and the second half is held out, which keeps most
        # customers in the calibration period and dilutes the peak (docs/models.md).
        result.clv = _clv(ws, spec.start + timedelta(days=spec.days // 2 - 1))
        if "skipped" not in result.clv:
            sections.append(clv_section(ws.analytical, ws.operational, notes=result.clv["notes"]))
        result.stage_seconds["predictions"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("evaluating recommendations and recommending to a few customers")
        result.recommendations, section = _recommendations(ws, result.world)
        if section is not None:
            sections.append(section)
        result.stage_seconds["recommendations"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("writing the report")
        render_report(
            result.report,
            sections,
            title="growthloop demo report",
            subtitle=f"A generated shop: {customers:,} customers, seed {seed}, "
            f"{spec.days} days from {spec.start:%d %b %Y}",
        )
        result.stage_seconds["report"] = time.perf_counter() - step
    result.stage_seconds["total"] = time.perf_counter() - started
    return result
