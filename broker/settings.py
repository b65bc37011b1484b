"""The broker's settings, checked once when the service starts: a typo in LOG_TRANSPORT stops the
service at start instead of failing every request. Defaults are in broker/config.yaml. The JWT_*
settings (common/tokens.py) are auth's: the broker checks the tokens auth signs.

The RPC deadlines (AUTH_RPC_TIMEOUT, LOGGER_RPC_TIMEOUT, MAILER_RPC_TIMEOUT) are read and checked
by each `common.rpc.TimeoutRpcProxy`, which is told its key.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from common.settings import Count, HostAndPort, Seconds, one_of
from common.tokens import TokenSettings

LOG_TRANSPORTS = ("rabbit", "rpc", "grpc")


class BrokerSettings(TokenSettings):
    service = "broker"

    log_transport: Annotated[str, AfterValidator(one_of(*LOG_TRANSPORTS))]
    broker_mail_enabled: bool
    # Exact origins or glob patterns, separated by spaces or commas (broker/cors.py).
    cors_allowed_origins: str
    rabbit_publish_connections: Count
    rabbit_publish_timeout: Seconds
    logger_xmlrpc_url: str
    logger_xmlrpc_timeout: Seconds
    logger_grpc_target: HostAndPort
    logger_grpc_timeout: Seconds
    # Sent to the logger's XML-RPC and gRPC doors (common/door_token.py); "" sends none.
    logger_door_token: str = Field(repr=False)
    # Peers whose X-Forwarded-For names the client (broker/access.py), space or comma separated.
    trusted_proxies: str

    @property
    def trusted_proxy_addresses(self) -> frozenset[str]:
        return frozenset(self.trusted_proxies.replace(",", " ").split())
