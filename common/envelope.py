"""The JSON envelope every HTTP response of the system uses: {"error", "message", "data"?}."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

JSON_MIMETYPE = "application/json"


def envelope(message: str, *, error: bool = False, data: Any = None) -> dict[str, Any]:
    """Build the envelope; `data` is left out when it is empty, as the contract says."""
    body: dict[str, Any] = {"error": error, "message": message}
    if data is not None and data != {} and data != []:
        body["data"] = data
    return body


def json_response(
    status: int,
    message: str,
    *,
    error: bool = False,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A werkzeug Response carrying the envelope as JSON."""
    payload = json.dumps(envelope(message, error=error, data=data), default=str)
    return Response(payload, status=status, headers=headers, mimetype=JSON_MIMETYPE)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, message, error=True, headers=headers)
