"""Group commit (logger/group_commit.py) with many concurrent callers (green threads here, as in
the Nameko service; the gRPC server process runs it on OS threads: test_grpc_server.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest.mock import Mock

import pytest

from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput
from logger.group_commit import GroupCommit, store_entries


class SlowWriter:
    """Records each batch; the first write waits until released, so callers queue behind it."""

    def __init__(self, fail: set[Any] = frozenset()) -> None:
        self.batches: list[list[Any]] = []
        self.release = threading.Event()
        self.writing = threading.Event()
        self.fail = fail

    def __call__(self, items: list[Any]) -> list[Any]:
        self.batches.append(list(items))
        self.writing.set()
        assert self.release.wait(10)
        return [
            InvalidInput(f"bad {item}") if item in self.fail else f"ok {item}" for item in items
        ]


def test_a_caller_alone_is_written_at_once_as_a_batch_of_one() -> None:
    writer = SlowWriter()
    writer.release.set()
    commit = GroupCommit(writer)

    assert commit.submit("a") == "ok a"
    assert commit.submit("b") == "ok b"
    assert writer.batches == [["a"], ["b"]]


def queue_behind_first(commit: GroupCommit, writer: SlowWriter, items: list[str]) -> list[Any]:
    """Submit "first", then `items` while it is being written; the outcomes of all, in order."""

    def outcome(item: str) -> Any:
        try:
            return commit.submit(item)
        except Exception as exc:  # what the caller of `item` got
            return exc

    with ThreadPoolExecutor(len(items) + 1) as pool:
        first = pool.submit(outcome, "first")
        assert writer.writing.wait(5)
        rest = [pool.submit(outcome, item) for item in items]
        while len(commit._queue) < len(items):  # every one queued behind the write
            threading.Event().wait(0.01)
        writer.release.set()
        return [first.result(10)] + [future.result(10) for future in rest]


def test_callers_arriving_during_a_write_are_written_together_next() -> None:
    writer = SlowWriter()
    outcomes = queue_behind_first(GroupCommit(writer), writer, ["a", "b", "c"])

    assert outcomes == ["ok first", "ok a", "ok b", "ok c"]
    assert writer.batches[0] == ["first"]
    assert sorted(writer.batches[1]) == ["a", "b", "c"]
    assert len(writer.batches) == 2


def test_batches_are_bounded_and_every_queued_caller_is_answered() -> None:
    writer = SlowWriter()
    items = [str(number) for number in range(7)]
    outcomes = queue_behind_first(GroupCommit(writer, max_batch=3), writer, items)

    assert outcomes == ["ok first"] + [f"ok {item}" for item in items]
    assert [len(batch) for batch in writer.batches] == [1, 3, 3, 1]


def test_an_error_reaches_exactly_the_callers_whose_items_failed() -> None:
    writer = SlowWriter(fail={"b"})
    outcomes = queue_behind_first(GroupCommit(writer), writer, ["a", "b", "c"])

    assert outcomes[:2] == ["ok first", "ok a"]
    assert isinstance(outcomes[2], InvalidInput) and outcomes[2].message == "bad b"
    assert outcomes[3] == "ok c"


def test_a_batch_that_fails_whole_fails_its_callers_and_the_next_batch_still_runs() -> None:
    calls: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 2:
            raise DownstreamUnavailable("log storage is unavailable")
        return [f"ok {item}" for item in items]

    commit = GroupCommit(write)
    assert commit.submit("w") == "ok w"
    with pytest.raises(DownstreamUnavailable):
        commit.submit("x")
    assert commit.submit("y") == "ok y"
    assert calls == [["w"], ["x"], ["y"]]


def test_many_threads_all_get_their_own_result() -> None:
    batches: list[int] = []

    def write(items: list[int]) -> list[int]:
        batches.append(len(items))
        threading.Event().wait(0.002)  # a round trip: others queue meanwhile
        return [item * 2 for item in items]

    commit = GroupCommit(write)
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(commit.submit, range(2000)))

    assert results == [item * 2 for item in range(2000)]
    assert sum(batches) == 2000
    assert max(batches) > 1  # concurrent callers shared round trips
    assert not commit._queue and not commit._writing


def test_store_entries_writes_a_batch_with_one_insert_many() -> None:
    store = Mock()
    entries = [{"name": "a", "data": "1"}, {"name": "b", "data": "2"}]

    assert store_entries(store)(entries) == [None, None]
    store.insert_many.assert_called_once_with(entries)


def test_store_entries_fails_the_whole_batch_when_storage_is_unavailable() -> None:
    store = Mock()
    store.insert_many.side_effect = DownstreamUnavailable("log storage is unavailable")

    with pytest.raises(DownstreamUnavailable):
        store_entries(store)([{"name": "a"}, {"name": "b"}])
    assert store.insert_many.call_count == 1  # not once more per entry: it is down


def test_store_entries_finds_the_failing_entries_one_by_one() -> None:
    store = Mock()
    failure = DownstreamError("log storage failed")

    def insert_many(entries: list[dict[str, str]]) -> int:
        if any(entry["name"] == "bad" for entry in entries):
            raise failure
        return len(entries)

    store.insert_many.side_effect = insert_many
    entries = [{"name": "a"}, {"name": "bad"}, {"name": "c"}]

    assert store_entries(store)(entries) == [None, failure, None]
