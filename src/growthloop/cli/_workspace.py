"""``growthloop init``: create a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growthloop.cli import app
from growthloop.cli._common import JsonOpt, console, emit, handle_errors
from growthloop.workspace import Workspace


@app.command("init")
@handle_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the workspace.")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Workspace name (default: folder name).")] = None,
    ops_url: Annotated[
        str | None,
        typer.Option(
            "--ops-url",
            help="Operational store URL, e.g. postgresql://user@host/db "
            "(default: a SQLite file in the workspace).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: growthloop.toml, the DuckDB and SQLite stores, a models folder.

    Running it again on a workspace keeps its settings and only applies new migrations.

    Example: [bold]growthloop init shop[/] then [bold]cd shop && growthloop ingest orders ...[/]
    """
    with Workspace.init(directory, name=name, ops_url=ops_url) as ws:
        result = {
            "workspace": str(ws.root),
            "config": str(ws.root / "growthloop.toml"),
            "analytical_store": str(ws.analytical.path),
            "operational_store": ws.operational.engine.url.render_as_string(hide_password=True),
            "operational_revision": ws.operational.revision(),
            "models_dir": str(ws.models_dir),
        }
    emit(
        result,
        as_json,
        lambda: console.print(
            f"[green]✓[/] workspace ready at [bold]{result['workspace']}[/]\n"
            f"  analytical store  {result['analytical_store']}\n"
            f"  operational store {result['operational_store']} "
            f"(revision {result['operational_revision']})\n"
            f"  models            {result['models_dir']}"
        ),
    )
