"""``growthloop recommend build|show|similar``: precompute recommendations and read them back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    err_console,
    handle_errors,
    open_workspace,
    progress_bar,
)
from growthloop.cli._recommend import _sources, recommend_app
from growthloop.recommend import (
    Recommendation,
    build_recommendations,
    load_serving_model,
    recommendations_for,
    similar_items,
)
from growthloop.recommend._pipeline import DEFAULT_SOURCES
from growthloop.store import AnalyticalStore
from growthloop.workspace import Workspace

_STRATEGIES = {
    "precomputed": "precomputed",
    "updated": "updated since the build",
    "popular": "no history yet: popular items",
}


def _items_table(title: str, items: list[Recommendation], *, what: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column(what)
    table.add_column("name")
    table.add_column("why")
    for item in items:
        table.add_row(str(item.rank), item.item_id, item.name, item.reason)
    return table


@recommend_app.command(
    "build",
    epilog="Examples: growthloop recommend build · growthloop recommend build --n 20 "
    "--sources popular,cooccurrence,als",
)
@handle_errors
def build_command(
    n: Annotated[
        int, typer.Option("--n", min=1, max=1000, help="Items precomputed per customer.")
    ] = 50,
    sources: Annotated[
        str | None,
        typer.Option("--sources", help=f"Comma-separated recall sources (default: "
                     f"{','.join(DEFAULT_SOURCES)}).", show_default=False),
    ] = None,
    similar: Annotated[
        int, typer.Option("--similar", min=1, max=100, help="Similar items kept per item.")
    ] = 50,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Customers recommended per batch.")
    ] = 2_000,
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, max=1000, help="Candidates asked from each "
                          "source per customer (fewer: a faster build).")
    ] = 50,
    tune: Annotated[
        bool, typer.Option("--tune", help="Choose each source's hyperparameters on the last "
                           "30 days first (a small grid per source).")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit the recommender on the whole workspace and precompute every customer's top N.

    Reads purchases, carts and views, fits the recall sources and the ranker, writes each
    customer's top N with reasons to the `recommendations` table, indexes similar items, and
    registers and promotes the build as the `recommender` model, so `growthloop serve` answers
    from it.
    """
    names = _sources(sources)

    def stage(message: str) -> None:
        err_console.print(f"{message}…", style="dim", highlight=False)

    with open_workspace(workspace) as ws, progress_bar(
        "recommending", None, enabled=not as_json
    ) as update:
        result = build_recommendations(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            n=n,
            sources=names,
            similar_k=similar,
            batch_size=batch_size,
            candidates=candidates,
            tune=tune,
            progress=update,
            on_stage=None if as_json else stage,
        )
        example = str(ws.analytical.scalar("SELECT min(canonical_id) FROM recommendations"))

    def render() -> None:
        model = result.model
        console.print(
            f"built {model.name} v{model.version} ({model.status}): top {result.n} for "
            f"{result.customers:,} customers over {result.items:,} items, {result.rows:,} rows "
            f"in {result.seconds['total']:.1f} s; {result.cold_start_customers:,} customers "
            "without history get popular items",
            highlight=False,
        )
        for name, why in result.skipped.items():
            console.print(f"note: {name} left out: {why}", highlight=False)
        for name, params in result.tuned.items():
            setting = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
            console.print(f"tuned {name}: {setting}", highlight=False)
        console.print(f"try: growthloop recommend show {example}", highlight=False)

    emit(result.to_dict(), as_json, render)


@contextmanager
def _store_of(ws: Workspace) -> Iterator[AnalyticalStore]:
    yield ws.analytical


@recommend_app.command(
    "show", epilog="Examples: growthloop recommend show C0000042 · growthloop recommend show "
    "ann@example.com --n 5 --json",
)
@handle_errors
def show_command(
    customer: Annotated[str, typer.Argument(help="Customer id, email, phone or anonymous id.")],
    n: Annotated[int, typer.Option("--n", help="Items to show (1 to 100).")] = 10,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A customer's recommendations, with the reason for each."""
    with open_workspace(workspace) as ws:
        serving = load_serving_model(operational=ws.operational, models_dir=ws.models_dir)
        result = recommendations_for(serving, customer, n=n, open_store=lambda: _store_of(ws))

    def render() -> None:
        title = (
            f"{result.canonical_id} · {_STRATEGIES.get(result.strategy, result.strategy)} · "
            f"recommender v{result.model_version} built {result.built_at:%Y-%m-%d %H:%M}"
        )
        console.print(_items_table(title, result.items, what="item"))

    emit(result.to_dict(), as_json, render)


@recommend_app.command(
    "similar", epilog="Examples: growthloop recommend similar P00017 · growthloop recommend "
    "similar P00017 --n 5 --json",
)
@handle_errors
def similar_command(
    item: Annotated[str, typer.Argument(help="Product id.")],
    n: Annotated[int, typer.Option("--n", help="Items to show (1 to 100).")] = 10,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Items similar to one item: bought together first, then described alike."""
    with open_workspace(workspace) as ws:
        serving = load_serving_model(operational=ws.operational, models_dir=ws.models_dir)
        result = similar_items(serving, item, n=n)

    def render() -> None:
        title = f"similar to {result.item_id} ({result.name}) · recommender v{result.model_version}"
        console.print(_items_table(title, result.items, what="item"))

    emit(result.to_dict(), as_json, render)
