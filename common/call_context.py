"""What a worker's caller sent along in Nameko's context data, as a dependency.

The HTTP core puts the request id there (`common.web.server`), the XML-RPC door also the
caller's idempotency key; Nameko passes context data on with every RPC and event a worker makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider

from common.ids import IDEMPOTENCY_KEY_CONTEXT_KEY, REQUEST_ID_CONTEXT_KEY


@dataclass(frozen=True)
class CallIds:
    request_id: str | None = None
    idempotency_key: str | None = None


class CallContext(DependencyProvider):
    """Injects the current call's `CallIds`."""

    def get_dependency(self, worker_ctx: Any) -> CallIds:
        data = worker_ctx.data
        return CallIds(data.get(REQUEST_ID_CONTEXT_KEY), data.get(IDEMPOTENCY_KEY_CONTEXT_KEY))
