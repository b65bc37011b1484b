"""The logger: stores log entries in MongoDB and reads them back.

Reachable by Nameko RPC (the listener; the broker's `GET /logs` through `page` and
`GET /logs/{id}` through `get`), by auth's `user_authenticated` event, and by XML-RPC
`RPCServer.LogInfo` for the broker's `/log-rpc`. gRPC is served by the separate process
`logger.grpc_server`, writing through the same `LogStore`.
"""

from __future__ import annotations

from typing import Any

from common.call_context import CallContext
from common.errors import ServiceError
from common.ids import new_id
from common.ops import Operations
from common.rpc import rpc
from common.settings import Settings
from common.tracing import CallTracer
from common.validation import LogEvent, validate
from logger.dependencies import GroupedLogWrites, LogStorage
from logger.event_handlers import event_handler
from logger.payloads import authentication_event, log_info_entry
from logger.settings import LoggerSettings
from logger.storage import DEFAULT_LIMIT, LogPage, LogRecord
from logger.xmlrpc import xmlrpc


class LoggerService:
    name = "logger"

    tracer = CallTracer()
    ops = Operations()
    settings = Settings(LoggerSettings)
    storage = LogStorage()
    grouped_writes = GroupedLogWrites()
    call = CallContext()

    @rpc(expected_exceptions=ServiceError)
    def write_log(
        self, name: str, data: str, event_id: str | None = None, level: str = "INFO"
    ) -> LogRecord:
        """Store one entry; an `event_id` already stored stores nothing (a retry)."""
        return self.storage.insert(
            name, data, event_id=event_id, level=level, request_id=self.call.request_id
        )

    @rpc(expected_exceptions=ServiceError)
    def write_logs(self, entries: list[dict[str, Any]]) -> int:
        """Store a batch of `{"name", "data"}` (plus optional `id`, `level`, `request_id`) in
        one write, skipping ids already stored; returns how many entries are stored."""
        return self.storage.insert_many(entries)

    @rpc(expected_exceptions=ServiceError)
    def all(self, limit: int = DEFAULT_LIMIT) -> list[LogRecord]:
        return self.storage.all(limit)

    @rpc(expected_exceptions=ServiceError)
    def page(
        self,
        level: str | None = None,
        name: str | None = None,
        since: str | None = None,
        until: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> LogPage:
        """One page of a listing, newest first, with `next`/`prev` cursors (`LogStore.page`)."""
        return self.storage.page(
            level=level, name=name, since=since, until=until, q=q, cursor=cursor, limit=limit
        )

    @rpc(expected_exceptions=ServiceError)
    def get(self, entry_id: str) -> LogRecord:
        return self.storage.get(entry_id)

    @event_handler("auth", "user_authenticated", expected_exceptions=ServiceError)
    def on_user_authenticated(self, event: dict[str, Any]) -> None:
        entry = authentication_event(event)
        self.storage.insert(
            entry.name, entry.data, event_id=entry.id, request_id=self.call.request_id
        )

    @xmlrpc("RPCServer.LogInfo", expected_exceptions=ServiceError)
    def log_info(self, payload: dict[str, Any]) -> str:
        entry = log_info_entry(payload)
        # Its id is fixed before the write, so storing it again (group commit finding which
        # entry of a failed batch failed) is a duplicate, not a second entry.
        event = {
            "name": entry.name,
            "data": entry.data,
            "id": self.call.idempotency_key or new_id(),
            "level": entry.level,
            "request_id": self.call.request_id,
        }
        self.grouped_writes.submit(validate(LogEvent, event).model_dump())
        return f"Processed payload via RPC: {entry.name}"
