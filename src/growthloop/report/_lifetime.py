"""The customer lifetime value section: what the customer base is predicted to be worth, where
that value sits, and how well the method forecast a period it did not see.

Reads what ``growthloop score clv`` wrote to ``scores`` (each buyer's CLV and probability
alive), the RFM segment of each buyer's profile, and what ``growthloop train clv`` registered
(the holdout evaluation, both models' parameters with standard errors, the training window and
the data fingerprint): the distribution of CLV in log-spaced bands with its quantiles and total,
total and average CLV per RFM segment, predicted against actual repeat purchases in the holdout
by calibration frequency, and the model card.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from growthloop.errors import ModelError, NotFoundError
from growthloop.predict.lifetime import clv_columns
from growthloop.predict.registry import ModelVersion, get_model
from growthloop.profile import SCORES_TABLE
from growthloop.report._charts import bar_chart, to_svg
from growthloop.report._section import Section
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["clv_section"]

_QUANTILES = (
    ("10th percentile", 0.10),
    ("25th percentile", 0.25),
    ("median", 0.50),
    ("75th percentile", 0.75),
    ("90th percentile", 0.90),
    ("99th percentile", 0.99),
)
_SYMBOLS = {"alpha": "α", "beta": "β", "gamma": "γ"}
# The papers' order: BG/NBD r, α, a, b; Pareto/NBD r, α, s, β; Gamma-Gamma p, q, γ.
_PAPER_ORDER = ("r", "alpha", "a", "b", "s", "beta", "p", "q", "gamma")
_MODEL_TITLES = {
    "BetaGeoModel": "BG/NBD",
    "ParetoNBDModel": "Pareto/NBD",
    "GammaGammaModel": "Gamma-Gamma",
}


def _scores(analytical: AnalyticalStore, name: str) -> pd.DataFrame:
    """One row per scored customer: clv, p_alive, the scoring model's version, as_of, the
    scoring assumptions and the customer's RFM segment (when profiles exist)."""
    if not analytical.has_table(SCORES_TABLE):
        return pd.DataFrame()
    columns = clv_columns(name)
    wide = analytical.con.execute(
        f"""SELECT canonical_id,
            max(score) FILTER (WHERE profile_column = ?) AS clv,
            max(score) FILTER (WHERE profile_column = ?) AS p_alive,
            max(version) AS version, max(as_of) AS as_of,
            max(reasons[2]) FILTER (WHERE len(reasons) > 1) AS assumptions
        FROM {SCORES_TABLE} WHERE model = ? AND kind = 'clv' GROUP BY canonical_id""",
        [columns["clv"], columns["p_alive"], name],
    ).df()
    if wide.empty or not analytical.has_table("profiles"):
        return wide.assign(rfm_segment="no profile")
    segments = analytical.con.execute(
        "SELECT canonical_id, rfm_segment FROM profiles WHERE rfm_segment IS NOT NULL"
    ).df()
    merged = wide.merge(segments, on="canonical_id", how="left")
    merged["rfm_segment"] = merged["rfm_segment"].fillna("no profile")
    return merged


