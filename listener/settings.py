"""The listener's settings, checked once when the service starts. Defaults are in
listener/config.yaml.

Its two extensions each read their own part, so that either can be used alone: the batching
entrypoint `BatchLimits` (BATCH_*), the redelivery provider `RetryPolicy` (RETRY_*). The logger's
RPC deadline (LOGGER_RPC_TIMEOUT) is read by `common.rpc.TimeoutRpcProxy`.
"""

from __future__ import annotations

from pydantic import Field

from listener.consumer import BatchLimits
from listener.retries import RetryPolicy


class ListenerSettings(BatchLimits, RetryPolicy):
    service = "listener"

    # Nameko's own key, declared here for the commands that reach RabbitMQ without Nameko
    # (`python -m listener.dead_letters`).
    # Not repr'd, nor shown in errors: the URI may carry a password.
    amqp_uri: str = Field(min_length=1, repr=False)
