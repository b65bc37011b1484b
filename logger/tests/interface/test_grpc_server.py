"""`python -m logger.grpc_server` as its own process, called by a plain client program with the
stub generated from protos/, as another program would call it."""

import signal
import uuid

import pymongo
import pytest

from common.validation import MAX_LOG_DATA_BYTES
from testing.grpc_client import call_from_plain_process
from testing.grpc_server import grpc_server_process
from testing.infrastructure import MONGO_URI
from testing.ports import free_port


@pytest.fixture
def grpc_server(mongo_database):
    with grpc_server_process(mongo_database) as server:
        yield server


def test_write_log_stores_the_entry(grpc_server, logs):
    outcomes = call_from_plain_process(grpc_server.address, [{"name": "event", "data": "payload"}])

    assert outcomes == [{"code": "OK", "result": "logged!"}]
    document = logs.find_one()
    assert (document["name"], document["data"]) == ("event", "payload")
    assert document["created_at"] == document["updated_at"]


def test_concurrent_calls_over_one_channel_are_all_stored(grpc_server, logs):
    calls = [{"name": f"event-{number}", "data": "payload"} for number in range(200)]

    outcomes = call_from_plain_process(grpc_server.address, calls, concurrency=64)

    assert outcomes == [{"code": "OK", "result": "logged!"}] * 200
    assert sorted(logs.distinct("name")) == sorted(call["name"] for call in calls)


BAD_INPUT = {
    "empty-name": ("", "payload", "name must not be empty"),
    "long-name": ("x" * 256, "payload", "name must be at most 255 characters"),
    "big-data": ("event", "x" * (MAX_LOG_DATA_BYTES + 1), "data must be at most 64 KiB"),
}


@pytest.fixture(scope="module")
def bad_input_outcomes():
    """Every bad call made once, by one client process against one server."""
    database = f"logs_test_{uuid.uuid4().hex[:12]}"
    with grpc_server_process(database) as server:
        calls = [{"name": name, "data": data} for name, data, _ in BAD_INPUT.values()]
        outcomes = call_from_plain_process(server.address, calls)
    client = pymongo.MongoClient(MONGO_URI)
    stored = client[database]["logs"].count_documents({})
    client.drop_database(database)
    client.close()
    return dict(zip(BAD_INPUT, outcomes, strict=True)), stored


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_invalid_argument_naming_the_field(bad_input_outcomes, case):
    outcomes, stored = bad_input_outcomes

    assert outcomes[case] == {"code": "INVALID_ARGUMENT", "details": BAD_INPUT[case][2]}
    assert stored == 0


def test_storage_down_is_unavailable(mongo_database):
    dead_mongo = f"mongodb://127.0.0.1:{free_port()}"
    with grpc_server_process(
        mongo_database, MONGO_URI=dead_mongo, MONGO_TIMEOUT_MS="300"
    ) as server:
        outcomes = call_from_plain_process(server.address, [{"name": "event", "data": "payload"}])

    assert outcomes == [{"code": "UNAVAILABLE", "details": "log storage is unavailable"}]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_gracefully(grpc_server, signum):
    assert grpc_server.stop(signum) == 0
    assert "gRPC LogService stopped" in grpc_server.output()
