"""Figures of docs/churn.md: churn models on the generated world and on Online Retail.

    OMP_WAIT_POLICY=PASSIVE python docs/churn_figures.py [--datasets DIR]

Prints the metrics tables (Markdown) and writes the reliability and lift charts to docs/img/.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd

from growthloop import Workspace
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.predict.temporal import Target, TemporalTraining, train_on_profiles
from growthloop.report._charts import to_svg

IMG = Path(__file__).resolve().parent / "img"
_ROWS = (
    ("roc_auc", "ROC-AUC", "{:.3f}"),
    ("pr_auc", "PR-AUC", "{:.3f}"),
    ("brier", "Brier", "{:.4f}"),
    ("lift_top10", "lift top 10 %", "{:.2f}"),
    ("capture_top10", "capture top 10 %", "{:.0%}"),
    ("lift_top20", "lift top 20 %", "{:.2f}"),
    ("capture_top20", "capture top 20 %", "{:.0%}"),
)


def _train(ws: Workspace) -> TemporalTraining:
    return train_on_profiles(
        analytical=ws.analytical,
        operational=ws.operational,
        models_dir=ws.models_dir,
        target=Target("churn", 90),
    )


def generated(folder: Path) -> TemporalTraining:
    world = generate_world(WorldSpec(customers=4000, products=300, days=365, seed=7), folder / "w")
    with Workspace.init(folder / "ws") as ws:
        for entity in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, entity, world.files[entity], options_for(entity))
        return _train(ws)


def online_retail(folder: Path, datasets: Path) -> TemporalTraining:
    path = datasets / "online_retail" / "Online_Retail.csv.gz"
    with Workspace.init(folder / "or") as ws:
        load_file(ws.analytical, "orders", path, options_for("orders", preset="online-retail"))
        return _train(ws)


def table(result: TemporalTraining) -> str:
    reports = result.fit.reports
    base = next(iter(reports.values())).test["brier_base_rate"]
    lines = ["| metric (test) | " + " | ".join(reports) + " |", "|---" * (len(reports) + 1) + "|"]
    for key, label, fmt in _ROWS:
        lines.append(
            f"| {label} | " + " | ".join(fmt.format(r.test[key]) for r in reports.values()) + " |"
        )
    lines.append(f"| (Brier of the base rate: {base:.4f}) |" + " |" * len(reports))
    return "\n".join(lines)


def charts(results: dict[str, TemporalTraining]) -> None:
    rel, lift = [], []
    for data, result in results.items():
        for model, report in result.fit.reports.items():
            for b in report.reliability:
                rel.append({"data": data, "model": model, **b})
            for point in report.lift_curve:
                lift.append({"data": data, "model": model, **point})
    diagonal = pd.DataFrame({"x": [0, 1], "y": [0, 1]})
    points = (
        alt.Chart(pd.DataFrame(rel))
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "mean_predicted:Q",
                title="mean predicted churn probability",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("observed_rate:Q", title="observed churn rate", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N"),
        )
    )
    ideal = alt.Chart(diagonal).mark_line(strokeDash=[4, 4], color="grey").encode(x="x:Q", y="y:Q")
    reliability = alt.hconcat(
        *[
            alt.layer(ideal, points.transform_filter(alt.datum.data == name)).properties(
                width=260, height=260, title=f"reliability on test — {name}"
            )
            for name in results
        ]
    )
    (IMG / "churn_reliability.svg").write_text(to_svg(reliability))
    lift_chart = alt.hconcat(
        *[
            alt.Chart(pd.DataFrame(lift))
            .transform_filter(alt.datum.data == name)
            .mark_line(point=True)
            .encode(
                x=alt.X(
                    "top:Q",
                    title="share of customers contacted (highest scores first)",
                    axis=alt.Axis(format="%"),
                ),
                y=alt.Y("lift:Q", title="lift (churn rate / base rate)"),
                color="model:N",
            )
            .properties(width=260, height=260, title=f"lift on test — {name}")
            for name in results
        ]
    )
    (IMG / "churn_lift.svg").write_text(to_svg(lift_chart))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = os.environ.get(
        "GROWTHLOOP_DATASETS", str(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    )
    parser.add_argument("--datasets", type=Path, default=Path(default))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "generated world": generated(Path(tmp)),
            "Online Retail": online_retail(Path(tmp), args.datasets),
        }
    for name, result in results.items():
        sys.stdout.write(
            f"\n### {name}\n\n{result.split.to_dict()}\n{result.snapshots}\n"
            f"chosen: {result.fit.chosen}\n\n{table(result)}\n"
        )
    IMG.mkdir(exist_ok=True)
    charts(results)


if __name__ == "__main__":
    main()
