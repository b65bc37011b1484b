"""The door token (common/door_token.py) on the broker's gRPC channel to the logger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from common.door_token import METADATA_KEY, authorization_value


class DoorTokenClientInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds the door token to every call's metadata (the broker's channel to the logger)."""

    def __init__(self, token: str) -> None:
        self._metadata = (METADATA_KEY, authorization_value(token))

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        metadata = [*(client_call_details.metadata or ()), self._metadata]
        return continuation(client_call_details._replace(metadata=metadata), request)
