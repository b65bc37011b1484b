"""The door token (common/door_token.py) on the logger's gRPC server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from common.door_token import METADATA_KEY, REFUSED, presented_ok

# The standard health service answers probes (Kubernetes' native `grpc` probe sends no
# metadata); it tells only whether the server is serving, and writes nothing.
OPEN_METHODS_PREFIX = "/grpc.health.v1.Health/"


class DoorTokenInterceptor(grpc.ServerInterceptor):
    """Refuses, with UNAUTHENTICATED, every call without the door token in its metadata, but
    the health checks."""

    def __init__(self, token: str) -> None:
        self._token = token

        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)

        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        if handler_call_details.method.startswith(OPEN_METHODS_PREFIX):
            return continuation(handler_call_details)
        metadata = dict(handler_call_details.invocation_metadata or ())
        if presented_ok(self._token, metadata.get(METADATA_KEY)):
            return continuation(handler_call_details)
        return self._refusal
