"""MongoDB as a Nameko dependency: one MongoClient per service process, shared by every worker."""

from __future__ import annotations

from typing import Any

import pymongo
from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from common.readiness import CHECK_TIMEOUT, Check, run_check
from common.settings import settings_for
from logger.group_commit import GroupCommit, entry_writer
from logger.metered_store import MeteredLogStore
from logger.settings import LoggerSettings
from logger.storage import LogStore, mongo_client


class LogStorage(DependencyProvider):
    """Injects a `LogStore` over `MONGO_DATABASE` (config keys MONGO_URI, MONGO_TIMEOUT_MS,
    MONGO_SORTS_ALL_MATCHES).

    The client is thread-safe and pools its connections, so all workers share one store; it is
    created when the container starts and closed when it stops.
    """

    def __init__(self) -> None:
        self.client: MongoClient | None = None
        self.store: LogStore | None = None

    def setup(self) -> None:
        settings = settings_for(self.container, LoggerSettings)
        self.client = mongo_client(settings.mongo_uri, settings.mongo_timeout_ms)
        self.store = MeteredLogStore(
            self.client[settings.mongo_database],
            sorts_all_matches=settings.mongo_sorts_all_matches,
        )

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> LogStore:
        return self.store

    def readiness(self) -> dict[str, Check]:
        def probe() -> str:
            assert self.client is not None, "stopped"
            with pymongo.timeout(CHECK_TIMEOUT):
                self.client.admin.command("ping")
            return "ping answered"

        return {"mongodb": run_check(probe)}


class GroupedLogWrites(DependencyProvider):
    """Injects a `GroupCommit` over the store of the service's dependency named `storage`:
    `submit({"name", "data"})` returns once the entry is stored, in one `insert_many` with
    whatever other workers submitted meanwhile (logger/group_commit.py). For the hot write paths,
    where many callers each wait for one entry.
    """

    def __init__(self, storage: str = "storage") -> None:
        self.storage = storage
        self.writer: GroupCommit | None = None

    def get_dependency(self, worker_ctx: Any) -> GroupCommit:
        if self.writer is None:  # at the first worker: every provider is set up by then
            (storage,) = (d for d in self.container.dependencies if d.attr_name == self.storage)
            self.writer = entry_writer(storage.get_dependency(worker_ctx))
        return self.writer

    def stop(self) -> None:
        self.writer = None  # a restarted container writes through its new store
