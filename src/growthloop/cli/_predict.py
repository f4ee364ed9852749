"""``growthloop train churn|propensity`` and ``growthloop score``: classifiers on labelled
tables, scoring new rows with reasons."""

from __future__ import annotations

from enum import StrEnum
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
from growthloop.predict.tabular import TrainingResult, score_file, train_from_file

train_app = typer.Typer(help="Train models on a labelled table (预测分析).", no_args_is_help=True)
app.add_typer(train_app, name="train")

_METRICS = (
    ("roc_auc", "ROC-AUC", "{:.3f}"),
    ("pr_auc", "PR-AUC", "{:.3f}"),
    ("brier", "Brier score", "{:.4f}"),
    ("brier_base_rate", "Brier of the base rate", "{:.4f}"),
    ("log_loss", "log loss", "{:.4f}"),
    ("lift_top10", "lift, top 10 %", "{:.2f}"),
    ("capture_top10", "capture, top 10 %", "{:.0%}"),
    ("lift_top20", "lift, top 20 %", "{:.2f}"),
    ("capture_top20", "capture, top 20 %", "{:.0%}"),
)


class Family(StrEnum):
    """Which model family to train."""

    auto = "auto"
    lightgbm = "lightgbm"
    logistic = "logistic"


class CalibrationMethod(StrEnum):
    """How probabilities are calibrated."""

    auto = "auto"
    isotonic = "isotonic"
    sigmoid = "sigmoid"
    none = "none"


