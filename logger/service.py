"""The logger: stores log entries in MongoDB and reads them back.

Reachable by Nameko RPC (the listener, the broker's `GET /logs`), by auth's `user_authenticated`
event, and by XML-RPC `RPCServer.LogInfo` for the broker's `/log-rpc`. gRPC is served by the
separate process `logger.grpc_server`, writing through the same `LogStore`.
"""

from __future__ import annotations

from typing import Any

from common.errors import ServiceError
from common.rpc import rpc
from common.settings import Settings
from logger.dependencies import GroupedLogWrites, LogStorage
from logger.event_handlers import event_handler
from logger.payloads import authentication_entry, log_info_entry
from logger.settings import LoggerSettings
from logger.storage import DEFAULT_LIMIT, LogRecord
from logger.xmlrpc import xmlrpc


class LoggerService:
    name = "logger"

    settings = Settings(LoggerSettings)
    storage = LogStorage()
    grouped_writes = GroupedLogWrites()

    @rpc(expected_exceptions=ServiceError)
    def write_log(self, name: str, data: str) -> LogRecord:
        return self.storage.insert(name, data)

    @rpc(expected_exceptions=ServiceError)
    def write_logs(self, entries: list[dict[str, str]]) -> int:
        """Store a batch of `{"name", "data"}` in one write; returns how many were stored."""
        return self.storage.insert_many(entries)

    @rpc(expected_exceptions=ServiceError)
    def all(self, limit: int = DEFAULT_LIMIT) -> list[LogRecord]:
        return self.storage.all(limit)

    @rpc(expected_exceptions=ServiceError)
    def get(self, entry_id: str) -> LogRecord:
        return self.storage.get(entry_id)

    @rpc(expected_exceptions=ServiceError)
    def update(self, entry_id: str, name: str, data: str) -> LogRecord:
        return self.storage.update(entry_id, name, data)

    @rpc(expected_exceptions=ServiceError)
    def drop(self) -> None:
        self.storage.drop()

    @event_handler("auth", "user_authenticated", expected_exceptions=ServiceError)
    def on_user_authenticated(self, event: dict[str, Any]) -> None:
        entry = authentication_entry(event)
        self.storage.insert(entry.name, entry.data)

    @xmlrpc("RPCServer.LogInfo", expected_exceptions=ServiceError)
    def log_info(self, payload: dict[str, Any]) -> str:
        entry = log_info_entry(payload)
        self.grouped_writes.submit({"name": entry.name, "data": entry.data})
        return f"Processed payload via RPC: {entry.name}"
