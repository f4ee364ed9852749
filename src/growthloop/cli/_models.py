"""``growthloop models list|show|promote|rollback``: the model registry."""

from __future__ import annotations

from typing import Annotated, Any

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
from growthloop.predict.registry import (
    ModelVersion,
    get_model,
    list_models,
    promote,
    promotion_history,
    rollback,
)
from growthloop.workspace import Workspace

models_app = typer.Typer(
    help="The model registry: versions, promotion, rollback.", no_args_is_help=True
)
app.add_typer(models_app, name="models")

_HEADLINE = {"roc_auc": "AUC", "brier": "Brier", "lift_top10": "lift@10%"}


def _headline(model: ModelVersion) -> str:
    parts = [
        f"{label} {model.metrics[key]:.3f}"
        for key, label in _HEADLINE.items()
        if isinstance(model.metrics.get(key), int | float)
    ]
    return " · ".join(parts) or "-"


def _summary(model: ModelVersion) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "kind": model.kind,
        "status": model.status,
        "created_at": model.created_at,
        "features": len(model.features),
        "metrics": {k: model.metrics[k] for k in _HEADLINE if k in model.metrics},
        "description": model.description,
    }


@models_app.command("list", epilog="Example: growthloop models list --kind churn --json")
@handle_errors
def list_(
    kind: Annotated[str | None, typer.Option("--kind", help="Only models of this kind.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List every registered model version with its status and headline metrics."""
    with open_workspace(workspace) as ws:
        models = list_models(ws.operational, kind=kind)
    rows = [_summary(m) for m in models]

    def render() -> None:
        table = Table(title="models")
        for col in ("name", "version", "kind", "status", "created", "features", "metrics"):
            table.add_column(col)
        for m in models:
            status = f"[bold green]{m.status}[/]" if m.status == "promoted" else m.status
            table.add_row(
                m.name,
                str(m.version),
                m.kind,
                status,
                m.created_at.strftime("%Y-%m-%d %H:%M"),
                str(len(m.features)),
                _headline(m),
            )
        console.print(table)

    emit({"models": rows, "count": len(rows)}, as_json, render)


@models_app.command("show", epilog="Example: growthloop models show churn --version 2")
@handle_errors
def show(
    name: Annotated[str, typer.Argument(help="Model name (or kind).")],
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="Version (default: promoted, else newest)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one model version's metadata and its name's promotion history."""
    with open_workspace(workspace) as ws:
        model = get_model(ws.operational, name, version)
        history = promotion_history(ws.operational, model.name)
    result = {
        **model.to_dict(),
        "promotion_history": [
            {
                "action": p.action,
                "version": p.version,
                "previous_version": p.previous_version,
                "at": p.at,
            }
            for p in history
        ],
    }

    def render() -> None:
        table = Table(title=f"{model.name} v{model.version}", show_header=False)
        table.add_column("field")
        table.add_column("value")
        window = (
            f"{model.training_from} – {model.training_to}"
            if model.training_from or model.training_to
            else "- (trained on a file)"
        )
        for field, value in (
            ("kind", model.kind),
            ("status", model.status),
            ("created", str(model.created_at)),
            ("training window", window),
            ("description", model.description or "-"),
            ("metrics", _headline(model)),
            (
                "features",
                ", ".join(f"{f['name']} ({f['dtype']})" for f in model.features),
            ),
            ("data fingerprint", model.data_fingerprint or "-"),
            ("libraries", ", ".join(f"{k} {v}" for k, v in model.library_versions.items())),
            ("artifact", model.artifact_path),
        ):
            table.add_row(field, value)
        console.print(table)
        for p in history:
            before = f" (was v{p.previous_version})" if p.previous_version else ""
            console.print(f"{p.at:%Y-%m-%d %H:%M}  {p.action} v{p.version}{before}")

    emit(result, as_json, render)


@models_app.command("promote", epilog="Example: growthloop models promote churn 3")
@handle_errors
def promote_(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version to promote.", min=1)],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a version the promoted one (used by default); the previous one is retired."""
    with open_workspace(workspace) as ws:
        model = promote(ws.operational, name, version)
        rows = _sync_recommendations(ws, model)
    _emit_promotion(model, rows, as_json, "promoted")


@models_app.command("rollback", epilog="Example: growthloop models rollback churn")
@handle_errors
def rollback_(
    name: Annotated[str, typer.Argument(help="Model name.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Go back to the version that was promoted before the current one."""
    with open_workspace(workspace) as ws:
        model = rollback(ws.operational, name)
        rows = _sync_recommendations(ws, model)
    _emit_promotion(model, rows, as_json, "rolled back to")


def _sync_recommendations(ws: Workspace, model: ModelVersion) -> int | None:
    """For the recommender, the rows the ``recommendations`` table was rewritten with from the
    promoted build (0: it already held it); None for other models."""
    from growthloop.recommend import MODEL_NAME, load_serving_model, republish

    if model.name != MODEL_NAME:
        return None
    serving = load_serving_model(operational=ws.operational, models_dir=ws.models_dir)
    return republish(ws.analytical, serving)


def _emit_promotion(model: ModelVersion, rows: int | None, as_json: bool, verb: str) -> None:
    result: dict[str, Any] = {"name": model.name, "version": model.version,
                              "status": model.status}
    if rows is not None:
        result["recommendation_rows"] = rows

    def render() -> None:
        console.print(f"{verb} [bold]{model.name}[/] v{model.version}")
        if rows:
            console.print(f"recommendations table rewritten from v{model.version}: {rows:,} rows")

    emit(result, as_json, render)
