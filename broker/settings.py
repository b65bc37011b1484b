"""The broker's own settings, read and checked once when the service starts (a typo in
LOG_TRANSPORT stops the service at start instead of failing every request)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider

LOG_TRANSPORTS = ("rabbit", "rpc", "grpc")


@dataclass(frozen=True)
class BrokerSettings:
    log_transport: str
    mail_enabled: bool

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BrokerSettings:
        transport = str(config.get("LOG_TRANSPORT", "rabbit")).lower()
        if transport not in LOG_TRANSPORTS:
            raise ValueError(f"LOG_TRANSPORT must be one of {LOG_TRANSPORTS}, not {transport!r}")
        mail_enabled = config.get("BROKER_MAIL_ENABLED", True)
        if not isinstance(mail_enabled, bool):
            raise ValueError(f"BROKER_MAIL_ENABLED must be true or false, not {mail_enabled!r}")
        return cls(log_transport=transport, mail_enabled=mail_enabled)


class Settings(DependencyProvider):
    def setup(self) -> None:
        self.settings = BrokerSettings.from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> BrokerSettings:
        return self.settings
