"""The group-commit batcher, with (green) threads standing in for listener workers."""

import threading
from collections.abc import Callable
from typing import Any

import pytest

from listener.batching import BatchAbandoned, GroupCommit


class Recorder:
    """A flush function that records each batch it is given."""

    def __init__(self, result: Any = "stored", error: BaseException | None = None) -> None:
        self.batches: list[list[Any]] = []
        self.result = result
        self.error = error

    def __call__(self, items: list[Any]) -> Any:
        self.batches.append(list(items))
        if self.error is not None:
            raise self.error
        return self.result


def submit_concurrently(
    batcher: GroupCommit, items: list[Any], flush: Callable[[list[Any]], Any]
) -> dict[Any, tuple[str, Any]]:
    """Submit each item from its own thread; its outcome is ("ok", result) or ("error", exc)."""
    outcomes: dict[Any, tuple[str, Any]] = {}

    def submit(item: Any) -> None:
        try:
            outcomes[item] = ("ok", batcher.submit(item, flush))
        except BaseException as exc:
            outcomes[item] = ("error", exc)

    threads = [threading.Thread(target=submit, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_lone_item_is_flushed_after_the_linger_and_gets_the_result():
    flush = Recorder(result=1)
    assert GroupCommit(max_size=10, linger=0.01).submit("a", flush) == 1
    assert flush.batches == [["a"]]


def test_a_full_batch_is_written_once_and_every_member_gets_the_result():
    flush = Recorder(result=4)
    # A long linger that must not be waited for: the fourth item fills the batch.
    outcomes = submit_concurrently(GroupCommit(max_size=4, linger=30), list("abcd"), flush)
    assert flush.batches == [list("abcd")]
    assert outcomes == {item: ("ok", 4) for item in "abcd"}


def test_items_arriving_during_the_linger_join_the_leaders_batch():
    flush = Recorder()
    submit_concurrently(GroupCommit(max_size=100, linger=0.2), list("abc"), flush)
    assert flush.batches == [list("abc")]


def test_batches_never_exceed_the_maximum_size():
    flush = Recorder()
    items = list(range(7))
    outcomes = submit_concurrently(GroupCommit(max_size=3, linger=0.05), items, flush)
    assert sorted(len(batch) for batch in flush.batches) == [1, 3, 3]
    assert sorted(item for batch in flush.batches for item in batch) == items
    assert all(outcome == ("ok", "stored") for outcome in outcomes.values())


def test_a_failure_is_raised_in_every_member_of_the_batch():
    error = ConnectionError("MongoDB is down")
    flush = Recorder(error=error)
    outcomes = submit_concurrently(GroupCommit(max_size=3, linger=30), list("abc"), flush)
    assert len(flush.batches) == 1
    assert outcomes == {item: ("error", error) for item in "abc"}


def test_items_arriving_while_a_batch_is_written_start_the_next_batch():
    batcher = GroupCommit(max_size=10, linger=0)
    writing, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def slow_flush(items: list[str]) -> None:
        batches.append(list(items))
        writing.set()
        release.wait()

    first = threading.Thread(target=batcher.submit, args=("first", slow_flush))
    first.start()
    writing.wait()
    second_flush = Recorder()
    second = threading.Thread(target=batcher.submit, args=("second", second_flush))
    second.start()
    second.join()  # returns while the first batch is still being written
    release.set()
    first.join()
    assert batches == [["first"]]
    assert second_flush.batches == [["second"]]


class Stopped(BaseException):
    """Like GreenletExit: the leader's thread is stopped, not failing."""


def test_members_are_released_when_the_leader_is_stopped_mid_write():
    outcomes = submit_concurrently(
        GroupCommit(max_size=2, linger=30), ["leader", "member"], Recorder(error=Stopped())
    )
    kinds = sorted((type(exc).__name__) for _, exc in outcomes.values())
    assert kinds == [BatchAbandoned.__name__, Stopped.__name__]


def test_the_batcher_is_reusable_after_a_failure():
    batcher = GroupCommit(max_size=10, linger=0)
    with pytest.raises(ConnectionError):
        batcher.submit("a", Recorder(error=ConnectionError()))
    assert batcher.submit("b", Recorder(result="ok")) == "ok"


@pytest.mark.parametrize(
    ("max_size", "linger", "message"),
    [
        (0, 0.01, "max_size must be at least 1"),
        (10, -1, "linger must not be negative"),
    ],
)
def test_invalid_settings_are_refused(max_size, linger, message):
    with pytest.raises(ValueError, match=message):
        GroupCommit(max_size=max_size, linger=linger)
