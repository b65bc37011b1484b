"""Access tokens for tests, signed with the key of broker/config.yaml (the development key every
test's broker checks with), without signing in: no auth call, no `authentication` log entry."""

from __future__ import annotations

from broker.settings import BrokerSettings


def bearer_headers(subject: str = "1") -> dict[str, str]:
    keys = BrokerSettings.from_config_file().token_keys
    return {"Authorization": f"Bearer {keys.issue(subject)}"}
