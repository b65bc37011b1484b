"""Turn a message body into a log entry with the same rules as every other transport."""

from __future__ import annotations

from common.validation import LogEntry, parse_json_object, validate


def parse_log_entry(body: bytes) -> LogEntry:
    """The `{"name", "data"}` entry in `body`; raises `InvalidInput` saying what is wrong."""
    return validate(LogEntry, parse_json_object(body))
