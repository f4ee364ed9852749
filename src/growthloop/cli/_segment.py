"""``growthloop segment create|list|show|members|export|update``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
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
from growthloop.segment import (
    create_segment,
    export_members,
    get_segment,
    list_segments,
    read_segment_file,
    segment_members,
    update_segments,
)

segment_app = typer.Typer(help="Rule segments (客户细分).", no_args_is_help=True)
app.add_typer(segment_app, name="segment")

AtOpt = Annotated[
    datetime | None,
    typer.Option(
        "--at",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        help="Evaluation time (UTC); default now.",
    ),
]


@segment_app.command("create", epilog="Example: growthloop segment create vip-uk.yaml")
@handle_errors
def create(
    file: Annotated[Path, typer.Argument(help="Segment document (YAML or JSON).")],
    at: AtOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate, save (a new version if it changed) and evaluate a segment."""
    definition = read_segment_file(file)
    with open_workspace(workspace) as ws:
        version, changed, change = create_segment(
            analytical=ws.analytical, operational=ws.operational, definition=definition, at=at
        )
    result = {
        "segment_id": definition.id,
        "version": version,
        "changed": changed,
        "members": change.members,
        "entered": change.entered,
        "exited": change.exited,
    }
    emit(
        result,
        as_json,
        lambda: console.print(
            f"segment [bold]{definition.id}[/] version {version}"
            f"{'' if changed else ' (unchanged)'}: {change.members:,} members"
        ),
    )


@segment_app.command("list", epilog="Example: growthloop segment list --json")
@handle_errors
def list_(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List segments with their version and current size."""
    with open_workspace(workspace) as ws:
        sizes = {
            r["segment_id"]: r
            for r in ws.analytical.rows(
                "SELECT segment_id, members, evaluated_at FROM segment_state"
            )
        }
        rows = [
            {
                "segment_id": d.id,
                "name": d.name,
                "version": v,
                "saved_at": saved,
                "members": sizes.get(d.id, {}).get("members"),
                "evaluated_at": sizes.get(d.id, {}).get("evaluated_at"),
            }
            for d, v, saved in list_segments(ws.operational)
        ]

    def render() -> None:
        table = Table(title="segments")
        for col in ("id", "name", "version", "members", "evaluated"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                str(r["segment_id"]),
                str(r["name"]),
                str(r["version"]),
                f"{r['members']:,}" if r["members"] is not None else "-",
                str(r["evaluated_at"] or "-"),
            )
        console.print(table)

    emit({"segments": rows, "count": len(rows)}, as_json, render)


@segment_app.command("show", epilog="Example: growthloop segment show vip-uk")
@handle_errors
def show(segment_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Show a segment's document and size."""
    with open_workspace(workspace) as ws:
        definition, version = get_segment(ws.operational, segment_id)
        state = ws.analytical.rows("SELECT * FROM segment_state WHERE segment_id = ?", [segment_id])
    result = {
        "version": version,
        "definition": definition.model_dump(mode="json"),
        "state": state[0] if state else None,
    }
    emit(result, as_json, lambda: console.print_json(data=result, default=str))


@segment_app.command("members", epilog="Example: growthloop segment members vip-uk --limit 20")
@handle_errors
def members(
    segment_id: str,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a segment's current members."""
    with open_workspace(workspace) as ws:
        total, rows = segment_members(ws.analytical, segment_id, limit=limit, offset=offset)

    def render() -> None:
        table = Table(title=f"{segment_id}: {total:,} members")
        for col in ("customer", "entered", "email", "country", "RFM segment"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["canonical_id"],
                str(r["entered_at"]),
                str(r["email"] or ""),
                str(r["country"] or ""),
                str(r["rfm_segment"] or ""),
            )
        console.print(table)

    emit({"segment_id": segment_id, "total": total, "members": rows}, as_json, render)


@segment_app.command(
    "export", epilog="Example: growthloop segment export vip-uk --format csv --output vip.csv"
)
@handle_errors
def export(
    segment_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the current members with their profiles to CSV or Parquet."""
    with open_workspace(workspace) as ws:
        count = export_members(ws.analytical, segment_id, output, fmt)
    emit(
        {"segment_id": segment_id, "rows": count, "path": str(output)},
        as_json,
        lambda: console.print(f"wrote {count:,} members to {output}"),
    )


@segment_app.command("update", epilog="Example: growthloop segment update --at 2024-12-15")
@handle_errors
def update(
    at: AtOpt = None,
    full: Annotated[bool, typer.Option(help="Re-evaluate everyone.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bring every segment up to date: only customers with new or expiring events are
    re-evaluated, unless --full."""
    with open_workspace(workspace) as ws:
        changes = update_segments(
            analytical=ws.analytical, operational=ws.operational, at=at, full=full
        )
    rows = [c.__dict__ for c in changes]

    def render() -> None:
        table = Table(title="segment updates")
        for col in ("segment", "mode", "evaluated", "entered", "exited", "members", "seconds"):
            table.add_column(col)
        for c in changes:
            table.add_row(
                c.segment_id,
                c.mode,
                f"{c.customers_evaluated:,}",
                f"{c.entered:,}",
                f"{c.exited:,}",
                f"{c.members:,}",
                f"{c.elapsed_seconds:.2f}",
            )
        console.print(table)

    emit({"updates": rows}, as_json, render)
