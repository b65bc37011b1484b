"""Every way of logging, end to end: an HTTP request to the broker, then the entry read back
through `GET /logs` and straight from MongoDB."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import requests

from testing.broker_session import bearer_headers
from testing.waiting import wait_until

ROUTES = {"rabbit": "/log-rabbit", "rpc": "/log-rpc", "grpc": "/log-grpc"}
MESSAGES = {
    "rabbit": "logged via RabbitMQ",
    "rpc": "Processed payload via RPC: {name}",
    "grpc": "logged",
}


def stored_entries(logs, **query) -> list[dict]:
    """The entries matching `query`, once there is one (running_system writes to `logs`)."""
    return wait_until(lambda: list(logs.find(query)), f"an entry matching {query}", timeout=15)


@pytest.mark.parametrize("transport", ["rabbit", "rpc", "grpc"])
def test_each_transport_stores_the_entry(running_system, logs, transport):
    name, data = f"{transport}-event", f"payload {uuid.uuid4()}"
    response = requests.post(
        running_system.broker_url + ROUTES[transport], json={"log": {"name": name, "data": data}}
    )
    assert response.status_code == 202, response.text
    event_id = response.json()["data"]["id"]
    assert response.json() == {
        "error": False,
        "message": MESSAGES[transport].format(name=name),
        "data": {"id": event_id},
    }

    [stored] = stored_entries(logs, data=data)
    assert (stored["_id"], stored["name"], stored["level"]) == (event_id, name, "INFO")
    assert stored["request_id"] == response.headers["X-Request-ID"]
    assert isinstance(stored["created_at"], datetime)
    assert stored["updated_at"] == stored["created_at"]

    listed = requests.get(
        running_system.broker_url + "/logs",
        params={"name": name, "limit": 5},  # signing in logs an entry too
        headers=bearer_headers(running_system.broker_url),
    ).json()
    assert listed["error"] is False
    newest = listed["data"]["entries"][0]
    assert (newest["name"], newest["data"]) == (name, data)
    assert newest["id"] == str(stored["_id"])
    assert datetime.fromisoformat(newest["created_at"])


@pytest.mark.parametrize("transport", ["rabbit", "rpc", "grpc"])
def test_a_retry_with_the_same_idempotency_key_is_stored_once(running_system, logs, transport):
    key, request_id = f"key-{uuid.uuid4()}", f"req-{uuid.uuid4()}"
    body = {"log": {"name": "retried", "data": f"once {key}", "level": "WARNING"}}
    headers = {"Idempotency-Key": key, "X-Request-ID": request_id}
    for _ in range(3):  # a client that did not see its answers retries
        response = requests.post(
            running_system.broker_url + ROUTES[transport], json=body, headers=headers
        )
        assert response.status_code == 202, response.text
        assert response.json()["data"] == {"id": key}
        assert response.headers["X-Request-ID"] == request_id

    [stored] = stored_entries(logs, data=body["log"]["data"])
    assert (stored["_id"], stored["level"], stored["request_id"]) == (key, "WARNING", request_id)
    # The field works as the header does.
    field_body = {"log": {**body["log"], "idempotency_key": key}}
    requests.post(running_system.broker_url + ROUTES[transport], json=field_body)
    assert len(stored_entries(logs, data=body["log"]["data"])) == 1


@pytest.mark.parametrize(
    ("headers", "log", "message"),
    [
        ({"Idempotency-Key": "x" * 129}, {}, "Idempotency-Key must be 1 to 128 printable ASCII"),
        ({}, {"idempotency_key": "with space"}, "log.idempotency_key must be 1 to 128"),
        ({}, {"idempotency_key": 7}, "log.idempotency_key must be a string"),
    ],
)
def test_an_unusable_idempotency_key_is_refused(running_system, headers, log, message):
    body = {"log": {"name": "n", "data": "d", **log}}
    response = requests.post(running_system.broker_url + "/log-rabbit", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_an_unusable_request_id_is_replaced_not_echoed(running_system):
    for given in ("x" * 129, "two words", "caf\u00e9"):
        response = requests.get(
            running_system.broker_url + "/ping", headers={"X-Request-ID": given.encode()}
        )
        assert response.headers["X-Request-ID"] != given
        assert len(response.headers["X-Request-ID"]) == 32


def test_handle_log_uses_the_default_transport_rabbit(running_system, logs):
    data = f"via handle {uuid.uuid4()}"
    response = requests.post(
        running_system.broker_url + "/handle",
        json={"action": "log", "log": {"name": "handled", "data": data, "level": "WARNING"}},
    )
    assert response.status_code == 202
    assert response.json()["message"] == "logged via RabbitMQ"
    stored_entries(logs, data=data)


@pytest.mark.parametrize("route", ROUTES.values())
@pytest.mark.parametrize(
    ("log", "message"),
    [
        (None, "log is required"),
        ({"data": "d"}, "log.name is required"),
        ({"name": 3, "data": "d"}, "log.name must be a string"),
        ({"name": "n" * 256, "data": "d"}, "log.name must be at most 255 characters"),
        ({"name": "n", "data": "x" * (64 * 1024 + 1)}, "log.data must be at most 64 KiB"),
        ({"name": "n", "data": "d", "level": "LOUD"}, "log.level"),
    ],
)
def test_every_transport_applies_the_same_rules(running_system, logs, route, log, message):
    response = requests.post(running_system.broker_url + route, json={"log": log})
    assert response.status_code == 400
    assert response.json()["error"] is True
    assert message in response.json()["message"]
    assert logs.count_documents({}) == 0


def test_logs_limit_and_order(running_system):
    for number in range(3):
        requests.post(
            running_system.broker_url + "/log-rpc", json={"log": {"name": "n", "data": str(number)}}
        ).raise_for_status()
    session = requests.Session()
    session.headers.update(bearer_headers(running_system.broker_url))
    listed = session.get(running_system.broker_url + "/logs?limit=2&name=n").json()["data"]
    assert [entry["data"] for entry in listed["entries"]] == ["2", "1"]
    older = session.get(
        running_system.broker_url + "/logs", params={"name": "n", "cursor": listed["next"]}
    )
    assert [entry["data"] for entry in older.json()["data"]["entries"]] == ["0"]
    bad = session.get(running_system.broker_url + "/logs?limit=0")
    assert bad.status_code == 400
    assert "limit" in bad.json()["message"]


def test_a_successful_login_is_logged(running_system, logs):
    response = requests.post(
        running_system.broker_url + "/handle",
        json={"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}},
    )
    assert response.status_code == 202
    [entry] = stored_entries(logs, name="authentication")
    assert entry["data"] == "admin@example.com logged in"
    # The request id went broker -> auth (RPC) -> logger (event), in Nameko's context data.
    assert entry["request_id"] == response.headers["X-Request-ID"]
