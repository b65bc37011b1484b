"""`@rpc`: Nameko's RPC entrypoint, made to survive RabbitMQ going away under it.

Use it instead of `nameko.rpc.rpc`; calls and callers are unchanged. What differs:

- The service's queue (`rpc-<service>`) is a quorum queue (common/queues.py), consumed through
  `RobustQueueConsumer` (common/queue_consumer.py).
- Nameko kills the whole service when the reply to a call cannot be published (RabbitMQ
  restarting at that moment): the reply publish raises inside the worker, and an exception there
  is treated as a bug. Here a reply that cannot be sent within about a second is given up: the
  call's work is done, the caller's deadline answers it (504), and the request is acknowledged so
  that it is not run a second time. The service keeps running and consumes again as soon as
  RabbitMQ is back.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.message import Message
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    LOGIN_METHOD_CONFIG_KEY,
)

from common.amqp_uri import failover_policy
from common.queue_consumer import AMQP_ERRORS, RobustQueueConsumer
from common.queues import as_quorum
from common.signatures import CheckedOnceSignature

log = logging.getLogger(__name__)

# A publish (reply, event, request) gives up after about a second instead of Nameko's default of
# several attempts seconds apart: nothing that answers people may hang on RabbitMQ.
SHORT_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0.1,
    "interval_step": 0.3,
    "interval_max": 0.5,
}


class QuickPublisher(Publisher):
    """Nameko's Publisher, giving up after about a second when RabbitMQ is unreachable (after
    trying every node of a node list: common/amqp_uri.py)."""

    def __init__(self, amqp_uri: str, *args: Any, **options: Any) -> None:
        self.retry_policy = failover_policy(amqp_uri, SHORT_RETRY_POLICY)
        super().__init__(amqp_uri, *args, **options)

    @property
    def transport_options(self) -> dict[str, Any]:
        # A fresh dict per publish: Nameko's Publisher writes `confirm_publish` into it.
        return dict(self.retry_policy)


class QuickResponder(nameko_rpc.Responder):
    publisher_cls = QuickPublisher


class RpcConsumer(nameko_rpc.RpcConsumer):
    queue_consumer = RobustQueueConsumer()

    def setup(self) -> None:
        super().setup()
        self.queue = as_quorum(self.queue)

    def handle_result(self, message: Message, result: Any, exc_info: Any) -> tuple[Any, Any]:
        config = self.container.config
        responder = QuickResponder(
            config[AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            None,
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except AMQP_ERRORS as exc:
            log.warning(
                "reply to %s lost, RabbitMQ unavailable (%s): the caller's deadline answers it",
                message.delivery_info.get("routing_key"),
                exc,
            )
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(CheckedOnceSignature, nameko_rpc.Rpc):
    rpc_consumer = RpcConsumer()


rpc = Rpc.decorator
