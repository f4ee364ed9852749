"""The segments section: every rule segment with its size and what it is."""

from __future__ import annotations

from typing import Any

import pandas as pd

from growthloop.report._charts import bar_chart
from growthloop.report._section import Section
from growthloop.segment import list_segments
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["segments_section"]


def segments_section(analytical: AnalyticalStore, operational: OperationalStore) -> Section:
    """Rule segments: size, share of customers, revenue share, entries and exits."""
    state = {
        r["segment_id"]: r
        for r in analytical.rows("SELECT segment_id, members, evaluated_at FROM segment_state")
    }
    exits = {
        r["segment_id"]: int(r["exits"])
        for r in analytical.rows(
            """SELECT segment_id, count(*) AS exits FROM segment_membership
        WHERE exited_at IS NOT NULL GROUP BY 1"""
        )
    }
    customers = int(analytical.scalar("SELECT count(*) FROM profiles") or 0) or 1
    all_revenue = float(analytical.scalar("SELECT sum(monetary) FROM profiles") or 0) or 1.0
    rows: list[dict[str, Any]] = []
    for definition, version, _ in list_segments(operational):
        members = int(state.get(definition.id, {}).get("members") or 0)
        seg_revenue = float(
            analytical.scalar(
                """SELECT coalesce(sum(p.monetary), 0) FROM segment_membership m
            JOIN profiles p USING (canonical_id)
            WHERE m.segment_id = ? AND m.exited_at IS NULL""",
                [definition.id],
            )
            or 0
        )
        rows.append(
            {
                "id": definition.id,
                "name": definition.name,
                "description": definition.description,
                "version": version,
                "members": members,
                "share": members / customers,
                "revenue_share": seg_revenue / all_revenue,
                "exits": exits.get(definition.id, 0),
                "evaluated_at": state.get(definition.id, {}).get("evaluated_at"),
            }
        )
    charts = []
    if rows:
        charts.append(
            bar_chart(
                pd.DataFrame(rows),
                "name",
                "members",
                title="Rule segment sizes",
                value_title="customers",
            )
        )
    return Section(
        key="segments",
        title="Rule segments",
        template="segments.html.j2",
        context={"segments": rows, "charts": charts},
    )
