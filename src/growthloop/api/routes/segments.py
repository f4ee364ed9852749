"""``/v1/segments``: list, read, create segments and page through their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from growthloop.api._deps import JsonBodyDep, StoreDep
from growthloop.api._errors import ApiError, ErrorBody, json_response
from growthloop.api._read import AdminKeyDep, ReadKeyDep, analytical_store
from growthloop.errors import StoreError
from growthloop.segment import (
    SegmentError,
    create_segment,
    get_segment,
    list_segments,
    parse_segment,
    save_segment,
    segment_members,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["segments"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "An invalid segment document."},
    401: {"model": ErrorBody, "description": "No key, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The key lacks the needed scope."},
    404: {"model": ErrorBody, "description": "No such segment."},
    503: {"model": ErrorBody, "description": "The analytical store is busy; retry."},
}


def _sizes(request: Request) -> dict[str, dict[str, Any]]:
    try:
        with analytical_store(request) as store:
            return {
                r["segment_id"]: r
                for r in store.rows("SELECT segment_id, members, evaluated_at FROM segment_state")
            }
    except ApiError:
        return {}


@router.get("/segments", summary="List segments", responses=_ERRORS)
async def list_all(request: Request, store: StoreDep, key: ReadKeyDep) -> Response:
    """Every segment with its version and, when the analytical store is free, its size."""

    def load() -> dict[str, Any]:
        sizes = _sizes(request)
        data = [
            {
                "id": d.id,
                "name": d.name,
                "description": d.description,
                "version": v,
                "saved_at": saved,
                "members": sizes.get(d.id, {}).get("members"),
                "evaluated_at": sizes.get(d.id, {}).get("evaluated_at"),
            }
            for d, v, saved in list_segments(store)
        ]
        return {"data": data, "count": len(data)}

    return json_response(await run_in_threadpool(load))


@router.get("/segments/{segment_id}", summary="A segment's document", responses=_ERRORS)
async def get_one(segment_id: str, request: Request, store: StoreDep, key: ReadKeyDep) -> Response:
    """The current document and version of a segment, with its size."""

    def load() -> dict[str, Any]:
        definition, version = get_segment(store, segment_id)
        size = _sizes(request).get(segment_id, {})
        return {
            "version": version,
            "definition": definition.model_dump(mode="json"),
            "members": size.get("members"),
            "evaluated_at": size.get("evaluated_at"),
        }

    return json_response(await run_in_threadpool(load))


@router.get("/segments/{segment_id}/members", summary="A segment's members", responses=_ERRORS)
async def members(
    segment_id: str,
    request: Request,
    store: StoreDep,
    key: ReadKeyDep,
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
) -> Response:
    """Current members, ordered by customer id, ``limit`` at a time."""

    def load() -> dict[str, Any]:
        get_segment(store, segment_id)  # 404 for an unknown segment
        with analytical_store(request) as analytical:
            total, rows = segment_members(analytical, segment_id, limit=limit, offset=offset)
        for row in rows:
            row["monetary"] = float(row["monetary"]) if row.get("monetary") is not None else None
        return {"data": rows, "count": len(rows), "total": total, "offset": offset}

    return json_response(await run_in_threadpool(load))


@router.post("/segments", summary="Create or update a segment", status_code=201, responses=_ERRORS)
async def create(
    body: JsonBodyDep, request: Request, store: StoreDep, key: AdminKeyDep
) -> Response:
    """Validate and save a segment document (a new version if it changed) and evaluate it.
    When the analytical store is busy the document is saved and the answer is 202: run
    ``growthloop segment update`` (or retry) to evaluate it. Needs the ``admin`` scope."""

    def work() -> tuple[int, dict[str, Any]]:
        definition = parse_segment(body.data)
        try:
            with analytical_store(request, write=True) as analytical:
                version, changed, change = create_segment(
                    analytical=analytical, operational=store, definition=definition
                )
            return 201, {
                "id": definition.id,
                "version": version,
                "changed": changed,
                "evaluated": True,
                "members": change.members,
            }
        except ApiError as exc:
            if exc.status != 503:
                raise
        except StoreError:
            pass
        version, changed = save_segment(store=store, definition=definition)
        return 202, {
            "id": definition.id,
            "version": version,
            "changed": changed,
            "evaluated": False,
            "message": "saved; the analytical store was busy, so membership will be "
            "computed by the next `growthloop segment update`",
        }

    try:
        status, payload = await run_in_threadpool(work)
    except SegmentError as exc:
        raise ApiError(400, "invalid_segment", str(exc)) from None
    return json_response(payload, status=status)
