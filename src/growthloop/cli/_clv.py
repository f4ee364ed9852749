"""``growthloop train clv`` and the workspace part of ``growthloop score clv``: customer
lifetime value from the workspace's purchases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    handle_errors,
    open_workspace,
)
from growthloop.cli._predict import _render_registered, train_app
from growthloop.predict.clv import BetaGeoModel
from growthloop.predict.lifetime import HOLDOUT_SHARE, ClvTraining, score_clv, train_clv

__all__ = ["score_workspace_clv"]


class TransactionModelName(StrEnum):
    """Which purchase-count model to fit."""

    bgnbd = "bgnbd"
    pareto = "pareto"


def _render_training(result: ClvTraining) -> None:
    console.print(
        f"purchases run from {result.first_day:%Y-%m-%d} to {result.last_day:%Y-%m-%d}: "
        f"{result.customers:,} customers, {result.repeat_buyers:,} repeat buyers "
        "(purchases = customer-days; returns ignored)",
        highlight=False,
    )
    holdout = result.holdout
    if holdout is not None:
        p, s = holdout.purchases, holdout.spend
        table = Table(
            title=f"holdout {holdout.calibration_end:%Y-%m-%d} → {holdout.holdout_end:%Y-%m-%d} "
            f"({holdout.customers:,} customers of the calibration period)",
            title_justify="left",
        )
        for column in ("figure", "actual", "predicted", "error"):
            table.add_column(column, justify="left" if column == "figure" else "right")
        table.add_row(
            "repeat purchases, total",
            f"{p['actual_total']:,.0f}",
            f"{p['predicted_total']:,.0f}",
            f"{p['total_error']:+.1%}",
        )
        table.add_row(
            "revenue, total",
            f"{s['revenue_actual']:,.0f}",
            f"{s['revenue_predicted']:,.0f}",
            f"{s['revenue_error']:+.1%}",
        )
        table.add_row(
            "order value, mean of buyers",
            f"{s['order_value_actual_mean']:,.2f}",
            f"{s['order_value_predicted_mean']:,.2f}",
            f"MAE {s['order_value_mae']:,.2f}",
        )
        correlation = p["correlation"]
        table.add_row(
            "per customer: MAE / correlation",
            "",
            f"{p['mae']:.3f}",
            "-" if correlation is None else f"r = {correlation:.3f}",
        )
        console.print(table)
        buckets = Table(title="by calibration repeat purchases (mean per customer)",
                        title_justify="left")
        for column in ("repeat purchases", "customers", "actual", "predicted"):
            buckets.add_column(column, justify="right")
        for row in holdout.by_frequency:
            buckets.add_row(
                row["frequency"],
                f"{row['customers']:,}",
                f"{row['actual_mean']:.2f}",
                f"{row['predicted_mean']:.2f}",
            )
        console.print(buckets)
    params = Table(title="refit on all purchases (registered)", title_justify="left")
    for column in ("model", "parameter", "estimate", "std. error"):
        params.add_column(column, justify="left" if column in ("model", "parameter") else "right")
    for fitted in (result.artifact.transaction, result.artifact.spend):
        for symbol, estimate in fitted.params_.items():
            error = fitted.std_errors_[symbol]
            params.add_row(type(fitted).__name__, symbol, f"{estimate:.4g}", f"{error:.3g}")
    console.print(params)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    label = "BG/NBD" if isinstance(result.artifact.transaction, BetaGeoModel) else "Pareto/NBD"
    _render_registered(result.model, f"{label} + Gamma-Gamma")


@train_app.command(
    "clv",
    epilog="Examples: growthloop train clv · growthloop train clv --calibration-end 2024-12-31 · "
    "growthloop train clv --model pareto --penalizer 0.001",
)
@handle_errors
def clv(
    calibration_end: Annotated[
        datetime | None,
        typer.Option(
            "--calibration-end",
            formats=["%Y-%m-%d"],
            help=f"Last day of the calibration period (default: hold out the last "
            f"{HOLDOUT_SHARE:.0%} of the data period).",
            show_default=False,
        ),
    ] = None,
    holdout_days: Annotated[
        int | None,
        typer.Option(
            "--holdout-days", min=0, help="Hold out this many days at the end instead.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        TransactionModelName,
        typer.Option("--model", help="Purchase-count model: BG/NBD or Pareto/NBD."),
    ] = TransactionModelName.bgnbd,
    penalizer: Annotated[
        float, typer.Option("--penalizer", min=0.0, help="L2 penalty on the parameters.")
    ] = 0.0,
    name: Annotated[str, typer.Option("--name", help="Registry name.")] = "clv",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit CLV models on the workspace's purchases, evaluate them on a holdout, register them.

    Purchases are the sale lines of a customer per day (returns ignored). The purchase-count
    model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model are fitted up to the
    calibration end and compared with the holdout after it (repeat purchases per customer,
    by frequency, spend); then both are refitted on all purchases and registered as kind
    `clv`. Score with `growthloop score clv`.
    """
    with open_workspace(workspace) as ws:
        result = train_clv(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            calibration_end=calibration_end,
            holdout_days=holdout_days,
            model=model.value,
            penalizer=penalizer,
            name=name,
        )
    emit(result.to_dict(), as_json, lambda: _render_training(result))


def score_workspace_clv(
    *,
    model: str | None,
    version: int | None,
    horizon_days: float | None,
    discount_rate: float | None,
    margin: float | None,
    workspace: Path | None,
    as_json: bool,
) -> None:
    """``growthloop score clv``: score every customer and print what was stored."""
    with open_workspace(workspace) as ws:
        result = score_clv(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name=model or "clv",
            version=version,
            horizon_days=365.0 if horizon_days is None else horizon_days,
            discount_rate=0.01 if discount_rate is None else discount_rate,
            margin=1.0 if margin is None else margin,
        )

    def render() -> None:
        for note in result.notes:
            console.print(f"note: {note}", highlight=False)
        means = result.means
        console.print(
            f"scored {result.rows:,} customers as of {result.as_of:%Y-%m-%d} with "
            f"{result.model.name} v{result.model.version}: mean CLV {means['clv']:,.2f} "
            f"({result.horizon_days:g} days, {result.discount_rate:.1%} a month, margin "
            f"{result.margin:.0%}), mean P(alive) {means['p_alive']:.3f} → table scores, "
            f"profile columns [bold]{', '.join(result.columns.values())}[/]",
            highlight=False,
        )
        table = Table(title="highest CLV", title_justify="left")
        for column in ("customer", "CLV", "P(alive)", "purchases 90 d", "order value",
                       "days to next"):
            table.add_column(column, justify="left" if column == "customer" else "right")
        for row in result.preview:
            table.add_row(
                str(row["canonical_id"]),
                f"{row['clv']:,.2f}",
                f"{row['p_alive']:.3f}",
                f"{row['expected_purchases_90d']:.2f}",
                f"{row['expected_order_value']:,.2f}",
                f"{row['next_order_date']:,.0f}",
            )
        console.print(table)

    emit(result.to_dict(), as_json, render)
