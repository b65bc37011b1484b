"""Group commit: many concurrent callers, one write.

Each listener worker holds one message that it may acknowledge only once its entry is stored.
Storing entries one at a time caps the drain rate at one logger round trip (RPC + MongoDB insert)
per message. Instead the first caller to arrive leads a batch: it waits a short linger, or until
the batch is full, for others to join, writes the whole batch with one call, and hands every
member the outcome. The price is at most `linger` seconds of extra latency per message.

Built on `threading` primitives, which are green under eventlet's monkey patching (Nameko
workers) and real otherwise, so this module needs no Nameko to be tested.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class BatchAbandoned(Exception):
    """The leader of a batch was stopped (e.g. its thread killed) before the batch was written."""


@dataclass(eq=False)
class _Batch(Generic[Item]):
    items: list[Item] = field(default_factory=list)
    full: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    def __init__(self, max_size: int, linger: float) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if linger < 0:
            raise ValueError("linger must not be negative")
        self.max_size = max_size
        self.linger = linger
        self._lock = threading.Lock()
        self._open: _Batch[Item] | None = None

    def submit(self, item: Item, flush: Callable[[list[Item]], Result]) -> Result:
        """Add `item` to the open batch; return once the whole batch has been flushed.

        Only the leader's `flush` runs, once, with every item of the batch. Every member gets
        what it returned, or has what it raised raised in its own thread.
        """
        batch, leader = self._join(item)
        if leader:
            return self._lead(batch, flush)
        batch.done.wait()
        if batch.error is not None:
            raise batch.error
        return batch.result

    def _join(self, item: Item) -> tuple[_Batch[Item], bool]:
        with self._lock:
            leader = self._open is None
            if self._open is None:
                self._open = _Batch()
            batch = self._open
            batch.items.append(item)
            if len(batch.items) >= self.max_size:
                self._open = None
                batch.full.set()
        return batch, leader

    def _close(self, batch: _Batch[Item]) -> None:
        with self._lock:
            if self._open is batch:
                self._open = None

    def _lead(self, batch: _Batch[Item], flush: Callable[[list[Item]], Result]) -> Result:
        try:
            batch.full.wait(self.linger)
            self._close(batch)
            batch.result = flush(batch.items)
            return batch.result
        except Exception as exc:
            batch.error = exc
            raise
        except BaseException:
            batch.error = BatchAbandoned("the batch was abandoned before it was written")
            raise
        finally:
            self._close(batch)
            batch.done.set()
