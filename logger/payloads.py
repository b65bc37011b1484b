"""The shapes log entries arrive in besides plain (name, data), each turned into a `LogEntry`
with the shared rules of `common.validation`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from common.log_topology import DEFAULT_LOG_LEVEL
from common.validation import AnId, LogEntry, LogEvent, LogLevel, Payload, validate


class LogInfoPayload(LogEntry):
    """`RPCServer.LogInfo`'s argument: the Go client's struct `{"Name": ..., "Data": ...}`, and
    optionally "Level" (the broker sends it; the Go client does not).

    Same fields and rules as `LogEntry`, only capitalised, so messages name the struct's fields.
    """

    model_config = ConfigDict(alias_generator=str.capitalize)

    level: LogLevel = DEFAULT_LOG_LEVEL


class UserAuthenticated(Payload):
    """auth's `user_authenticated` event (other keys, if any, are ignored). `event_id`, set by
    auth when it dispatches, stays the same through redeliveries: the entry is stored once."""

    email: str
    event_id: AnId | None = None


def log_info_entry(payload: Any) -> LogEntry:
    return validate(LogInfoPayload, payload, "payload")


def authentication_event(event: Any) -> LogEvent:
    user = validate(UserAuthenticated, event, "event")
    entry = {"name": "authentication", "data": f"{user.email} logged in", "id": user.event_id}
    return validate(LogEvent, entry)
