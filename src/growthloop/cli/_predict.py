"""``growthloop train churn|propensity`` and ``growthloop score``: classifiers trained on the
workspace's profiles (temporal split) or on a labelled table, scoring with reasons."""

from __future__ import annotations

from datetime import datetime
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
from growthloop.errors import ModelError
from growthloop.predict.registry import ModelVersion
from growthloop.predict.tabular import TrainingResult, score_file, train_from_file
from growthloop.predict.temporal import (
    Target,
    TemporalTraining,
    score_profiles,
    train_on_profiles,
)

train_app = typer.Typer(
    help="Train models on the workspace or a labelled table (预测分析).", no_args_is_help=True
)
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
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="Labelled table, CSV or Parquet (default: train on the workspace's profiles).",
        show_default=False,
    ),
]
_DATE = ["%Y-%m-%d"]
CutoffOpt = Annotated[
    datetime | None,
    typer.Option(
        "--cutoff",
        "--test-cutoff",
        formats=_DATE,
        help="Start of the held-out test period (default: the data's end minus the horizon).",
        show_default=False,
    ),
]
ValidationCutoffOpt = Annotated[
    datetime | None,
    typer.Option(
        "--validation-cutoff",
        formats=_DATE,
        help="Snapshot for choosing and calibrating (default: test cutoff minus the horizon).",
        show_default=False,
    ),
]
TrainCutoffOpt = Annotated[
    datetime | None,
    typer.Option(
        "--train-cutoff",
        formats=_DATE,
        help="Snapshot the models are fitted on (default: validation cutoff minus the horizon).",
        show_default=False,
    ),
]

