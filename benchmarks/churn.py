"""Churn training and scoring at scale on a generated world.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/churn.py --customers 100000
    OMP_WAIT_POLICY=PASSIVE python benchmarks/churn.py --customers 1000000 --folder /tmp/churn1m

Reports, separately: generating and loading the world, the three profile snapshots (train,
validation, test), fitting the three models given the snapshots (LightGBM, logistic regression,
RFM baseline; each calibrated on validation), and scoring throughput on the workspace
(snapshot, predictions, reasons, writing ``scores``). The baseline in the same run is
scikit-learn's HistGradientBoostingClassifier on the same features and split without
calibration: the library's own LightGBM-style booster, i.e. what the pipeline would cost and
score without LightGBM. Target: training under 2 minutes on 1M customers. A loaded world in
``--folder`` is reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from growthloop import Workspace
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.predict.tabular import binary_metrics, plan_columns
from growthloop.predict.temporal import (
    Target,
    data_range,
    fit_temporal,
    plan_split,
    score_profiles,
    take_snapshots,
    train_on_profiles,
)


def _world(folder: Path, customers: int, seed: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    if (folder / "ws" / "growthloop.toml").exists():
        return timings
    started = time.perf_counter()
    world = generate_world(
        WorldSpec(customers=customers, products=2000, days=365, seed=seed), folder / "world"
    )
    timings["generate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with Workspace.init(folder / "ws") as ws:
        for entity in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, entity, world.files[entity], options_for(entity))
    timings["load_s"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    folder = args.folder or Path(f"/tmp/growthloop-churn-{args.customers}")
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {
        "customers": args.customers,
        **_world(folder, args.customers, args.seed),
    }
    target = Target("churn", 90)
    with Workspace.open(folder / "ws") as ws:
        split = plan_split(data_range(ws.analytical), horizon_days=90)
        started = time.perf_counter()
        snapshots = take_snapshots(ws.analytical, target, split)
        out["snapshots_s"] = time.perf_counter() - started
        out["snapshot_rows"] = {r: s.rows for r, s in snapshots.items()}
        fit = fit_temporal(snapshots, target)
        out["fit_s"] = fit.fit_seconds
        out["test_roc_auc"] = {m: r.test["roc_auc"] for m, r in fit.reports.items()}
        out["test_brier"] = {m: r.test["brier"] for m, r in fit.reports.items()}

        train, test = snapshots["train"], snapshots["test"]
        started = time.perf_counter()
        plan = plan_columns(train.frame, id_column="canonical_id")
        X, _ = plan.transform(train.frame)
        X_test, _ = plan.transform(test.frame)
        booster = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        booster.fit(X, train.labels)
        p = np.asarray(booster.predict_proba(X_test)[:, 1])
        out["baseline_hgb_fit_s"] = time.perf_counter() - started
        metrics = binary_metrics(test.labels, p)
        out["baseline_hgb_test"] = {"roc_auc": metrics["roc_auc"], "brier": metrics["brier"]}

        started = time.perf_counter()
        trained = train_on_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            target=target,
            name="churn-bench",
        )
        out["train_end_to_end_s"] = time.perf_counter() - started
        scored = score_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name=trained.model.name,
            version=trained.model.version,
        )
        out["score_rows"] = scored.rows
        out["score_s"] = scored.elapsed_seconds
        out["score_rows_per_s"] = scored.rows / scored.elapsed_seconds
    sys.stdout.write(json.dumps(out, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
