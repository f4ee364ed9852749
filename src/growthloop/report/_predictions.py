"""The predictions section: how well the registered churn model ranks and how honest its
probabilities are, on a period it never saw.

Reads what ``growthloop train churn`` registered (the split, the three models' test metrics,
reliability bins, lift curves and score deciles) and what ``growthloop score churn`` wrote to
``scores``: a model card (data window, metrics of LightGBM, logistic regression and the RFM-only
baseline side by side, top features), the actual churn rate per decile of churn risk, a
reliability chart and a lift chart.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from growthloop.errors import ModelError, NotFoundError
from growthloop.predict.registry import ModelVersion, get_model
from growthloop.profile import SCORES_TABLE
from growthloop.report._charts import to_svg
from growthloop.report._section import Section
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["predictions_section"]

_TITLES = {
    "lightgbm": "LightGBM",
    "logistic": "logistic regression",
    "rfm_baseline": "RFM baseline",
}
# Rows of the model card's metrics table: (metric key, heading, format).
_METRICS = (
    ("roc_auc", "ROC-AUC", "{:.3f}"),
    ("pr_auc", "PR-AUC", "{:.3f}"),
    ("brier", "Brier score", "{:.3f}"),
    ("lift_top10", "lift, top 10 %", "{:.2f}"),
    ("capture_top10", "capture, top 10 %", "{:.0%}"),
    ("lift_top20", "lift, top 20 %", "{:.2f}"),
)
_TOP_FEATURES = 8


def _deciles_chart(deciles: list[dict[str, Any]], outcome: str) -> str:
    data = pd.DataFrame(deciles)
    base = alt.Chart(
        data, title=f"Actual {outcome} rate per decile of predicted risk (test period)"
    ).encode(x=alt.X("decile:O", title="decile (1 = highest risk)", axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(color="#9fb3c8").encode(
        y=alt.Y("actual_rate:Q", title=f"{outcome} rate", axis=alt.Axis(format="%")),
        tooltip=[
            "decile",
            alt.Tooltip("actual_rate:Q", format=".1%"),
            alt.Tooltip("mean_score:Q", format=".1%"),
        ],
    )
    points = base.mark_point(color="#12355b", filled=True, size=50).encode(y="mean_score:Q")
    return to_svg((bars + points).properties(width=420, height=220))


def _reliability_chart(reports: dict[str, Any], models: list[str]) -> str:
    rows = [{**b, "model": _TITLES.get(m, m)} for m in models for b in reports[m]["reliability"]]
    data = pd.DataFrame(rows)
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="#888")
        .encode(x="x:Q", y="y:Q")
    )
    curves = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "mean_predicted:Q",
                title="mean predicted probability",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("observed_rate:Q", title="observed rate", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", title=None),
            tooltip=["model", "bin", "count", alt.Tooltip("observed_rate:Q", format=".2f")],
        )
    )
    chart = (diagonal + curves).properties(
        width=300, height=300, title="Reliability on the test period (dashed: perfect)"
    )
    return to_svg(chart)


def _lift_chart(reports: dict[str, Any]) -> str:
    rows = [
        {**point, "model": _TITLES.get(m, m)}
        for m, report in reports.items()
        for point in report["lift_curve"]
    ]
    chart = (
        alt.Chart(pd.DataFrame(rows), title="Lift on the test period")
        .mark_line(point=True)
        .encode(
            x=alt.X("top:Q", title="top share of customers by score", axis=alt.Axis(format="%")),
            y=alt.Y("lift:Q", title="lift (rate among them / base rate)"),
            color=alt.Color("model:N", title=None),
            tooltip=[
                "model",
                alt.Tooltip("top:Q", format=".0%"),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
        .properties(width=420, height=240)
    )
    return to_svg(chart)


def _current_scores(store: AnalyticalStore, name: str) -> dict[str, Any] | None:
    if not store.has_table(SCORES_TABLE):
        return None
    rows = store.rows(
        f"SELECT count(*) AS customers, avg(score) AS mean_score, "
        f"count(*) FILTER (WHERE score > 0.7) AS above_70, max(as_of) AS as_of, "
        f"any_value(profile_column) AS profile_column FROM {SCORES_TABLE} WHERE model = ?",
        [name],
    )
    return rows[0] if rows and rows[0]["customers"] else None


def _model(operational: OperationalStore, name: str) -> ModelVersion:
    try:
        found = get_model(operational, name)
    except NotFoundError as exc:
        raise ModelError(
            f"no model {name!r} is registered; run `growthloop train churn` first"
        ) from exc
    if found.params.get("source") != "profiles" or "models" not in found.metrics:
        raise ModelError(
            f"model {name!r} v{found.version} was not trained on the profiles with a temporal "
            "split; run `growthloop train churn`"
        )
    return found


def predictions_section(
    analytical: AnalyticalStore, operational: OperationalStore, *, name: str = "churn"
) -> Section:
    """The model card and held-out charts of the registered model ``name``.

    Raises
    ------
    ModelError
        If no such model was trained on the profiles.
    """
    found = _model(operational, name)
    metrics = found.metrics
    reports: dict[str, Any] = metrics["models"]
    chosen = str(metrics["chosen"])
    target = found.params["target"]
    outcome = "churn" if found.kind == "churn" else "purchase"
    table = [
        {
            "heading": heading,
            "values": [fmt.format(reports[m]["test"][key]) for m in reports],
        }
        for key, heading, fmt in _METRICS
    ]
    table.append(
        {
            "heading": "ROC-AUC on validation",
            "values": [f"{reports[m]['validation']['roc_auc']:.3f}" for m in reports],
        }
    )
    importance_key = "lightgbm_gain_share" if chosen == "lightgbm" else "logistic_abs_coef"
    features = [
        {"feature": str(r["feature"]).replace("_", " "), "weight": float(r.get(importance_key, 0))}
        for r in metrics["importance"][:_TOP_FEATURES]
    ]
    deciles = reports[chosen].get("deciles", [])
    charts = []
    if deciles:
        charts.append(_deciles_chart(deciles, outcome))
    charts.append(_reliability_chart(reports, [chosen, "rfm_baseline"]))
    charts.append(_lift_chart(reports))
    return Section(
        key="predictions",
        title="Predictions: churn risk",
        template="predictions.html.j2",
        context={
            "model": found.summary(),
            "chosen": _TITLES.get(chosen, chosen),
            "calibration": metrics.get("calibration"),
            "label": target["label"],
            "population": target["population"],
            "split": metrics["split"],
            "snapshots": metrics["snapshots"],
            "models": [_TITLES.get(m, m) for m in reports],
            "chosen_index": list(reports).index(chosen),
            "metrics": table,
            "base_rate": reports[chosen]["test"]["base_rate"],
            "brier_base_rate": reports[chosen]["test"]["brier_base_rate"],
            "importance_kind": (
                "share of LightGBM gain" if chosen == "lightgbm" else "|coefficient|"
            ),
            "features": features,
            "deciles": deciles,
            "outcome": outcome,
            "scores": _current_scores(analytical, found.name),
            "charts": charts,
        },
    )
