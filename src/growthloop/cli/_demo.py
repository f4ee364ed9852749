"""``growthloop demo`` (the main job) and ``growthloop generate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from growthloop.cli import app
from growthloop.cli._common import JsonOpt, console, emit, err_console, handle_errors, progress_bar
from growthloop.demo import run_demo
from growthloop.generate import WorldSpec, generate_world


@app.command("demo", epilog="Example: growthloop demo --customers 5000 --dir /tmp/demo")
@handle_errors
def demo(
    directory: Annotated[
        Path,
        typer.Option(
            "--dir", help="Folder for the demo workspace (re-created if it holds a previous demo)."
        ),
    ] = Path("growthloop-demo"),
    customers: Annotated[
        int, typer.Option(min=10, max=2_000_000, help="Customers in the generated world.")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same run.")] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Run the whole loop on a generated shop and write an HTML report.

    Creates a workspace, generates a world (customers, catalogue, orders, events, ground
    truth), ingests it and writes report.html. Opens nothing; prints where the report is.
    """

    def stage(text: str) -> None:
        if not as_json:
            err_console.print(f"[dim]•[/] {text}")

    with progress_bar("generating customers", customers, enabled=not as_json) as update:
        result = run_demo(
            directory, customers=customers, seed=seed, on_stage=stage, progress=update
        )

    def render() -> None:
        table = Table(title="loaded", show_header=True)
        for col in ("entity", "rows read", "loaded", "rejected", "duplicates"):
            table.add_column(col, justify="right" if col != "entity" else "left")
        for s in result.loads:
            table.add_row(
                s.entity,
                f"{s.rows_read:,}",
                f"{s.rows_loaded:,}",
                f"{s.rows_rejected:,}",
                f"{s.duplicates:,}",
            )
        console.print(table)
        console.print(
            f"[green]✓[/] report: [bold]{result.report}[/] ({result.stage_seconds['total']:.0f} s)"
        )

    emit(result.to_dict(), as_json, render)


@app.command("generate", epilog="Example: growthloop generate world/ --customers 100000 --seed 7")
@handle_errors
def generate(
    directory: Annotated[Path, typer.Argument(help="Output folder for the Parquet files.")],
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 2000,
    products: Annotated[int, typer.Option(min=10, help="Products in the catalogue.")] = 300,
    days: Annotated[int, typer.Option(min=30, help="Days of activity.")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    dirty: Annotated[
        float,
        typer.Option(
            min=0.0, max=0.5, help="Share of rows made deliberately messy (for testing cleaning)."
        ),
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic e-commerce world with its ground truth, as Parquet files.

    Customers with latent segments, a catalogue, sessions with views, carts and purchases,
    returns, email engagement; the truth (segment, churn time, affinities) in truth/.
    Streams chunk by chunk, so millions of customers fit in bounded memory.
    """
    spec = WorldSpec(
        customers=customers, products=products, days=days, seed=seed, dirty_fraction=dirty
    )
    try:
        with progress_bar("generating customers", customers, enabled=not as_json) as update:
            summary = generate_world(spec, directory, progress=update)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    result = {
        "directory": str(summary.directory),
        "counts": summary.counts,
        "files": {k: str(v) for k, v in summary.files.items()},
        "dirt": summary.dirt,
        "elapsed_seconds": summary.elapsed_seconds,
    }

    def render() -> None:
        table = Table(title=f"world in {summary.directory}")
        table.add_column("file")
        table.add_column("rows", justify="right")
        for name, count in summary.counts.items():
            table.add_row(name, f"{count:,}")
        console.print(table)
        console.print(f"{summary.elapsed_seconds:.1f} s")

    emit(result, as_json, render)
