"""Conventions shared by every command: ``--workspace``, ``--json``, exit codes, errors.

Exit codes: 0 success, 1 a user error (one line on stderr, or a JSON ``error`` object with
``--json``), 2 a usage error (Typer/Click). With ``--json`` stdout holds exactly one JSON object.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from growthloop.errors import GrowthloopError
from growthloop.workspace import Workspace

__all__ = [
    "JsonOpt",
    "WorkspaceOpt",
    "console",
    "emit",
    "err_console",
    "handle_errors",
    "open_workspace",
    "progress_bar",
]

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: GROWTHLOOP_WORKSPACE, else the current folder or the "
        "nearest parent holding growthloop.toml).",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with the results and nothing else.")
]

P = ParamSpec("P")
R = TypeVar("R")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def emit(result: dict[str, Any], as_json: bool, render: Callable[[], None] | None = None) -> None:
    """Print ``result`` as one JSON object (``--json``) or call ``render`` for people."""
    if as_json:
        sys.stdout.write(json.dumps(result, default=_default, ensure_ascii=False) + "\n")
    elif render is not None:
        render()


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`GrowthloopError` into a one-line message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except GrowthloopError as exc:
            if kwargs.get("as_json"):
                payload = {"error": {"type": type(exc).__name__, "message": str(exc)}}
                sys.stdout.write(json.dumps(payload) + "\n")
            else:
                err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def open_workspace(path: Path | None) -> Workspace:
    return Workspace.open(path)


@contextmanager
def progress_bar(
    description: str, total: int | None, enabled: bool
) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr; yields ``update(done, total)``. Silent when disabled."""
    if not enabled:
        yield lambda _done, _total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, new_total: int) -> None:
            progress.update(task, completed=done, total=new_total)

        yield update
