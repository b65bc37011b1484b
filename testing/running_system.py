"""What the `running_system` fixture (root conftest) gives a test: where every part answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunningSystem:
    broker_url: str
    page_url: str
    mail_ui_url: str
    mongo_database: str
    amqp_uri: str
    # Where each service answers /metrics and /health: "host:port" by service name.
    ops_addresses: dict[str, str]
