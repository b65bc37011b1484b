"""The LogStore every logger process uses, timing its MongoDB writes (common/metrics.py)."""

from __future__ import annotations

from typing import Any

from common import metrics
from logger.storage import LogStore


class MeteredLogStore(LogStore):
    """LogStore timing its writes into `logger_mongo_write_duration_seconds`."""

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        with metrics.MONGO_WRITE_DURATION.labels("insert_one").time():
            return super().insert(*args, **kwargs)

    def insert_many(self, *args: Any, **kwargs: Any) -> Any:
        with metrics.MONGO_WRITE_DURATION.labels("insert_many").time():
            return super().insert_many(*args, **kwargs)