HorizonOpt = Annotated[
    int,
    typer.Option("--horizon-days", min=1, max=3650, help="Label window after each cutoff, days."),
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
    _render_registered(result.model, result.chosen)


def _render_temporal(result: TemporalTraining) -> None:
    split, target = result.split, result.target
    console.print(
        f"{target.kind}: {target.describe()}; population: {target.population()} "
        f"({split.data.text()})",
        highlight=False,
    )
    snapshots = Table(title="temporal split (profile snapshots)", title_justify="left")
    for name in ("snapshot", "cutoff", "customers", target.classes[1], "used for"):
        snapshots.add_column(name, justify="right" if name in ("customers",) else "left")
    uses = {"train": "fitting", "validation": "choosing, calibrating", "test": "the metrics"}
    for role, snap in result.snapshots.items():
        snapshots.add_row(
            role,
            snap["cutoff"][:10],
            f"{snap['rows']:,}",
            f"{snap['positives'] / snap['rows']:.1%}",
            uses[role],
        )
    console.print(snapshots)
    reports = result.fit.reports
    metrics = Table(
        title=f"held-out test period from {split.test:%Y-%m-%d} (calibrated on validation)",
        title_justify="left",
    )
    metrics.add_column("metric")
    for model in reports:
        marker = " ✓" if model == result.fit.chosen else ""
        metrics.add_column(model.replace("_", " ") + marker, justify="right")
    metrics.add_row(
        "validation ROC-AUC", *(f"{r.validation['roc_auc']:.3f}" for r in reports.values())
    )
    for key, label, fmt in _METRICS:
        metrics.add_row(label, *(fmt.format(r.test[key]) for r in reports.values()))
    console.print(metrics)
    chosen = reports[result.fit.chosen]
    reliability = Table(title=f"reliability on test ({result.fit.chosen})", title_justify="left")
    for name in ("bin", "mean predicted", "observed", "customers"):
        reliability.add_column(name, justify="right")
    for b in chosen.reliability:
        reliability.add_row(
            b["bin"], f"{b['mean_predicted']:.3f}", f"{b['observed_rate']:.3f}", f"{b['count']:,}"
        )
    console.print(reliability)
    _render_registered(result.model, result.fit.chosen)


def _render_registered(model: ModelVersion, chosen: str) -> None:
    console.print(
        f"registered [bold]{model.name}[/] v{model.version} ({chosen}, {model.status}); "
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


def _train_on_profiles(
    target: Target,
    cutoffs: tuple[datetime | None, datetime | None, datetime | None],
    name: str | None,
    seed: int,
    workspace: Path | None,
    as_json: bool,
) -> None:
    test, validation, train = cutoffs
    with (
        open_workspace(workspace) as ws,
        progress_bar("snapshots and models", None, enabled=not as_json) as update,
    ):
        result = train_on_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            target=target,
            test_cutoff=test,
            validation_cutoff=validation,
            train_cutoff=train,
            name=name,
            seed=seed,
            progress=update,
        )
    emit(result.to_dict(), as_json, lambda: _render_temporal(result))


def _file_only(file: Path | None, **workspace_options: object) -> None:
    given = [k for k, v in workspace_options.items() if v is not None]
    if file is not None and given:
        options = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ModelError(
            f"{options} apply to training on the workspace's profiles, not to --file; "
            "drop them or the --file"
        )


def _train_classifier(
    target: Target,
    file: Path | None,
    cutoffs: tuple[datetime | None, datetime | None, datetime | None],
    file_options: tuple[str, str | None, str | None, Family, CalibrationMethod, int],
    name: str | None,
    seed: int,
    workspace: Path | None,
    as_json: bool,
    **workspace_only: object,
) -> None:
    """Train on the workspace's profiles, or on ``file`` when given (workspace options refused
    then). ``file_options``: label column, id column, positive label, family, calibration,
    folds."""
    cutoff, validation_cutoff, train_cutoff = cutoffs
    _file_only(
        file,
        **workspace_only,
        cutoff=cutoff,
        validation_cutoff=validation_cutoff,
        train_cutoff=train_cutoff,
    )
    if file is None:
        _train_on_profiles(target, cutoffs, name, seed, workspace, as_json)
        return
    label_col, id_col, target_positive, model, calibration, folds = file_options
    _train(
        target.kind,
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
    "churn",
    epilog="Examples: growthloop train churn --horizon-days 90 · "
    "growthloop train churn --file telco.csv --label-col Churn --id-col customerID",
)
@handle_errors
def churn(
    file: FileArg = None,
    cutoff: CutoffOpt = None,
    validation_cutoff: ValidationCutoffOpt = None,
    train_cutoff: TrainCutoffOpt = None,
    horizon_days: HorizonOpt = 90,
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
    """Train a churn classifier and register it.

    Without --file: on the workspace's customers. Churned = no purchase in the --horizon-days
    after a cutoff, among customers who bought before it. Profile snapshots at the train,
    validation and test cutoffs give the features; LightGBM, logistic regression and an
    RFM-only baseline are fitted on train, calibrated on validation and compared on the
    held-out test period. The better of LightGBM and logistic regression is registered.

    With --file: on a labelled table (column report, cross-validated metrics of both families,
    calibration, feature importance).
    """
    _train_classifier(
        Target("churn", horizon_days),
        file,
        (cutoff, validation_cutoff, train_cutoff),
        (label_col, id_col, target_positive, model, calibration, folds),
        name,
        seed,
        workspace,
        as_json,
    )


@train_app.command(
    "propensity",
    epilog="Examples: growthloop train propensity --horizon-days 30 --category Toys · "
    "growthloop train propensity --file visits.csv --label-col conversion --id-col customer_id",
)
@handle_errors
def propensity(
    file: FileArg = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            help="Predict buying a product of this category (the catalogue's or the derived "
            "one) instead of any purchase.",
            show_default=False,
        ),
    ] = None,
    cutoff: CutoffOpt = None,
    validation_cutoff: ValidationCutoffOpt = None,
    train_cutoff: TrainCutoffOpt = None,
    horizon_days: HorizonOpt = 30,
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
    """Train a purchase-propensity classifier and register it.

    Without --file: on the workspace's customers, labelled 1 when they buy (a product of
    --category) in the --horizon-days after a cutoff; the same temporal split and models as
    `growthloop train churn`. With --file: on a labelled table.
    """
    _train_classifier(
        Target("propensity", horizon_days, category),
        file,
        (cutoff, validation_cutoff, train_cutoff),
        (label_col, id_col, target_positive, model, calibration, folds),
        name,
        seed,
        workspace,
        as_json,
        category=category,
    )


class ScoreKind(StrEnum):
    """What to score on the workspace."""

    churn = "churn"
    propensity = "propensity"
    clv = "clv"


def _score_profiles(
    kind: ScoreKind, model: str | None, version: int | None, workspace: Path | None, as_json: bool
) -> None:
    with open_workspace(workspace) as ws:
        result = score_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name=model or kind.value,
            version=version,
        )

    def render() -> None:
        for note in result.notes:
            console.print(f"note: {note}", highlight=False)
        console.print(
            f"scored {result.rows:,} customers as of {result.as_of:%Y-%m-%d} with "
            f"{result.model.name} v{result.model.version} (mean {result.mean_score:.3f}) → "
            f"table scores, profile column [bold]{result.profile_column}[/]",
            highlight=False,
        )
        table = Table(title="highest scores", title_justify="left")
        for column in ("customer", "score", "top reason"):
            table.add_column(column)
        for row in result.preview:
            table.add_row(row["canonical_id"], f"{row['probability']:.3f}", row["reason_1"])
        console.print(table)

    emit(result.to_dict(), as_json, render)


