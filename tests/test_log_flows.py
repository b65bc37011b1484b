"""Every way of logging, end to end: an HTTP request to the broker, then the entry read back
through `GET /logs` and straight from MongoDB."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import requests

from testing.tokens import bearer_headers
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
    assert response.json() == {"error": False, "message": MESSAGES[transport].format(name=name)}

    [stored] = stored_entries(logs, data=data)
    assert stored["name"] == name
    assert isinstance(stored["created_at"], datetime)
    assert stored["updated_at"] == stored["created_at"]

    listed = requests.get(
        running_system.broker_url + "/logs",
        params={"limit": 5},
        headers=bearer_headers(),
    ).json()
    assert listed["error"] is False
    newest = listed["data"][0]
    assert (newest["name"], newest["data"]) == (name, data)
    assert newest["id"] == str(stored["_id"])
    assert datetime.fromisoformat(newest["created_at"])


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
    headers = bearer_headers()
    listed = requests.get(running_system.broker_url + "/logs?limit=2", headers=headers).json()[
        "data"
    ]
    assert [entry["data"] for entry in listed] == ["2", "1"]
    bad = requests.get(running_system.broker_url + "/logs?limit=0", headers=headers)
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
