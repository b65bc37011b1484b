"""Turn messages into log events with the same rules as every other transport.

A message's body is the entry (`{"name", "data"}`); its message id is the event id the broker
gave it (the key that keeps a redelivered message one entry), its routing key `log.<LEVEL>` the
level, and its `x-request-id` header the request that produced it. A message from a publisher
that set no message id gets a fresh id: such an event is stored at least once, not exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from common.errors import InvalidInput
from common.ids import REQUEST_ID_AMQP_HEADER, is_valid_id, new_id
from common.log_topology import DEFAULT_LOG_LEVEL, LOG_LEVELS
from common.validation import LogEntry, LogEvent, parse_json_object, validate
from listener.deliveries import Delivery, original_routing_key


def parse_log_entry(body: bytes) -> LogEntry:
    """The `{"name", "data"}` entry in `body`; raises `InvalidInput` saying what is wrong."""
    return validate(LogEntry, parse_json_object(body))


def parse_log_event(delivery: Delivery) -> LogEvent:
    entry = parse_log_entry(delivery.body)
    level = original_routing_key(delivery.headers, delivery.routing_key).removeprefix("log.")
    request_id = delivery.headers.get(REQUEST_ID_AMQP_HEADER)
    return LogEvent(
        name=entry.name,
        data=entry.data,
        id=delivery.message_id if is_valid_id(delivery.message_id) else new_id(),
        level=level if level in LOG_LEVELS else DEFAULT_LOG_LEVEL,
        request_id=request_id if is_valid_id(request_id) else None,
    )


@dataclass
class ParsedBatch:
    """A batch of deliveries sorted out: the entries to store, and the bodies that are not one."""

    valid: list[tuple[Delivery, LogEvent]] = field(default_factory=list)
    invalid: list[tuple[Delivery, str]] = field(default_factory=list)  # with the reason

    def entries(self) -> list[dict[str, str | None]]:
        """The valid entries as the logger's `write_logs` takes them."""
        return [event.model_dump() for _, event in self.valid]


def parse_batch(deliveries: Iterable[Delivery]) -> ParsedBatch:
    batch = ParsedBatch()
    for delivery in deliveries:
        try:
            batch.valid.append((delivery, parse_log_event(delivery)))
        except InvalidInput as exc:
            batch.invalid.append((delivery, f"invalid log entry: {exc.message}"))
    return batch