FileArg = Annotated[
    Path, typer.Option("--file", "-f", help="Labelled table, CSV or Parquet.", show_default=False)
]
LabelOpt = Annotated[str, typer.Option("--label-col", help="The label column.")]
IdOpt = Annotated[
    str | None, typer.Option("--id-col", help="The customer id column (kept out of features).")
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Registry name (default: the kind).")]
PositiveOpt = Annotated[
    str | None,
    typer.Option(
        "--target-positive",
        help="The label value of the positive class (default: Yes, True or 1).",
    ),
]
FamilyOpt = Annotated[
    Family, typer.Option("--model", help="Model family; auto keeps the better by ROC-AUC.")
]
CalibrationOpt = Annotated[
    CalibrationMethod,
    typer.Option("--calibration", help="auto: isotonic from 1,000 rows, else sigmoid (Platt)."),
]
FoldsOpt = Annotated[int, typer.Option("--folds", min=2, max=20, help="Cross-validation folds.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Seed of the folds and LightGBM.")]


def _render(result: TrainingResult) -> None:
    columns = Table(title="columns", title_justify="left")
    for name in ("column", "detected", "what was done"):
        columns.add_column(name)
    for c in result.columns:
        columns.add_row(c["column"], c["detected"], c["action"])
    console.print(columns)

    families = list(result.evaluations)
    metrics = Table(
        title=f"cross-validated ({len(next(iter(result.evaluations.values())).fold_roc_auc)}-fold, "
        f"calibrated: {result.calibration}) on {result.rows:,} rows, "
        f"{result.positives:,} {result.classes[1]!r}",
        title_justify="left",
    )
    metrics.add_column("metric")
    for family in families:
        marker = " ✓" if family == result.chosen else ""
        metrics.add_column(family + marker, justify="right")
    for key, label, fmt in _METRICS:
        metrics.add_row(label, *(fmt.format(result.evaluations[f].metrics[key]) for f in families))
    console.print(metrics)

    chosen = result.evaluations[result.chosen]
    reliability = Table(title=f"reliability ({result.chosen})", title_justify="left")
    for name in ("bin", "mean predicted", "observed", "rows"):
        reliability.add_column(name, justify="right")
    for b in chosen.reliability:
        reliability.add_row(
            b["bin"], f"{b['mean_predicted']:.3f}", f"{b['observed_rate']:.3f}", f"{b['count']:,}"
        )
    console.print(reliability)

    importance = Table(title="feature importance (top 8)", title_justify="left")
    importance.add_column("feature")
    importance.add_column("LightGBM gain share", justify="right")
    importance.add_column("logistic |coef|", justify="right")
    for row in result.importance[:8]:
        gain = row.get("lightgbm_gain_share")
        coef = row.get("logistic_abs_coef")
        importance.add_row(
            row["feature"],
            f"{gain:.1%}" if gain is not None else "-",
            f"{coef:.3f}" if coef is not None else "-",
        )
    console.print(importance)
    model = result.model
    console.print(
        f"registered [bold]{model.name}[/] v{model.version} ({result.chosen}, {model.status}); "
        + (
            "it is the promoted version"
            if model.status == "promoted"
            else f"promote it with `growthloop models promote {model.name} {model.version}`"
        )
    )


def _train(
    kind: str,
    file: Path,
    label_col: str,
    id_col: str | None,
    name: str | None,
    target_positive: str | None,
    model: Family,
    calibration: CalibrationMethod,
    folds: int,
    seed: int,
    workspace: Path | None,
    as_json: bool,
) -> None:
    with (
        open_workspace(workspace) as ws,
        progress_bar("cross-validating", None, enabled=not as_json) as update,
    ):
        result = train_from_file(
            store=ws.operational,
            models_dir=ws.models_dir,
            path=file,
            kind=kind,
            label_column=label_col,
            id_column=id_col,
            name=name,
            target_positive=target_positive,
            model=model.value,
            calibration=calibration.value,
            folds=folds,
            seed=seed,
            progress=update,
        )
    emit(result.to_dict(), as_json, lambda: _render(result))


@train_app.command(
    "churn",
    epilog="Example: growthloop train churn --file telco.csv --label-col Churn --id-col customerID",
)
@handle_errors
def churn(
    file: FileArg,
    label_col: LabelOpt = "Churn",
    id_col: IdOpt = None,
    name: NameOpt = None,
    target_positive: PositiveOpt = None,
    model: FamilyOpt = Family.auto,
    calibration: CalibrationOpt = CalibrationMethod.auto,
    folds: FoldsOpt = 5,
    seed: SeedOpt = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a churn classifier on a labelled table and register it.

    Reports what was done with each column, cross-validated metrics of logistic regression and
    LightGBM side by side, calibration and feature importance. The model with the higher
    ROC-AUC is registered; it is promoted if no version of its name is promoted yet.
    """
    _train(
        "churn",
        file,
        label_col,
        id_col,
        name,
        target_positive,
        model,
        calibration,
        folds,
        seed,
        workspace,
        as_json,
    )


@train_app.command(
    "propensity",
    epilog="Example: growthloop train propensity --file visits.csv --label-col conversion "
    "--id-col customer_id --name buy-next-30d",
)
@handle_errors
def propensity(
    file: FileArg,
    label_col: LabelOpt = "converted",
    id_col: IdOpt = None,
    name: NameOpt = None,
    target_positive: PositiveOpt = None,
    model: FamilyOpt = Family.auto,
    calibration: CalibrationOpt = CalibrationMethod.auto,
    folds: FoldsOpt = 5,
    seed: SeedOpt = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a purchase-propensity classifier on a labelled table and register it.

    The same machinery as `growthloop train churn`: column report, both model families
    cross-validated and calibrated, the better one registered.
    """
    _train(
        "propensity",
        file,
        label_col,
        id_col,
        name,
        target_positive,
        model,
        calibration,
        folds,
        seed,
        workspace,
        as_json,
    )


@app.command(
    "score",
    epilog="Example: growthloop score --file customers.csv --model churn --output scores.csv",
)
@handle_errors
def score(
    file: FileArg,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write the scores (.csv or .parquet)."),
    ],
    model: Annotated[str, typer.Option("--model", help="Registered model name or kind.")] = "churn",
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Model version (default: promoted).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score new rows: id, calibrated probability and the top 3 reasons in words.

    The table must hold every feature column the model was trained on; other columns are
    ignored, categories never seen in training are treated as unseen.
    """
    with open_workspace(workspace) as ws:
        result = score_file(
            store=ws.operational,
            models_dir=ws.models_dir,
            path=file,
            output=output,
            name=model,
            version=version,
        )

    def render() -> None:
        for note in result.notes:
            console.print(f"note: {note}", highlight=False)
        table = Table(
            title=f"{result.rows:,} rows scored with {result.model.name} "
            f"v{result.model.version} → {result.output} (first 5)",
            title_justify="left",
        )
        for column in result.preview[0] if result.preview else []:
            table.add_column(column)
        for row in result.preview:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)

    emit(result.to_dict(), as_json, render)
