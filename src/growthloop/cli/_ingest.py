"""``growthloop ingest {customers,products,orders,events} FILE``."""

from __future__ import annotations

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
    progress_bar,
)
from growthloop.errors import IngestError
from growthloop.ingest import ENTITIES, LoadSummary, load_file, options_for, parse_mapping
from growthloop.ingest._options import read_mapping_file

_EXAMPLES = """
Examples:

  growthloop ingest orders Online_Retail.csv.gz --preset online-retail

  growthloop ingest orders CDNOW_master.txt --preset cdnow

  growthloop ingest customers crm.csv --map id=customer_id,mail=email --default-country GB

  growthloop ingest events tracks.jsonl --json
"""


@app.command("ingest", epilog=_EXAMPLES)
@handle_errors
def ingest(
    entity: Annotated[
        str, typer.Argument(help="What the file holds: customers, products, orders or events.")
    ],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (.csv, .csv.gz, .tsv, .txt), JSON Lines (.jsonl) or Parquet file."
        ),
    ],
    preset: Annotated[
        str | None, typer.Option(help="Settings for a known dataset: online-retail, cdnow.")
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="Column mapping SOURCE=field,... e.g. InvoiceNo=order_id,StockCode=product_id.",
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--map-file", help="Mapping as JSON, TOML or SOURCE=field lines.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl or parquet (default: from the file name)."),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(help="CSV delimiter (default: detected); 'tab' or 'whitespace' allowed."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (default utf-8), e.g. latin-1.")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Timezone of timestamps without an offset (default: the workspace's, UTC).",
        ),
    ] = None,
    timestamp_format: Annotated[
        str | None, typer.Option(help="strptime format of timestamps, e.g. '%d/%m/%Y %H:%M'.")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency of amounts when the file has none (ISO 4217).")
    ] = None,
    default_country: Annotated[
        str | None,
        typer.Option(
            help="Country (ISO alpha-2) for rows without one; used to read national phone numbers."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a file of customers, products, orders or events into the workspace.

    Bad rows go to the rejects table with their line and reason; the rest loads. A file that
    cannot be read at all loads nothing. Loading the same file again changes nothing.
    """
    if entity not in ENTITIES:
        raise typer.BadParameter(
            f"{entity!r} is not one of {', '.join(ENTITIES)}", param_hint="ENTITY"
        )
    columns: dict[str, str] = {}
    if mapping_file is not None:
        columns.update(read_mapping_file(mapping_file))
    if mapping:
        columns.update(parse_mapping(mapping))
    with open_workspace(workspace) as ws:
        cfg = ws.config.ingest
        options = options_for(
            entity,
            preset=preset,
            mapping=columns or None,
            format=fmt,
            delimiter=delimiter,
            encoding=encoding,
            source_timezone=timezone,
            timestamp_format=timestamp_format,
            currency=currency,
            default_country=default_country,
        )
        if preset is None:
            options = options_for(
                entity,
                base=options,
                source_timezone=timezone or cfg.source_timezone,
                currency=currency or cfg.currency,
                default_country=default_country or cfg.default_country,
            )
        if currency is not None and len(currency) != 3:
            raise IngestError(f"currency {currency!r} is not a 3-letter ISO 4217 code")
        with progress_bar(f"loading {file.name}", 4, enabled=not as_json) as update:
            summary = load_file(ws.analytical, entity, file, options, progress=update)
    emit(summary.to_dict(), as_json, lambda: render_summary(summary))


def render_summary(summary: LoadSummary) -> None:
    """Print a load summary for people."""
    if summary.skipped:
        console.print(f"[yellow]•[/] {summary.skipped_reason}")
        return
    table = Table(title=f"{summary.entity} from {Path(summary.source).name}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("loaded", f"{summary.rows_loaded:,}")
    for key, value in summary.counts.items():
        if key not in ("rows_read", "rejected", "duplicates", "already_loaded", "loaded"):
            table.add_row(f"  {key.replace('_', ' ')}", f"{value:,}")
    table.add_row("duplicates removed", f"{summary.duplicates:,}")
    table.add_row("already in the store", f"{summary.already_loaded:,}")
    table.add_row("rejected", f"{summary.rows_rejected:,}")
    for reason, count in summary.rejected_by_reason.items():
        table.add_row(f"  {reason.replace('_', ' ')}", f"{count:,}")
    if summary.values_cleared_by_reason:
        table.add_row("values cleared", f"{sum(summary.values_cleared_by_reason.values()):,}")
        for reason, count in summary.values_cleared_by_reason.items():
            table.add_row(f"  {reason.replace('_', ' ')}", f"{count:,}")
    table.add_row("identity links added", f"{summary.identity_links:,}")
    table.add_row("customers merged", f"{summary.merges:,}")
    table.add_row("elapsed", f"{summary.elapsed_seconds:.1f} s")
    console.print(table)
    if summary.rows_rejected:
        console.print(
            f"Rejected rows are in the [bold]rejects[/] table (load id {summary.load_id}); "
            f"list them with [bold]growthloop rejects --load {summary.load_id}[/]."
        )
