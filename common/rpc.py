"""An RPC proxy whose calls give up after a deadline.

Nameko 2's `RpcProxy` waits for a reply forever. A caller that answers people (the broker) must
bound that wait: `TimeoutRpcProxy("auth", timeout_key="AUTH_RPC_TIMEOUT")` reads the number of
seconds from the container config, raises `DownstreamUnavailable` when no reply came in time or
when no instance of the target service exists, and publishes each request with the same expiry so
a request nobody picked up in time is dropped by RabbitMQ instead of running late.
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import MethodProxy, RpcProxy, ServiceProxy

from common.errors import DownstreamUnavailable
from common.settings import Seconds, settings_for, single_setting


class TimeoutMethodProxy(MethodProxy):
    def __init__(self, *args: Any, timeout: float, **options: Any) -> None:
        self.timeout = timeout
        super().__init__(*args, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = f"{self.service_name}.{self.method_name}"
        try:
            reply = self._call(*args, **kwargs)
        except UnknownService:
            raise DownstreamUnavailable(f"{self.service_name} service is not running") from None
        try:
            with eventlet.Timeout(self.timeout):
                return reply.result()
        except eventlet.Timeout:
            self._forget(reply)
            raise DownstreamUnavailable(
                f"{target} did not answer within {self.timeout:g} s"
            ) from None

    def _forget(self, reply: Any) -> None:
        # The reply listener keeps one event per pending call; drop ours so that abandoned calls
        # do not accumulate (a late reply is then discarded as "unknown correlation id").
        events = self.reply_listener._reply_events
        for correlation_id, event in list(events.items()):
            if event is reply.reply_event:
                del events[correlation_id]
                break


class TimeoutServiceProxy(ServiceProxy):
    def __init__(self, *args: Any, timeout: float, **options: Any) -> None:
        self.timeout = timeout
        super().__init__(*args, **options)

    def __getattr__(self, name: str) -> TimeoutMethodProxy:
        return TimeoutMethodProxy(
            self.worker_ctx,
            self.service_name,
            name,
            self.reply_listener,
            timeout=self.timeout,
            **self.options,
        )


class TimeoutRpcProxy(RpcProxy):
    def __init__(self, target_service: str, timeout_key: str, **options: Any) -> None:
        super().__init__(target_service, **options)
        self.timeout_key = timeout_key

    def setup(self) -> None:
        super().setup()
        self.timeout = settings_for(self.container, single_setting(self.timeout_key, Seconds)).value

    def get_dependency(self, worker_ctx: Any) -> TimeoutServiceProxy:
        return TimeoutServiceProxy(
            worker_ctx,
            self.target_service,
            self.rpc_reply_listener,
            timeout=self.timeout,
            expiration=self.timeout,
            **self.options,
        )
