"""``growthloop recommend``: evaluate recommenders offline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
from growthloop.errors import ModelError
from growthloop.recommend._evaluate import Evaluation
from growthloop.recommend._pipeline import DEFAULT_SOURCES
from growthloop.recommend._service import EvaluationRun, evaluate_files, evaluate_workspace
from growthloop.recommend._tune import METRICS, Tuning
from growthloop.recommend.sources import SOURCE_NAMES

recommend_app = typer.Typer(help="Personalised recommendations (个性化推荐).", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")


class Bought(StrEnum):
    allow = "allow"
    exclude = "exclude"
    both = "both"


class SplitName(StrEnum):
    temporal = "temporal"
    last_basket = "last-basket"


_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty")


def _sources(value: str | None) -> list[str]:
    if value is None:
        return list(DEFAULT_SOURCES)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SOURCE_NAMES]
    if unknown or not names:
        raise ModelError(
            f"--sources {value!r}: unknown source(s) {', '.join(unknown) or '(none given)'}; "
            f"use a comma-separated list of {', '.join(SOURCE_NAMES)}"
        )
    return names


def _render(evaluation: Evaluation) -> None:
    policy = "excluded" if evaluation.exclude_bought else "allowed"
    split = evaluation.split
    title = (
        f"@{evaluation.k}, already-bought items {policy} · {split.get('test_users', 0):,} test "
        f"users · train {split.get('train_users', 0):,} users x {split.get('train_items', 0):,} "
        "items"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for metric in _METRICS:
        table.add_column(metric, justify="right")
    table.add_column("seconds", justify="right")
    best = evaluation.best_source()
    for row in evaluation.rows:
        label = row.name + (" (baseline)" if row.kind == "baseline" else "")
        style = "bold" if row.kind == "pipeline" else None
        values = row.metrics.as_dict()
        table.add_row(label, *(f"{values[m]:.4f}" for m in _METRICS), f"{row.seconds:.1f}",
                      style=style)
    console.print(table)
    pipeline = evaluation.row("pipeline").metrics
    ratio = pipeline.ndcg / max(best.metrics.ndcg, 1e-12)
    console.print(
        f"pipeline NDCG@{evaluation.k} {pipeline.ndcg:.4f} vs best single source "
        f"{best.name} {best.metrics.ndcg:.4f} ({ratio:.2f}x)",
        highlight=False,
    )
    for name, why in evaluation.skipped.items():
        console.print(f"note: {name} left out: {why}", highlight=False)


def _render_tuning(tuning: Tuning) -> None:
    split = tuning.validation
    policy = "excluded" if tuning.exclude_bought else "allowed"
    table = Table(
        title=f"hyperparameters chosen by {tuning.metric}@{tuning.k} on the validation split "
        f"({split['method']}, {split['validation_users']:,} users; already-bought items "
        f"{policy}); the test part is not read",
        title_justify="left",
    )
    for column in ("source", "setting", tuning.metric, "seconds", "chosen"):
        table.add_column(column, justify="right" if column in (tuning.metric, "seconds") else
                         "left")
    for row in tuning.table().to_dict(orient="records"):
        table.add_row(row["source"], row["setting"] or "(defaults)",
                      f"{row[tuning.metric]:.4f}", f"{row['seconds']:.1f}",
                      "yes" if row["chosen"] else "", style="bold" if row["chosen"] else None)
    console.print(table)


def _tuning_payload(tuning: Tuning | None) -> dict[str, Any]:
    if tuning is None:
        return {}
    return {"tuning": {"metric": tuning.metric, "k": tuning.k, "chosen": tuning.best,
                       "validation": tuning.validation,
                       "trials": tuning.table().to_dict(orient="records")}}


def _payload(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "k": evaluation.k,
        "exclude_bought": evaluation.exclude_bought,
        "split": evaluation.split,
        "skipped": evaluation.skipped,
        "results": evaluation.table().to_dict(orient="records"),
    }


@recommend_app.command(
    "evaluate",
    epilog="Examples: growthloop recommend evaluate · growthloop recommend evaluate --split "
    "last-basket · growthloop recommend evaluate --train train.csv --test test.csv --user-col "
    "user --item-col item --time-col ts",
)
@handle_errors
def evaluate_command(
    train: Annotated[
        Path | None,
        typer.Option("--train", help="Training interactions (CSV, .csv.gz or Parquet).",
                     show_default=False),
    ] = None,
    test: Annotated[
        Path | None,
        typer.Option("--test", help="Test interactions, same columns as --train.",
                     show_default=False),
    ] = None,
    user_col: Annotated[str, typer.Option("--user-col", help="User id column.")] = "user_id",
    item_col: Annotated[str, typer.Option("--item-col", help="Item id column.")] = "item_id",
    time_col: Annotated[
        str | None, typer.Option("--time-col", help="Time column.", show_default=False)
    ] = None,
    weight_col: Annotated[
        str | None,
        typer.Option("--weight-col", help="Weight column (negative counts against the item).",
                     show_default=False),
    ] = None,
    basket_col: Annotated[
        str | None,
        typer.Option("--basket-col", help="Basket (order/session) column.", show_default=False),
    ] = None,
    split: Annotated[
        SplitName, typer.Option("--split", help="Workspace split: the last days, or each "
                                "customer's last basket.")
    ] = SplitName.temporal,
    test_days: Annotated[
        float, typer.Option("--test-days", min=1, help="Workspace temporal split: test days.")
    ] = 30.0,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Cut-off of the metrics.")] = 10,
    sources: Annotated[
        str | None,
        typer.Option("--sources", help=f"Comma-separated recall sources (default: "
                     f"{','.join(DEFAULT_SOURCES)}).", show_default=False),
    ] = None,
    bought: Annotated[
        Bought, typer.Option("--bought", help="May already-bought items be recommended?")
    ] = Bought.both,
    tune: Annotated[
        bool, typer.Option("--tune", help="Choose each source's hyperparameters on a validation "
                           "split of the training part first (a small grid per source).")
    ] = False,
    tune_metric: Annotated[
        str, typer.Option("--tune-metric", help=f"Metric the settings are chosen by: "
                          f"{', '.join(METRICS)}.")
    ] = "ndcg",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate every recall source alone, the popularity baseline and the full pipeline.

    On the workspace (purchases, carts and views; the last --test-days days as test, or each
    customer's last basket) or on a published train/test pair of files (--train, --test).
    Everything is fitted on the training part only; the ranker learns from the last days of
    it, and --tune chooses the sources' settings on a validation split of it. Metrics at k:
    precision, recall, NDCG, MAP, hit rate, catalogue coverage, novelty.
    """
    names = _sources(sources)
    policies = ["allow", "exclude"] if bought is Bought.both else [bought.value]
    if (train is None) != (test is None):
        raise ModelError("give both --train and --test (or neither, to use the workspace)")
    status = err_console.status("evaluating", spinner="dots")
    if not as_json:
        status.start()

    def progress(message: str) -> None:
        status.update(message)

    if tune_metric not in METRICS:
        raise ModelError(f"--tune-metric {tune_metric!r} cannot choose a setting; use one of "
                         f"{', '.join(METRICS)}")
    run: EvaluationRun
    try:
        if train is not None and test is not None:
            run = evaluate_files(
                train, test, user_col=user_col, item_col=item_col, time_col=time_col,
                weight_col=weight_col, basket_col=basket_col, k=k, sources=names,
                bought=policies, tune=tune, tune_metric=tune_metric, progress=progress,
            )
        else:
            with open_workspace(workspace) as ws:
                run = evaluate_workspace(
                    ws.analytical, split=split.value, test_days=test_days, k=k, sources=names,
                    bought=policies, tune=tune, tune_metric=tune_metric, progress=progress,
                )
    finally:
        status.stop()
    rejected: dict[str, dict[str, int]] = {}
    read: dict[str, Any] = {}
    if run.train is not None and run.test is not None:
        rejected = {"train": run.train.rejected_by_reason(),
                    "test": run.test.rejected_by_reason()}
        read = {"train_rows": run.train.rows_read, "test_rows": run.test.rows_read,
                "rejected": rejected}

    def render() -> None:
        for part, reason_counts in rejected.items():
            for reason, count in reason_counts.items():
                console.print(f"note: {count:,} {part} rows rejected ({reason})", highlight=False)
        if run.tuning is not None:
            _render_tuning(run.tuning)
        for evaluation in run.evaluations:
            _render(evaluation)

    emit({"evaluations": [_payload(e) for e in run.evaluations], **read,
          **_tuning_payload(run.tuning)}, as_json, render)