@app.command(
    "score",
    epilog="Examples: growthloop score churn · growthloop score propensity --model "
    "propensity-toys · growthloop score --file customers.csv --model churn --output scores.csv",
)
@handle_errors
def score(
    kind: Annotated[
        ScoreKind | None,
        typer.Argument(
            help="Score the workspace's customers with the promoted model of this kind.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Score a table instead (CSV or Parquet).", show_default=False
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="With --file: where to write the scores (.csv or .parquet)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Registered model name or kind (default: KIND, or churn)."),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Model version (default: promoted).")
    ] = None,
    horizon_days: Annotated[
        float | None,
        typer.Option("--horizon-days", min=1, help="clv: CLV horizon in days [default: 365]."),
    ] = None,
    discount_rate: Annotated[
        float | None,
        typer.Option("--discount-rate", min=0, help="clv: discount rate a month [default: 0.01]."),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option("--margin", min=0, max=1, help="clv: profit share of spend [default: 1]."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score customers: calibrated probability and the top 3 reasons in words.

    `growthloop score churn` (or `propensity`) scores the current profile of every customer
    the model applies to, stores the scores in the table `scores` and adds them to the
    profiles as `churn_risk` / `purchase_propensity`, usable in segments. A profile rebuild
    keeps the latest scores attached.

    `growthloop score clv` stores each buyer's `clv` (over --horizon-days, discounted by
    --discount-rate a month, times --margin), `p_alive`, `expected_purchases_90d`,
    `expected_order_value` and `next_order_date` the same way.

    `growthloop score --file F --output O` scores a table instead: it must hold every feature
    column the model was trained on; other columns are ignored, categories never seen in
    training are treated as unseen.
    """
    if kind is not None:
        if file is not None or output is not None:
            raise typer.BadParameter(
                "score either the workspace (KIND) or a table (--file, --output), not both"
            )
        clv_options = (horizon_days, discount_rate, margin)
        if kind is ScoreKind.clv:
            from growthloop.cli._clv import score_workspace_clv

            score_workspace_clv(
                model=model,
                version=version,
                horizon_days=horizon_days,
                discount_rate=discount_rate,
                margin=margin,
                workspace=workspace,
                as_json=as_json,
            )
            return
        if any(option is not None for option in clv_options):
            raise typer.BadParameter("--horizon-days, --discount-rate and --margin are for clv")
        _score_profiles(kind, model, version, workspace, as_json)
        return
    if file is None or output is None:
        raise typer.BadParameter(
            "name what to score: `growthloop score churn|propensity` for the workspace, or "
            "`growthloop score --file F --output O` for a table"
        )
    with open_workspace(workspace) as ws:
        result = score_file(
            store=ws.operational,
            models_dir=ws.models_dir,
            path=file,
            output=output,
            name=model or "churn",
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
