"""``growthloop events flush``: move API events into the analytical store."""

from __future__ import annotations

from typing import Annotated

import typer

from growthloop.cli import app
from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    handle_errors,
    open_workspace,
)
from growthloop.ingest._flush import flush_inbox

events_app = typer.Typer(help="Events collected by the API.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@events_app.command("flush", epilog="Example: growthloop events flush --json")
@handle_errors
def flush(
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Events per load.")
    ] = 50_000,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the events the API accepted into the analytical store (cleaned like event files)."""
    with open_workspace(workspace) as ws:
        result = flush_inbox(
            operational=ws.operational, analytical=ws.analytical, batch_size=batch_size
        )
    summary = {
        "events": result.events,
        "loaded": result.loaded,
        "rejected": result.rejected,
        "loads": [s.to_dict() for s in result.loads],
    }
    emit(
        summary,
        as_json,
        lambda: console.print(
            f"moved {result.events:,} events: {result.loaded:,} stored, {result.rejected:,} "
            "rejected (see `growthloop rejects`)"
        ),
    )
