"""WriteLog's answers, with the store mocked (the server process itself: tests/interface)."""

from unittest.mock import Mock

import grpc
import pytest

from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput
from logger.grpc_server import LogService
from protos import logs_pb2


class Aborted(Exception):
    """What grpc's context.abort does: raise, so the handler stops there."""


class FakeContext:
    def __init__(self, metadata=()):
        self.metadata = metadata

    def invocation_metadata(self):
        return self.metadata

    def abort(self, code, details):
        raise Aborted(code, details)


def write_log(store, name="event", data="payload", level="", metadata=()):
    request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name=name, data=data, level=level))
    return LogService(store).WriteLog(request, FakeContext(metadata))


def test_write_log_stores_the_entry_and_answers_logged():
    store = Mock()

    metadata = (("idempotency-key", "key-1"), ("x-request-id", "req-1"))
    assert write_log(store, level="ERROR", metadata=metadata).result == "logged!"
    store.insert_many.assert_called_once_with(
        [
            {
                "name": "event",
                "data": "payload",
                "id": "key-1",
                "level": "ERROR",
                "request_id": "req-1",
            }
        ]
    )


def test_a_caller_without_ids_or_level_gets_fresh_ids_and_info():
    store = Mock()
    write_log(store)
    (entry,) = store.insert_many.call_args.args[0]
    assert entry["level"] == "INFO"
    assert len(entry["id"]) == len(entry["request_id"]) == 32


def test_write_log_refuses_an_invalid_entry_without_storing_anything():
    store = Mock()

    with pytest.raises(Aborted) as aborted:
        write_log(store, name="")

    assert aborted.value.args[0] == grpc.StatusCode.INVALID_ARGUMENT
    store.insert_many.assert_not_called()


def test_an_invalid_idempotency_key_is_an_invalid_argument():
    with pytest.raises(Aborted) as aborted:
        write_log(Mock(), metadata=(("idempotency-key", "x" * 129),))
    assert aborted.value.args[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert aborted.value.args[1].startswith("idempotency-key must be 1 to 128")


@pytest.mark.parametrize(
    ("error", "code", "details"),
    [
        (
            InvalidInput("name must not be empty"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "name must not be empty",
        ),
        (
            DownstreamUnavailable("log storage is unavailable"),
            grpc.StatusCode.UNAVAILABLE,
            "log storage is unavailable",
        ),
        (DownstreamError("log storage failed"), grpc.StatusCode.INTERNAL, "log storage failed"),
        (RuntimeError("secret internals"), grpc.StatusCode.INTERNAL, "internal error"),
    ],
    ids=["invalid", "storage-down", "storage-error", "unexpected"],
)
def test_failures_become_status_codes_without_internals(error, code, details):
    store = Mock()
    store.insert_many.side_effect = error

    with pytest.raises(Aborted) as aborted:
        write_log(store)

    assert aborted.value.args == (code, details)
