"""``GET /v1/recommendations/{customer_id}`` and ``GET /v1/items/{item_id}/similar``: answers of
the promoted recommendation build, from memory; ``POST
/v1/recommendations/{customer_id}/interactions``: re-rank a customer with new interactions."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from growthloop.api._deps import JsonBodyDep
from growthloop.api._errors import ApiError, ErrorBody, json_response
from growthloop.api._read import AdminKeyDep, ReadKeyDep, analytical_store
from growthloop.errors import ModelError
from growthloop.recommend import (
    INTERACTION_KINDS,
    NewInteraction,
    ServingCache,
    ServingModel,
    recommendations_for,
    similar_items,
    update_customer,
)
from growthloop.recommend._serving import check_n

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["recommendations"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "n is not a whole number from 1 to 100."},
    401: {"model": ErrorBody, "description": "No key, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The key lacks the read scope."},
    404: {"model": ErrorBody, "description": "No such customer or item, or nothing built yet."},
    503: {"model": ErrorBody, "description": "The build cannot be loaded, or the analytical "
          "store is busy; retry."},
}

_N = Query(10, description="How many items, 1 to 100.")


def _serving(request: Request) -> ServingModel:
    """The promoted build, loaded once per app and reloaded when another is promoted."""
    cache = cast(ServingCache | None, getattr(request.app.state, "recommendations", None))
    if cache is None:
        raise ApiError(
            404, "no_workspace",
            "this server has no workspace to serve recommendations from: start it with "
            "`growthloop serve --workspace DIR` and run `growthloop recommend build`",
        )
    try:
        return cache.get()
    except ModelError as exc:
        raise ApiError(503, "recommender_unavailable", str(exc),
                       headers={"Retry-After": "30"}) from None


@router.get(
    "/recommendations/{customer_id}", summary="A customer's recommendations", responses=_ERRORS
)
async def get_recommendations(
    customer_id: str, request: Request, key: ReadKeyDep, n: int = _N
) -> Response:
    """The ``n`` items recommended to the customer behind ``customer_id`` (a customer id,
    email, phone or anonymous id), best first, each with ``reason_code`` and ``reason``.
    ``strategy`` says whether they were ``precomputed`` by the build, ``updated`` since by new
    interactions, or are ``popular`` items for a customer without history (in their RFM
    segment when known). Needs a key with the ``read`` scope as ``Authorization: Bearer KEY``."""
    check_n(n)

    def answer() -> dict[str, Any]:
        serving = _serving(request)
        return recommendations_for(
            serving, customer_id, n=n, open_store=lambda: analytical_store(request)
        ).to_dict()

    return json_response(await run_in_threadpool(answer))


@router.get("/items/{item_id}/similar", summary="Items similar to an item", responses=_ERRORS)
async def get_similar_items(
    item_id: str, request: Request, key: ReadKeyDep, n: int = _N
) -> Response:
    """The ``n`` items most similar to ``item_id``: bought by the same customers first
    (``reason_code`` ``cooccurrence``), then described alike (``content``; this also covers
    items nobody has bought yet). Needs a key with the ``read`` scope."""
    check_n(n)

    def answer() -> dict[str, Any]:
        return similar_items(_serving(request), item_id, n=n).to_dict()

    return json_response(await run_in_threadpool(answer))


def _new_interactions(body: dict[str, Any]) -> list[NewInteraction]:
    """``{"interactions": [{"item_id": ..., "kind": ...}, ...]}`` as interactions (400 if not)."""
    given = body.get("interactions")
    if not isinstance(given, list) or not given:
        raise ModelError(
            'the body needs "interactions": a non-empty list of {"item_id": "P00042", "kind": '
            '"view"} (kind one of purchase, cart, view, return; default purchase)'
        )
    found = []
    for position, entry in enumerate(given):
        interaction = (
            NewInteraction.parse(entry.get("item_id"), entry.get("kind", "purchase"))
            if isinstance(entry, dict) else None
        )
        if interaction is None:
            raise ModelError(
                f"interactions[{position}] = {entry!r} is not {{\"item_id\": TEXT, \"kind\": "
                f"KIND}} with KIND one of {', '.join(INTERACTION_KINDS)}"
            )
        found.append(interaction)
    return found


@router.post(
    "/recommendations/{customer_id}/interactions",
    summary="Re-rank a customer's recommendations with new interactions",
    responses={**_ERRORS, 403: {"model": ErrorBody, "description": "The key lacks the admin "
                                "scope."}},
)
async def post_interactions(
    customer_id: str, body: JsonBodyDep, request: Request, key: AdminKeyDep
) -> Response:
    """Fold what the customer did since the build (``{"interactions": [{"item_id": "P00042",
    "kind": "view"}], "n": 10}``) into their history and re-rank, without retraining: the new
    list is written to the ``recommendations`` table and served at once by every server of the
    build. Items the build does not know are listed in ``ignored_items``. Needs the ``admin``
    scope."""
    n = check_n(body.data.get("n", 10))
    interactions = _new_interactions(body.data)

    def work() -> dict[str, Any]:
        serving = _serving(request)
        with analytical_store(request, write=True) as analytical:
            result = update_customer(serving=serving, analytical=analytical,
                                     customer=customer_id, interactions=interactions)
        payload = result.to_dict()
        payload["data"] = payload["data"][:n]
        payload["count"] = len(payload["data"])
        return payload

    return json_response(await run_in_threadpool(work))
