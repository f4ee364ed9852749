"""The profiles section: RFM grid (counts and revenue), RFM segment sizes and what sets each
segment apart. Queries are Ibis expressions over the ``profiles`` table."""

from __future__ import annotations

from typing import Any

import altair as alt
import ibis

from growthloop.report._charts import bar_chart, to_svg
from growthloop.report._section import Section
from growthloop.store import AnalyticalStore

__all__ = ["profiles_section"]


def _rfm_grid(cells: Any) -> str:
    base = alt.Chart(cells, title="RFM grid: customers (colour) and revenue (label) per cell")
    heat = base.mark_rect().encode(
        x=alt.X("f_score:O", title="frequency score (5 = most orders)"),
        y=alt.Y("r_score:O", title="recency score (5 = most recent)", sort="descending"),
        color=alt.Color("customers:Q", title="customers", scale=alt.Scale(scheme="blues")),
        tooltip=["r_score", "f_score", "customers", alt.Tooltip("revenue:Q", format=",.0f")],
    )
    text = base.mark_text(fontSize=10).encode(
        x="f_score:O", y=alt.Y("r_score:O", sort="descending"),
        text=alt.Text("revenue:Q", format=",.0f"),
        color=alt.condition(alt.datum.customers > cells["customers"].max() / 2,
                            alt.value("white"), alt.value("black")),
    )
    return to_svg((heat + text).properties(width=360, height=300))


def profiles_section(store: AnalyticalStore) -> Section:
    """RFM grid, segment sizes and segment figures from the latest profile build."""
    profiles = store.ibis.table("profiles")
    buyers = profiles.filter(profiles.rfm_segment.notnull())
    total_revenue = float(buyers.monetary.sum().execute() or 0) or 1.0
    segments = (
        buyers.group_by("rfm_segment")
        .aggregate(
            customers=buyers.count(),
            revenue=buyers.monetary.sum().cast("float64"),
            recency=buyers.recency_days.mean(),
            frequency=buyers.frequency.mean(),
            aov=buyers.average_order_value.mean(),
            open_rate=buyers.email_open_rate.mean(),
        )
        .order_by(ibis.desc("revenue"))
        .execute()
    )
    segments["revenue_share"] = segments["revenue"] / total_revenue
    cells = (
        buyers.group_by(["r_score", "f_score"])
        .aggregate(customers=buyers.count(), revenue=buyers.monetary.sum().cast("float64"))
        .execute()
    )
    charts = []
    if len(cells):
        charts.append(_rfm_grid(cells))
        charts.append(bar_chart(segments, "rfm_segment", "customers",
                                title="Customers per RFM segment", value_title="customers"))
    as_of = profiles.as_of.max().execute()
    return Section(
        key="profiles",
        title="Customer profiles and RFM segments",
        template="profiles.html.j2",
        context={
            "as_of": as_of,
            "customers": int(profiles.count().execute()),
            "buyers": int(buyers.count().execute()),
            "columns": len(profiles.columns),
            "segments": segments.to_dict("records"),
            "charts": charts,
        },
    )
