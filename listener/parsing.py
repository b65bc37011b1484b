"""Turn message bodies into log entries with the same rules as every other transport."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from common.errors import InvalidInput
from common.validation import LogEntry, parse_json_object, validate
from listener.deliveries import Delivery


def parse_log_entry(body: bytes) -> LogEntry:
    """The `{"name", "data"}` entry in `body`; raises `InvalidInput` saying what is wrong."""
    return validate(LogEntry, parse_json_object(body))


@dataclass
class ParsedBatch:
    """A batch of deliveries sorted out: the entries to store, and the bodies that are not one."""

    valid: list[tuple[Delivery, LogEntry]] = field(default_factory=list)
    invalid: list[tuple[Delivery, str]] = field(default_factory=list)  # with the reason

    def entries(self) -> list[dict[str, str]]:
        """The valid entries as the logger's `write_logs` takes them."""
        return [entry.model_dump() for _, entry in self.valid]


def parse_batch(deliveries: Iterable[Delivery]) -> ParsedBatch:
    batch = ParsedBatch()
    for delivery in deliveries:
        try:
            batch.valid.append((delivery, parse_log_entry(delivery.body)))
        except InvalidInput as exc:
            batch.invalid.append((delivery, f"invalid log entry: {exc.message}"))
    return batch
