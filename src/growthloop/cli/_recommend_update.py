"""``growthloop recommend update``: a customer's new interactions re-rank their recommendations
at once, without retraining (ALS fold-in, ``implicit``'s ``recalculate_user``)."""

from __future__ import annotations

from typing import Annotated

import typer

from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    handle_errors,
    open_workspace,
)
from growthloop.cli._recommend import recommend_app
from growthloop.cli._recommend_serving import _items_table
from growthloop.errors import ModelError
from growthloop.recommend import (
    INTERACTION_KINDS,
    NewInteraction,
    load_serving_model,
    update_customer,
)
from growthloop.recommend._serving import check_n


def _interactions(specs: list[str]) -> list[NewInteraction]:
    """``ITEM`` (a purchase) or ``ITEM:KIND`` as interactions; a clear error otherwise."""
    found = []
    for spec in specs:
        item, _, kind = spec.partition(":")
        interaction = NewInteraction.parse(item, kind or "purchase")
        if interaction is None:
            raise ModelError(
                f"interaction {spec!r} is not ITEM or ITEM:KIND with KIND one of "
                f"{', '.join(INTERACTION_KINDS)}; for example P00042:view"
            )
        found.append(interaction)
    return found


@recommend_app.command(
    "update", epilog="Examples: growthloop recommend update alice@example.com P00042 · "
    "growthloop recommend update C0000042 P00042:view P00017:cart --json",
)
@handle_errors
def update_command(
    customer: Annotated[str, typer.Argument(help="Customer id, email, phone or anonymous id.")],
    interactions: Annotated[list[str], typer.Argument(
        help="What the customer did since the build: ITEM (a purchase) or ITEM:KIND, KIND one "
        "of purchase, cart, view, return.")],
    n: Annotated[int, typer.Option("--n", help="Items to show (1 to 100).")] = 10,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-rank a customer's recommendations with their new interactions, without retraining;
    the API and `recommend show` serve the new list at once."""
    n = check_n(n)
    new = _interactions(interactions)
    with open_workspace(workspace) as ws:
        serving = load_serving_model(operational=ws.operational, models_dir=ws.models_dir)
        result = update_customer(serving=serving, analytical=ws.analytical, customer=customer,
                                 interactions=new)
    shown = result.recommendations

    def render() -> None:
        title = (f"{shown.canonical_id} · updated with {result.used} interaction(s) · "
                 f"recommender v{shown.model_version}")
        console.print(_items_table(title, shown.items[:n], what="item"))
        if result.ignored_items:
            ignored = ", ".join(result.ignored_items)
            console.print(f"not in the build's catalogue (ignored): {ignored}")

    payload = result.to_dict()
    payload["data"] = payload["data"][:n]
    payload["count"] = len(payload["data"])
    emit(payload, as_json, render)
