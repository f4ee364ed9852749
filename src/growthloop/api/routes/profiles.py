"""``GET /v1/profiles/{identity}``: a customer's profile, identities, segments and model scores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from growthloop.api._errors import ErrorBody, json_response
from growthloop.api._read import ReadKeyDep, analytical_store
from growthloop.customers import find_canonical_id
from growthloop.errors import NotFoundError
from growthloop.predict.temporal import scores_of
from growthloop.store import AnalyticalStore

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["profiles"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No key, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The key lacks the read scope."},
    404: {"model": ErrorBody, "description": "No such customer, or no profiles built yet."},
    503: {"model": ErrorBody, "description": "The analytical store is busy; retry."},
}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def profile_view(store: AnalyticalStore, identity: str) -> dict[str, Any]:
    """The profile of the customer behind ``identity`` (any of their identities)."""
    canonical = find_canonical_id(store, identity)
    if not store.has_table("profiles"):
        raise NotFoundError("no profiles have been built; run `growthloop profile build`")
    rows = store.rows("SELECT * FROM profiles WHERE canonical_id = ?", [canonical])
    if not rows:
        raise NotFoundError(
            f"customer {canonical!r} has no profile yet (profiles are built as of a date; "
            "rebuild them with `growthloop profile build`)"
        )
    identities = store.rows(
        "SELECT kind, value FROM identities WHERE canonical_id = ? ORDER BY kind, value",
        [canonical],
    )
    segments = store.rows(
        "SELECT segment_id, entered_at FROM segment_membership WHERE canonical_id = ? "
        "AND exited_at IS NULL ORDER BY segment_id",
        [canonical],
    )
    return {
        "canonical_id": canonical,
        "profile": _plain(rows[0]),
        "identities": identities or [{"kind": "customer", "value": canonical}],
        "segments": segments,
        "scores": [_plain(s) for s in scores_of(store, canonical)],
    }


@router.get("/profiles/{identity}", summary="A customer's profile", responses=_ERRORS)
async def get_profile(identity: str, request: Request, key: ReadKeyDep) -> Response:
    """The profile (coarse, medium and fine layers, RFM segment, model scores such as
    ``churn_risk``), the merged identities, the current segments and the model scores with
    their top reasons of the customer behind ``identity``: a customer id, email, phone or
    anonymous id. Needs a key with the ``read`` scope as ``Authorization: Bearer KEY``."""

    def load() -> dict[str, Any]:
        with analytical_store(request) as store:
            return profile_view(store, identity)

    return json_response(await run_in_threadpool(load))
