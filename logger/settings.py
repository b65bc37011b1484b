"""The logger's settings, checked once when the service starts, and read through the same model
by the gRPC server process (`python -m logger.grpc_server`). Defaults are in logger/config.yaml."""

from __future__ import annotations

from pydantic import Field

from common.settings import Count, HostAndPort, Seconds, ServiceSettings


class LoggerSettings(ServiceSettings):
    service = "logger"

    # Not repr'd, nor shown in errors: the URI may carry a password.
    mongo_uri: str = Field(min_length=1, repr=False)
    mongo_database: str = Field(min_length=1)
    # Milliseconds to find a server or finish an operation.
    mongo_timeout_ms: Count
    # True for SecantusDB, which sorts every match of a query before applying its limit: reads
    # then go through narrow time windows (logger/windowed_reader.py). False for MongoDB.
    mongo_sorts_all_matches: bool
    logger_xmlrpc_address: HostAndPort
    logger_grpc_address: HostAndPort
    logger_grpc_workers: Count
    # What XML-RPC and gRPC callers must present; "" leaves them open (common/door_token.py).
    logger_door_token: str = Field(repr=False)
    # Seconds between the gRPC server's MongoDB pings (its grpc.health.v1 status).
    logger_grpc_health_interval: Seconds
    # host:port of the gRPC server's /metrics; empty: none.
    grpc_metrics_address: str
