"""Error bodies of the API: one JSON shape for every 4xx and 5xx, never a traceback.

``{"error": "...", "code": "...", "message": "...", "details": [...]}``: ``error`` says what is
wrong and how to fix it; ``message`` repeats it and ``code`` names the kind, because Segment's
libraries (analytics-python) print those two fields; ``details`` lists per-message problems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

__all__ = ["ApiError", "ErrorBody", "ErrorDetail", "error_response", "json_response"]


class ErrorDetail(BaseModel):
    """One problem of one message."""

    index: int | None = Field(description="Position in `batch` (0 for a single message); "
                              "null for the request as a whole.")
    field: str | None = Field(description="The field at fault, as a dotted path.")
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(description="What is wrong and how to fix it.")
    code: str = Field(description="Kind of error, e.g. invalid_request, payload_too_large.")
    message: str = Field(description="Same as `error` (read by Segment's libraries).")
    details: list[ErrorDetail] = Field(default_factory=list)


class ApiError(Exception):
    """Raised by routes and dependencies; rendered by :func:`error_response`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, details=self.details,
                              headers=self.headers, **self.extra)


def json_response(
    content: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(orjson.dumps(content), status_code=status, headers=headers,
                    media_type="application/json")


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The JSON error body (see the module doc)."""
    body = {"error": message, "code": code, "message": message, "details": list(details), **extra}
    return json_response(body, status, headers)
