"""``growthloop customer show`` and ``growthloop rejects``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from growthloop.cli import app
from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    handle_errors,
    open_workspace,
)
from growthloop.customers import show_customer

customer_app = typer.Typer(help="Look up customers.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")


@customer_app.command("show", epilog="Example: growthloop customer show alice@example.com")
@handle_errors
def show(
    identity: Annotated[str, typer.Argument(help="Customer id, email, phone or anonymous id.")],
    recent: Annotated[int, typer.Option(min=0, max=1000, help="Recent orders/events shown.")] = 10,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a customer: merged identities and why they were merged, records, activity."""
    with open_workspace(workspace) as ws:
        view = show_customer(ws.analytical, identity, recent=recent)

    def render() -> None:
        console.print(f"[bold]customer {view['canonical_id']}[/]")
        ids = Table(title="identities (merged into this customer)")
        for col in ("kind", "value"):
            ids.add_column(col)
        for row in view["identities"]:
            ids.add_row(row["kind"], row["value"])
        console.print(ids)
        if view["links"]:
            links = Table(title="why: identity links")
            for col in ("from", "to", "source"):
                links.add_column(col)
            for row in view["links"]:
                links.add_row(
                    f"{row['left_kind']} {row['left_value']}",
                    f"{row['right_kind']} {row['right_value']}",
                    str(row["source"]),
                )
            console.print(links)
        for merge in view["merges"]:
            console.print(
                f"merged {merge['absorbed_id']} at {merge['merged_at']:%Y-%m-%d %H:%M}"
                f" ({merge['load_id']})"
            )
        for rec in view["records"]:
            console.print(
                f"record {rec['customer_id']}: {rec['name'] or ''} {rec['email'] or ''} "
                f"{rec['phone'] or ''} {rec['country'] or ''} {rec['timezone'] or ''}"
            )
        profile = view["profile"]
        if profile:
            shown = (
                "rfm_segment",
                "orders",
                "monetary",
                "recency_days",
                "average_order_value",
                "top_category",
                "interest_tags",
                "email_open_rate",
                "preferred_channel",
                "reachable_channels",
                "as_of",
            )
            card = Table(title="profile", show_header=False)
            card.add_column("")
            card.add_column("")
            for name in shown:
                card.add_row(name.replace("_", " "), str(profile.get(name)))
            console.print(card)
        if view["segments"]:
            console.print("segments: " + ", ".join(s["segment_id"] for s in view["segments"]))
        o = view["orders"]
        console.print(
            f"orders {o['orders'] or 0}, net revenue {o['net_revenue'] or 0}, "
            f"first {o['first_order_at']}, last {o['last_order_at']}"
        )
        if view["recent_events"]:
            events = Table(title="recent events")
            for col in ("timestamp", "type", "event"):
                events.add_column(col)
            for row in view["recent_events"]:
                events.add_row(str(row["timestamp"]), row["type"], str(row["event"] or ""))
            console.print(events)

    emit(view, as_json, render)


@app.command("rejects", epilog="Example: growthloop rejects --load load_20240101T... --limit 50")
@handle_errors
def rejects(
    load: Annotated[str | None, typer.Option("--load", help="Only this load id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="Rows shown.")] = 20,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List rejected rows and cleared values with their file, line, column, value and reason."""
    with open_workspace(workspace) as ws:
        where, params = ("WHERE load_id = ?", [load]) if load else ("", [])
        rows = ws.analytical.rows(
            f"SELECT load_id, entity, source, line, column_name, value, reason, message, action "
            f"FROM rejects {where} ORDER BY load_id, line LIMIT ?",
            [*params, limit],
        )
        total = ws.analytical.scalar(f"SELECT count(*) FROM rejects {where}", params)

    def render() -> None:
        table = Table(title=f"rejects ({len(rows)} of {total})")
        for col in ("line", "column", "value", "reason", "message"):
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(
                str(row["line"]),
                str(row["column_name"] or ""),
                str(row["value"] or "")[:40],
                row["reason"],
                row["message"],
            )
        console.print(table)

    emit({"total": total, "rows": rows}, as_json, render)
