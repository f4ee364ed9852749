"""``growthloop events flush``: move API events into the analytical store."""

from __future__ import annotations

import time
from datetime import datetime
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
from growthloop.ingest._flush import FlushResult, flush_inbox
from growthloop.segment import MembershipChange, SegmentUpdater, update_segments

events_app = typer.Typer(help="Events collected by the API.", no_args_is_help=True)
app.add_typer(events_app, name="events")


_EXAMPLES = """Examples:
  growthloop events flush --json
  growthloop events flush --segments --follow 10
"""


@events_app.command("flush", epilog=_EXAMPLES)
@handle_errors
def flush(
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Events per load.")
    ] = 50_000,
    segments: Annotated[
        bool, typer.Option(help="Then bring every segment up to date (incrementally).")
    ] = False,
    follow: Annotated[
        float | None,
        typer.Option(
            min=0.05,
            help="Keep going: flush every this many seconds until Ctrl-C. With --segments, "
            "each segment's state is kept in memory between rounds (about half the time of "
            "an update from the store) and written back when it stops.",
        ),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="With --follow: stop after this many rounds.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the events the API accepted into the analytical store (cleaned like event files)."""
    if rounds is not None and follow is None:
        raise typer.BadParameter("--rounds counts the rounds of --follow; add --follow SECONDS")
    totals = {"events": 0, "loaded": 0, "rejected": 0, "rounds": 0}
    loads: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    updater: SegmentUpdater | None = None
    try:
        while True:
            # The workspace is opened for each round only, so that other commands (and the
            # API's reads) can use it between rounds.
            with open_workspace(workspace) as ws:
                result = flush_inbox(
                    operational=ws.operational, analytical=ws.analytical, batch_size=batch_size
                )
                if segments and follow is not None:
                    if updater is None:
                        updater = SegmentUpdater(ws.analytical)
                    updater.attach(ws.analytical)
                changes = update_segments(
                    analytical=ws.analytical, operational=ws.operational, updater=updater
                ) if segments else []
                totals["rounds"] += 1
                last = follow is None or (rounds is not None and totals["rounds"] >= rounds)
                if last and updater is not None:
                    updater.close()  # write the states back
            totals["events"] += result.events
            totals["loaded"] += result.loaded
            totals["rejected"] += result.rejected
            loads += [s.to_dict() for s in result.loads]
            updates += [c.__dict__ for c in changes]
            if follow is not None and not as_json and (result.events or changes):
                _report_round(result, changes)
            if last or follow is None:
                break
            time.sleep(follow)
    except KeyboardInterrupt:
        if updater is not None:
            with open_workspace(workspace) as ws:
                updater.attach(ws.analytical)
                updater.close()
    summary = {**totals, "loads": loads, "segment_updates": updates}
    emit(
        summary,
        as_json,
        lambda: console.print(
            f"moved {totals['events']:,} events: {totals['loaded']:,} stored, "
            f"{totals['rejected']:,} rejected (see `growthloop rejects`)"
            + (f"; {len(updates):,} segment updates" if segments else "")
        ),
    )


def _report_round(result: FlushResult, changes: list[MembershipChange]) -> None:
    moved = sum(c.entered + c.exited for c in changes)
    slowest = max((c.elapsed_seconds for c in changes), default=0.0)
    console.print(
        f"{datetime.now():%H:%M:%S} moved {result.events:,} events; segments: "
        f"{moved:,} entries and exits (slowest update {slowest * 1000:.0f} ms)"
    )
