"""Training churn and propensity models on the workspace's own data with a temporal split.

Three models see the same snapshots (:mod:`._snapshot`) and the same split (:mod:`._split`):
LightGBM and logistic regression on every profile feature, and an RFM-only baseline (logistic
regression on the recency, frequency and monetary scores, 1-5). Each is fitted on the train
snapshot and calibrated on the validation snapshot
(:meth:`~growthloop.predict.tabular.TabularClassifier.fit_holdout`); every metric reported for
the test snapshot is on a period no model or calibrator has seen. LightGBM's settings are
chosen the same way: each of :data:`LIGHTGBM_CANDIDATES` is fitted on the train snapshot and
the one with the higher validation ROC-AUC is kept. Of the two full models the
one with the higher validation ROC-AUC is registered (a tie goes to logistic regression), with
all three models' metrics, so the baseline stays on record next to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from growthloop.errors import ModelError
from growthloop.predict.registry import ModelVersion, register_model
from growthloop.predict.tabular import TabularClassifier, binary_metrics, reliability_bins
from growthloop.predict.tabular._metrics import lift_and_capture
from growthloop.predict.temporal._snapshot import (
    ID_COLUMN,
    Snapshot,
    Target,
    snapshot_fingerprint,
    take_snapshot,
)
from growthloop.predict.temporal._split import ROLES, TemporalSplit, data_range, plan_split
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = [
    "MIN_CUSTOMERS",
    "MIN_PER_CLASS",
    "MODELS",
    "HeldOutReport",
    "TemporalFit",
    "TemporalTraining",
    "fit_temporal",
    "take_snapshots",
    "train_on_profiles",
]

MIN_CUSTOMERS = 100  # per snapshot
MIN_PER_CLASS = 20  # of the rarer outcome, per snapshot
RFM_FEATURES = ("r_score", "f_score", "m_score")
# model -> (features: None for every profile feature, model family)
MODELS: dict[str, tuple[tuple[str, ...] | None, str]] = {
    "lightgbm": (None, "lightgbm"),
    "logistic": (None, "logistic"),
    "rfm_baseline": (RFM_FEATURES, "logistic"),
}
# LightGBM settings, each fitted on the train snapshot; the one with the higher validation
# ROC-AUC is kept (a tie goes to the first, smaller one). Small trees suit the few thousand
# customers of a small shop (Online Retail: 1,875 in the train snapshot), the defaults
# (7 leaves, 300 trees) larger ones. Recency is monotone: more days since the last order never
# lowers churn risk (nor raises purchase propensity).
LIGHTGBM_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 3, "n_estimators": 150},
    {},
)
_RECENCY_SIGN = {"churn": 1, "propensity": -1}
_LIFT_SHARES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class HeldOutReport:
    """One model's results: validation metrics (calibration cross-fitted), test metrics,
    the test reliability bins, the test lift curve and the test score deciles."""

    model: str
    validation: dict[str, float]
    test: dict[str, float]
    reliability: list[dict[str, Any]]
    lift_curve: list[dict[str, float]]
    deciles: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "validation": self.validation,
            "test": self.test,
            "reliability": self.reliability,
            "lift_curve": self.lift_curve,
            "deciles": self.deciles,
        }


@dataclass
class TemporalFit:
    """The three fitted models with their held-out reports, and the validation ROC-AUC of each
    LightGBM setting tried (``lightgbm_tuning``)."""

    classifiers: dict[str, TabularClassifier]
    reports: dict[str, HeldOutReport]
    chosen: str
    fit_seconds: float
    lightgbm_tuning: list[dict[str, Any]] = field(default_factory=list)

    @property
    def classifier(self) -> TabularClassifier:
        return self.classifiers[self.chosen]


def _check_snapshot(snapshot: Snapshot, target: Target) -> None:
    day = f"{snapshot.cutoff:%Y-%m-%d}"
    where = f"the {snapshot.role} snapshot (cutoff {day})"
    who = target.population().replace("the cutoff", day)
    if snapshot.rows < MIN_CUSTOMERS:
        raise ModelError(
            f"{where} has only {snapshot.rows:,} {who}; {target.kind} training needs at least "
            f"{MIN_CUSTOMERS:,} in each snapshot — load more customers or move the cutoffs later "
            "(--train-cutoff, --validation-cutoff)"
        )
    negative, positive = target.classes
    counts = {positive: snapshot.positives, negative: snapshot.rows - snapshot.positives}
    window = f"the {target.horizon_days} days after {day}"
    if 0 in counts.values():
        only = positive if counts[negative] == 0 else negative
        if target.kind == "churn":
            what = "churned: nobody bought" if only == positive else "bought again: nobody churned"
        else:
            what = "bought" if only == positive else "did not buy"
            what += f" {target.category!r}" if target.category else ""
        raise ModelError(
            f"all {snapshot.rows:,} {who} {what} in {window} ({snapshot.role} snapshot); a model "
            "needs both outcomes — choose other cutoffs or another --horizon-days"
        )
    rarer = min(counts, key=lambda k: counts[k])
    if counts[rarer] < MIN_PER_CLASS:
        raise ModelError(
            f"{where} has only {counts[rarer]:,} {rarer!r} among {snapshot.rows:,} {who} "
            f"in {window}; at least {MIN_PER_CLASS} of each outcome are needed — load more "
            "data, choose other cutoffs or another --horizon-days"
        )


def take_snapshots(
    store: AnalyticalStore, target: Target, split: TemporalSplit, progress: Progress | None = None
) -> dict[str, Snapshot]:
    """The labelled train, validation and test snapshots, each checked for size and classes."""
    snapshots = {}
    for done, (role, cutoff) in enumerate(split.cutoffs().items(), start=1):
        snapshots[role] = take_snapshot(store, target, role=role, cutoff=cutoff)
        _check_snapshot(snapshots[role], target)
        if progress:
            progress(done, len(ROLES) + len(MODELS))
    return snapshots


def _lift_curve(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    curve = []
    for share in _LIFT_SHARES:
        lift, capture = lift_and_capture(y, p, share)
        curve.append({"top": share, "lift": lift, "capture": capture})
    return curve


def _deciles(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    """Customers ranked by score in ten equal groups (1: the highest scores) with their mean
    score and actual positive rate."""
    order = np.argsort(-p, kind="stable")
    out = []
    for decile, rows in enumerate(np.array_split(order, 10), start=1):
        if len(rows):
            out.append(
                {
                    "decile": decile,
                    "customers": len(rows),
                    "mean_score": float(p[rows].mean()),
                    "actual_rate": float(y[rows].mean()),
                }
            )
    return out


def _roc_auc(classifier: TabularClassifier) -> float:
    return float(classifier.evaluations_[classifier.chosen_].metrics["roc_auc"])


def fit_temporal(
    snapshots: dict[str, Snapshot],
    target: Target,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> TemporalFit:
    """Fit the three models on the train snapshot, calibrate them on validation, report test."""
    started = time.perf_counter()
    train, validation, test = (snapshots[r] for r in ROLES)
    classifiers: dict[str, TabularClassifier] = {}
    reports: dict[str, HeldOutReport] = {}
    tuning: list[dict[str, Any]] = []
    for done, (model, (features, family)) in enumerate(MODELS.items(), start=len(ROLES) + 1):
        columns = [ID_COLUMN, *features] if features else list(train.frame.columns)
        settings: tuple[dict[str, Any] | None, ...] = (None,)
        if family == "lightgbm":
            monotone = {"recency_days": _RECENCY_SIGN[target.kind]}
            settings = tuple({**c, "monotone": monotone} for c in LIGHTGBM_CANDIDATES)
        tried = []
        for params in settings:
            tried.append(
                TabularClassifier(
                    kind=target.kind,
                    model=family,
                    seed=seed,
                    id_column=ID_COLUMN,
                    lightgbm_params=params,
                    zero_one_as_boolean=False,
                ).fit_holdout(
                    train.frame[columns],
                    train.labels,
                    validation.frame[columns],
                    validation.labels,
                    classes=target.classes,
                )
            )
        if family == "lightgbm":
            tuning = [
                {"params": c.lightgbm_params, "validation_roc_auc": _roc_auc(c)} for c in tried
            ]
        classifier = max(tried, key=_roc_auc)  # max keeps the first of equals
        p = classifier.predict_proba(test.frame[columns])[:, 1]
        classifiers[model] = classifier
        reports[model] = HeldOutReport(
            model=model,
            validation=classifier.evaluations_[family].metrics,
            test=binary_metrics(test.labels, p),
            reliability=reliability_bins(test.labels, p),
            lift_curve=_lift_curve(test.labels, p),
            deciles=_deciles(test.labels, p),
        )
        if progress:
            progress(done, len(ROLES) + len(MODELS))
    chosen = max(
        ("lightgbm", "logistic"),
        key=lambda m: (reports[m].validation["roc_auc"], m == "logistic"),
    )
    return TemporalFit(classifiers, reports, chosen, time.perf_counter() - started, tuning)


@dataclass(frozen=True)
class TemporalTraining:
    """What workspace training did: the split, the snapshots, the three models, the registered
    one."""

    model: ModelVersion
    target: Target
    split: TemporalSplit
    snapshots: dict[str, dict[str, Any]]
    fit: TemporalFit

    @property
    def columns(self) -> list[dict[str, Any]]:
        return self.fit.classifier.plan_.report()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.summary(),
            "target": self.target.to_dict(),
            "split": self.split.to_dict(),
            "snapshots": self.snapshots,
            "chosen": self.fit.chosen,
            "calibration": self.fit.classifier.calibration_method_,
            "models": {m: r.to_dict() for m, r in self.fit.reports.items()},
            "lightgbm_tuning": self.fit.lightgbm_tuning,
            "importance": self.fit.classifier.importance_,
            "columns": self.columns,
            "fit_seconds": self.fit.fit_seconds,
        }


def train_on_profiles(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    models_dir: Path,
    target: Target,
    test_cutoff: date | datetime | None = None,
    validation_cutoff: date | datetime | None = None,
    train_cutoff: date | datetime | None = None,
    name: str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TemporalTraining:
    """Snapshot the profiles at three cutoffs, fit and evaluate the three models, register the
    better full model (promoted if it is its name's first promoted version)."""
    split = plan_split(
        data_range(analytical),
        horizon_days=target.horizon_days,
        test=test_cutoff,
        validation=validation_cutoff,
        train=train_cutoff,
    )
    snapshots = take_snapshots(analytical, target, split, progress)
    fit = fit_temporal(snapshots, target, seed=seed, progress=progress)
    chosen = fit.classifier
    summary = {
        role: {
            "cutoff": s.cutoff.isoformat(),
            "rows": s.rows,
            "positives": s.positives,
            "build_seconds": round(s.build_seconds, 3),
        }
        for role, s in snapshots.items()
    }
    metrics = {
        **fit.reports[fit.chosen].test,
        "evaluated_on": "test snapshot (held-out period)",
        "chosen": fit.chosen,
        "calibration": chosen.calibration_method_,
        "rows": snapshots["train"].rows,
        "positives": snapshots["train"].positives,
        "split": split.to_dict(),
        "snapshots": summary,
        "models": {m: r.to_dict() for m, r in fit.reports.items()},
        "baseline_rfm": fit.reports["rfm_baseline"].test,
        "lightgbm_tuning": fit.lightgbm_tuning,
        "importance": chosen.importance_,
        "columns": chosen.plan_.report(),
    }
    negative, positive = target.classes
    params = {
        **chosen.get_params(),
        "estimator": chosen.estimator_.get_params(),
        "source": "profiles",
        "target": target.to_dict(),
        "positive_label": positive,
        "negative_label": negative,
    }
    registered = register_model(
        store=operational,
        models_dir=models_dir,
        kind=target.kind,
        name=name or target.default_name(),
        artifact=chosen,
        features=chosen.plan_.feature_set(),
        metrics=metrics,
        params=params,
        training_from=split.data.first,
        training_to=split.validation + split.horizon,
        data_fingerprint=snapshot_fingerprint(list(snapshots.values())),
        description=(
            f"{fit.chosen} on profile snapshots: trained at {split.train:%Y-%m-%d}, calibrated "
            f"at {split.validation:%Y-%m-%d}, tested at {split.test:%Y-%m-%d} "
            f"({target.describe()})"
        ),
        promote_if_first=True,
        clock=clock,
    )
    return TemporalTraining(registered, target, split, summary, fit)
