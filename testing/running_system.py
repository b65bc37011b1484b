"""What the `running_system` fixture (root conftest) gives a test: where every part answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunningSystem:
    broker_port: int
    page_port: int
    xmlrpc_port: int  # the logger's XML-RPC server
    grpc_target: str  # the logger's gRPC server, host:port
    broker_url: str
    page_url: str
    mail_ui_url: str
    mongo_database: str
    amqp_uri: str
    # Where each service answers /metrics and /health: "host:port" by service name.
    ops_addresses: dict[str, str]
