"""The shapes log entries arrive in besides plain (name, data), each turned into a `LogEntry`
with the shared rules of `common.validation`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from common.validation import LogEntry, Payload, validate


class LogInfoPayload(LogEntry):
    """`RPCServer.LogInfo`'s argument: the Go client's struct `{"Name": ..., "Data": ...}`.

    Same fields and rules as `LogEntry`, only capitalised, so messages name the struct's fields.
    """

    model_config = ConfigDict(alias_generator=str.capitalize)


class UserAuthenticated(Payload):
    """auth's `user_authenticated` event (other keys, if any, are ignored)."""

    email: str


def log_info_entry(payload: Any) -> LogEntry:
    return validate(LogInfoPayload, payload, "payload")


def authentication_entry(event: Any) -> LogEntry:
    user = validate(UserAuthenticated, event, "event")
    return validate(LogEntry, {"name": "authentication", "data": f"{user.email} logged in"})
