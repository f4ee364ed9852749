"""``growthloop events flush``: move API events into the analytical store."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer

from growthloop.cli import app
from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    err_console,
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
    totals = {"events": 0, "loaded": 0, "rejected": 0, "rounds": 0, "loads": 0}
    # Details of one round; a worker keeps totals per segment only (it runs for days).
    loads: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    per_segment: dict[str, dict[str, Any]] = {}
    updater: SegmentUpdater | None = None
    with _stop_signals(enabled=follow is not None) as stop:
        while True:
            # The workspace is opened for each round only, so that other commands (and the
            # API's reads) can use it between rounds.
            with open_workspace(workspace) as ws:
                if stop.is_set():  # stopped while waiting: write the states back, no more
                    if updater is not None:
                        updater.attach(ws.analytical)
                        updater.close()
                    break
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
                last = (follow is None or stop.is_set()
                        or (rounds is not None and totals["rounds"] >= rounds))
                if last and updater is not None:
                    updater.close()  # write the states back
            totals["events"] += result.events
            totals["loaded"] += result.loaded
            totals["rejected"] += result.rejected
            totals["loads"] += len(result.loads)
            _tally(per_segment, changes)
            if follow is None:
                loads = [s.to_dict() for s in result.loads]
                updates = [c.__dict__ for c in changes]
            moved = any(c.entered or c.exited for c in changes)
            if follow is not None and not as_json and (result.events or moved):
                _report_round(result, changes)
            if last or follow is None:
                break
            stop.wait(follow)
    summary: dict[str, Any] = {**totals, "segments": per_segment}
    if follow is None:
        summary.update(loads=loads, segment_updates=updates)
    emit(
        summary,
        as_json,
        lambda: console.print(
            f"moved {totals['events']:,} events: {totals['loaded']:,} stored, "
            f"{totals['rejected']:,} rejected (see `growthloop rejects`)"
            + (f"; {sum(t['updates'] for t in per_segment.values()):,} segment updates"
               if segments else "")
        ),
    )


def _tally(per_segment: dict[str, dict[str, Any]], changes: list[MembershipChange]) -> None:
    """Add one round's segment updates to the totals per segment."""
    for c in changes:
        t = per_segment.setdefault(c.segment_id, {
            "updates": 0, "full": 0, "incremental": 0, "entered": 0, "exited": 0,
            "members": 0, "slowest_seconds": 0.0})
        t["updates"] += 1
        t[c.mode] += 1
        t["entered"] += c.entered
        t["exited"] += c.exited
        t["members"] = c.members
        t["slowest_seconds"] = max(t["slowest_seconds"], c.elapsed_seconds)


@contextmanager
def _stop_signals(*, enabled: bool) -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM (if ``enabled``), so the current round finishes and
    the segment states are written back; a second Ctrl-C stops at once."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err_console.print("stopping: finishing the round and writing the segment states back "
                          "(Ctrl-C again to stop at once)")

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM) if enabled else ():
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _report_round(result: FlushResult, changes: list[MembershipChange]) -> None:
    moved = sum(c.entered + c.exited for c in changes)
    slowest = max((c.elapsed_seconds for c in changes), default=0.0)
    console.print(
        f"{datetime.now():%H:%M:%S} moved {result.events:,} events; segments: "
        f"{moved:,} entries and exits (slowest update {slowest * 1000:.0f} ms)"
    )