def _bands(top: float) -> list[float]:
    """Band edges 0, 1, 2, 5, 10, 20, 50, ... up to the first edge above ``top``."""
    edges = [0.0]
    power = 1.0
    while edges[-1] <= top:
        edges.extend(power * m for m in (1.0, 2.0, 5.0))
        power *= 10
    while len(edges) > 2 and edges[-2] > top:
        edges.pop()
    return edges


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _distribution_chart(clv: pd.Series, horizon: str) -> str:
    edges = _bands(float(clv.max()))
    labels = [f"{_money(lo)}–{_money(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    counts = pd.cut(clv, edges, right=False, labels=labels).value_counts().reindex(labels)
    data = pd.DataFrame({"band": labels, "customers": counts.to_numpy(dtype=int)})
    chart = (
        alt.Chart(data, title=f"Predicted CLV per customer ({horizon}), log-spaced bands")
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("band:O", sort=labels, title="CLV", axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("customers:Q", title="customers"),
            tooltip=["band", alt.Tooltip("customers:Q", format=",")],
        )
        .properties(width=520, height=220)
    )
    return to_svg(chart)


def _holdout_chart(by_frequency: list[dict[str, Any]]) -> str:
    data = pd.DataFrame(by_frequency)
    base = alt.Chart(
        data,
        title="Holdout repeat purchases per customer by calibration repeat purchases "
        "(bars: actual, dots: predicted)",
    ).encode(
        x=alt.X(
            "frequency:O",
            sort=list(data["frequency"]),
            title="repeat purchases in the calibration period",
            axis=alt.Axis(labelAngle=0),
        )
    )
    bars = base.mark_bar(color="#9fb3c8").encode(
        y=alt.Y("actual_mean:Q", title="repeat purchases in the holdout, mean"),
        tooltip=[
            "frequency",
            alt.Tooltip("customers:Q", format=","),
            alt.Tooltip("actual_mean:Q", format=".2f"),
            alt.Tooltip("predicted_mean:Q", format=".2f"),
        ],
    )
    points = base.mark_line(color="#12355b", point=True).encode(y="predicted_mean:Q")
    return to_svg((bars + points).properties(width=420, height=220))


def _model(operational: OperationalStore, name: str, version: int | None) -> ModelVersion:
    try:
        found = get_model(operational, name, version)
    except NotFoundError as exc:
        raise ModelError(
            f"no CLV model {name!r} is registered; run `growthloop train clv` first"
        ) from exc
    if found.kind != "clv" or found.params.get("source") != "workspace":
        raise ModelError(
            f"model {name!r} v{found.version} is not a CLV model trained on the workspace; "
            "run `growthloop train clv`"
        )
    return found


def _order(symbol: str) -> int:
    return _PAPER_ORDER.index(symbol) if symbol in _PAPER_ORDER else len(_PAPER_ORDER)


def _parameters(found: ModelVersion) -> list[dict[str, Any]]:
    rows = []
    for part in ("transaction", "spend"):
        fitted = found.params[part]
        estimates: dict[str, float] = fitted["params"]
        for symbol in sorted(estimates, key=_order):
            estimate = estimates[symbol]
            error = fitted["std_errors"].get(symbol)
            rows.append(
                {
                    "model": _MODEL_TITLES.get(fitted["model"], fitted["model"]),
                    "symbol": _SYMBOLS.get(symbol, symbol),
                    "estimate": f"{estimate:.4g}",
                    "std_error": "–" if error is None else f"{error:.3g}",
                }
            )
    return rows


def _covers_year_end(start: date, end: date) -> bool:
    """Whether the period after ``start`` to ``end`` holds a day of November or December."""
    months = pd.period_range(start + timedelta(days=1), end, freq="M")
    return bool(((months.month == 11) | (months.month == 12)).any())


def clv_section(
    analytical: AnalyticalStore,
    operational: OperationalStore,
    *,
    name: str = "clv",
    notes: Sequence[str] = (),
) -> Section:
    """The CLV distribution, CLV per RFM segment, holdout check and model card of ``name``.

    ``notes`` are shown under the model card (for example the training's remarks).

    Raises
    ------
    ModelError
        If no CLV model of that name was trained on the workspace, or nobody is scored with it.
    """
    scores = _scores(analytical, name)
    if scores.empty:
        raise ModelError(f"nobody is scored with {name!r}; run `growthloop score clv` first")
    found = _model(operational, name, int(scores["version"].max()))
    clv = scores["clv"].astype(float)
    assumptions = scores["assumptions"].dropna()
    horizon = str(assumptions.iloc[0]) if len(assumptions) else "the scoring horizon"
    total = float(clv.sum())
    quantiles = [{"heading": h, "value": float(np.quantile(clv, q))} for h, q in _QUANTILES]
    quantiles.append({"heading": "highest", "value": float(clv.max())})
    by_segment = (
        scores.groupby("rfm_segment")
        .agg(
            customers=("clv", "size"),
            total_clv=("clv", "sum"),
            mean_clv=("clv", "mean"),
            mean_p_alive=("p_alive", "mean"),
        )
        .sort_values("total_clv", ascending=False)
        .reset_index()
    )
    by_segment["share"] = by_segment["total_clv"] / total if total else 0.0
    charts = [
        _distribution_chart(clv, horizon.split(",")[0]),
        bar_chart(
            by_segment,
            "rfm_segment",
            "total_clv",
            title="Total predicted CLV per RFM segment",
            value_title="total CLV",
        ),
    ]
    holdout = found.metrics.get("holdout")
    seasonal = False
    if holdout:
        charts.append(_holdout_chart(holdout["by_frequency"]))
        seasonal = _covers_year_end(
            date.fromisoformat(holdout["calibration_end"]),
            date.fromisoformat(holdout["holdout_end"]),
        )
    top_decile = float(clv.nlargest(max(1, len(clv) // 10)).sum())
    return Section(
        key="clv",
        title="Predictions: customer lifetime value",
        template="clv.html.j2",
        context={
            "model": found.summary(),
            "description": found.description,
            "training_from": found.training_from,
            "training_to": found.training_to,
            "fingerprint": found.data_fingerprint,
            "params": found.params,
            "transaction_title": _MODEL_TITLES.get(
                found.params["transaction"]["model"], found.params["transaction"]["model"]
            ),
            "parameters": _parameters(found),
            "metrics": found.metrics,
            "holdout": holdout,
            "seasonal_holdout": seasonal,
            "customers": len(scores),
            "total": total,
            "mean": float(clv.mean()),
            "top_decile_share": top_decile / total if total else 0.0,
            "mean_p_alive": float(scores["p_alive"].mean()),
            "as_of": scores["as_of"].max(),
            "horizon": horizon,
            "quantiles": quantiles,
            "segments": by_segment.to_dict("records"),
            "notes": list(notes),
            "charts": charts,
        },
    )
