"""The data-quality section: what was loaded, what was rejected and why, customers, orders and
revenue over time. Queries are Ibis expressions over the analytical store."""

from __future__ import annotations

from typing import Any

import ibis

from growthloop.report._charts import bar_chart, line_chart
from growthloop.report._section import Section
from growthloop.store import AnalyticalStore

__all__ = ["data_quality_section"]


def _figures(store: AnalyticalStore) -> dict[str, Any]:
    db = store.ibis
    lines = db.table("v_order_lines")
    sold = lines.filter(lines.line_kind.isin(["sale", "return"]))
    events = db.table("events")
    identities = db.table("identities")
    return {
        "customers": int(db.table("v_customers").count().execute()),
        "customer_records": int(db.table("customers").count().execute()),
        "identities": int(identities.count().execute()),
        "merges": int(db.table("identity_merges").count().execute()),
        "products": int(db.table("products").count().execute()),
        "orders": int(lines.filter(lines.line_kind == "sale").order_id.nunique().execute()),
        "order_lines": int(lines.count().execute()),
        "guest_lines": int(lines.filter(lines.is_guest).count().execute()),
        "revenue_by_currency": {
            str(r["currency"]): float(r["revenue"])
            for r in sold.group_by("currency")
            .aggregate(revenue=sold.amount.sum().cast("float64"))
            .order_by(ibis.desc("revenue"))
            .execute()
            .to_dict("records")
        },
        "events": int(events.count().execute()),
        "rejected": int(
            db.table("rejects").filter(lambda r: r.action == "row_rejected").count().execute()
        ),
        "cleared": int(
            db.table("rejects").filter(lambda r: r.action == "value_cleared").count().execute()
        ),
    }


def data_quality_section(store: AnalyticalStore) -> Section:
    """Loads, rejects by reason, customers, orders and weekly revenue."""
    db = store.ibis
    figures = _figures(store)
    loads = (
        db.table("loads")
        .select(
            "load_id",
            "entity",
            "source",
            "rows_read",
            "rows_loaded",
            "rows_rejected",
            "duplicates",
            "finished_at",
        )
        .order_by("finished_at")
        .execute()
    )
    loads["source"] = loads["source"].map(lambda s: str(s).rsplit("/", 1)[-1])
    rejects = db.table("rejects")
    by_reason = (
        rejects.group_by(["entity", "action", "reason"])
        .aggregate(rows=rejects.count())
        .order_by(rejects.count().desc())
        .execute()
    )
    charts: list[str] = []
    lines = db.table("v_order_lines")
    sold = lines.filter(lines.line_kind.isin(["sale", "return"]))
    if figures["order_lines"]:
        weekly = (
            sold.group_by(week=sold.ordered_at.truncate("W"), currency=sold.currency)
            .aggregate(revenue=sold.amount.sum().cast("float64"))
            .order_by("week")
            .execute()
        )
        charts.append(
            line_chart(
                weekly,
                "week",
                "revenue",
                title="Net revenue per week",
                x_title="week",
                y_title="net revenue",
                color="currency",
            )
        )
    if len(by_reason):
        labelled = by_reason.assign(
            reason=by_reason["entity"] + ": " + by_reason["reason"].str.replace("_", " ")
        )
        charts.append(
            bar_chart(
                labelled,
                "reason",
                "rows",
                title="Rejected rows and cleared values by reason",
                value_title="rows",
            )
        )
    events = db.table("events")
    if figures["events"]:
        label = events.event.fill_null(events.type)
        per_kind = (
            events.group_by(kind=label)
            .aggregate(events_=events.count())
            .order_by(events.count().desc())
            .limit(15)
            .execute()
        )
        charts.append(
            bar_chart(per_kind, "kind", "events_", title="Events by name", value_title="events")
        )
    return Section(
        key="data-quality",
        title="Data quality",
        template="data_quality.html.j2",
        context={
            "figures": figures,
            "loads": loads.to_dict("records"),
            "rejects": by_reason.to_dict("records"),
            "charts": charts,
        },
    )
