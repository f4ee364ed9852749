"""``growthloop profile build``: customer profiles with RFM segments."""

from __future__ import annotations

from datetime import datetime
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
from growthloop.profile import build_profiles

profile_app = typer.Typer(help="Customer profiles (用户画像).", no_args_is_help=True)
app.add_typer(profile_app, name="profile")


@profile_app.command(
    "build", epilog="Example: growthloop profile build --as-of 2011-09-01 --json"
)
@handle_errors
def build(
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
            help="Use only data before this instant (UTC); default: the day after the "
            "latest order or event.",
        ),
    ] = None,
    rfm_bins: Annotated[int, typer.Option(min=2, max=10, help="RFM score groups.")] = 5,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build one profile row per customer: demographics, contact and consent, purchase
    behaviour, engagement, interest tags, RFM scores and segment."""
    with open_workspace(workspace) as ws:
        result = build_profiles(ws.analytical, as_of=as_of, rfm_bins=rfm_bins)
        segments = ws.analytical.rows(
            "SELECT coalesce(rfm_segment, 'no orders') AS segment, count(*) AS customers, "
            "round(sum(monetary), 2) AS revenue FROM profiles GROUP BY 1 ORDER BY 2 DESC"
        )
    payload = {
        "as_of": result.as_of,
        "customers": result.customers,
        "columns": result.columns,
        "segments": segments,
        "elapsed_seconds": result.elapsed_seconds,
    }

    def render() -> None:
        table = Table(title=f"{result.customers:,} profiles as of {result.as_of:%Y-%m-%d %H:%M}")
        table.add_column("RFM segment")
        table.add_column("customers", justify="right")
        table.add_column("revenue", justify="right")
        for row in segments:
            table.add_row(row["segment"], f"{row['customers']:,}", f"{row['revenue'] or 0:,.2f}")
        console.print(table)
        console.print(f"{len(result.columns)} columns in table profiles "
                      f"({result.elapsed_seconds:.1f} s)")

    emit(payload, as_json, render)
