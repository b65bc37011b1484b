"""The shared token that callers of the logger's direct doors (XML-RPC :5001, gRPC :50001) present.

These doors are for the broker (and other services inside the deployment), not for people: when
`LOGGER_DOOR_TOKEN` is set (compose and Kubernetes set it, from the Secret), a call must carry
`Authorization: Bearer <token>`, as an HTTP header for XML-RPC and as gRPC metadata
(`authorization`) for gRPC; anything else is refused (XML-RPC fault 401, gRPC UNAUTHENTICATED)
before the call is parsed. Empty (the local default, where both listen on 127.0.0.1 only) leaves
the doors open. The broker sends the token of its own LOGGER_DOOR_TOKEN. gRPC's halves are
logger/grpc_door.py and broker/grpc_door.py (grpc is not imported by every service).
"""

from __future__ import annotations

import hmac

METADATA_KEY = "authorization"
REFUSED = "a valid logger door token is required"


def authorization_value(token: str) -> str:
    return f"Bearer {token}"


def presented_ok(expected: str, authorization: str | None) -> bool:
    """Whether `authorization` (a header or metadata value) carries the expected token; always
    True when no token is expected."""
    if not expected:
        return True
    if not authorization:
        return False
    return hmac.compare_digest(authorization.encode(), authorization_value(expected).encode())
