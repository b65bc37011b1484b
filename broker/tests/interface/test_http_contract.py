"""The broker's HTTP contract over a real socket, with the real auth service, RabbitMQ and
PostgreSQL behind it."""

import json
import time

import pytest
import requests
from kombu import Connection, Exchange, Queue

from auth.service import AuthService
from broker.service import BrokerService
from testing.ports import free_port

ADMIN = {"email": "admin@example.com", "password": "verysecret"}


@pytest.fixture
def broker_config(config_for):
    port = free_port()
    return config_for("broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")


@pytest.fixture
def broker_url(broker_config):
    return f"http://{broker_config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def system(runner_factory, broker_config, config_for, users_db_uri, broker_url):
    auth_config = config_for("auth", DB_URIS={"auth:Base": users_db_uri})
    runner_factory(broker_config, BrokerService).start()
    runner_factory(auth_config, AuthService).start()
    return broker_url


def assert_envelope(response, status, message, error):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] is error
    assert message in body["message"]
    return body


def test_post_root_hits_the_broker(system):
    response = requests.post(system + "/")
    assert response.json() == {"error": False, "message": "Hit the broker"}
    assert response.status_code == 200


def test_ping(system):
    assert_envelope(requests.get(system + "/ping"), 200, "pong", False)


def test_auth_success_returns_the_user_without_the_hash(system):
    response = requests.post(system + "/handle", json={"action": "auth", "auth": ADMIN})
    body = assert_envelope(response, 202, "Authenticated!", False)
    assert body["data"]["email"] == "admin@example.com"
    assert body["data"]["first_name"] == "Admin"
    assert "password" not in response.text
    assert "$2" not in response.text


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "admin@example.com", "password": "wrong"},
        {"email": "nobody@example.com", "password": "verysecret"},
    ],
    ids=["wrong-password", "unknown-email"],
)
def test_bad_credentials_401_with_one_message(system, credentials):
    response = requests.post(system + "/handle", json={"action": "auth", "auth": credentials})
    body = assert_envelope(response, 401, "invalid credentials", True)
    assert body == {"error": True, "message": "invalid credentials"}


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b'{"action": "auth", ', 400, "malformed JSON body"),
        (b"action=auth", 400, "malformed JSON body"),
        (json.dumps({"action": "auth"}), 400, "auth is required"),
        (json.dumps({"action": "auth", "auth": {"password": "p"}}), 400, "auth.email is required"),
        (
            json.dumps({"action": "auth", "auth": {"email": [], "password": "p"}}),
            400,
            "auth.email must be a string",
        ),
        (json.dumps({"action": "teleport"}), 400, "unknown action"),
        (json.dumps({"auth": ADMIN}), 400, "unknown action"),
    ],
)
def test_bad_requests(system, data, status, message):
    response = requests.post(
        system + "/handle", data=data, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, status, message, True)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_body_that_is_not_declared_json_is_refused_unread(system, content_type):
    # A browser sends these cross-origin without a preflight (a "simple request"): refusing them
    # means only origins CORS allows can make the broker act (issue 10).
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"action": "log", "log": {"name": "csrf", "data": "d"}})
    response = requests.post(system + "/handle", data=body, headers=headers)
    assert_envelope(response, 415, "Content-Type must be application/json", True)


def test_json_with_a_charset_parameter_is_json(system):
    response = requests.post(
        system + "/handle",
        data=json.dumps({"action": "auth", "auth": ADMIN}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert_envelope(response, 202, "Authenticated!", False)


def test_body_over_one_mib_is_413(system):
    response = requests.post(system + "/handle", data=b"x" * (2 * 1024 * 1024))
    assert_envelope(response, 413, "larger than 1048576 bytes", True)


def test_chunked_body_over_one_mib_is_413(system):
    def chunks():
        for _ in range(32):
            yield b"x" * 65536

    response = requests.post(system + "/handle", data=chunks())
    assert_envelope(response, 413, "", True)


def test_unknown_route_404_and_wrong_method_405(system):
    assert_envelope(requests.get(system + "/nope"), 404, "not found", True)
    response = requests.get(system + "/handle")
    assert_envelope(response, 405, "method not allowed", True)
    assert "POST" in response.headers["Allow"]


def test_cors_preflight_is_answered(system):
    response = requests.options(
        system + "/handle",
        headers={
            "Origin": "http://localhost:8081",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8081"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_cors_headers_on_answers_to_allowed_origins_only(system):
    allowed = requests.post(system + "/", headers={"Origin": "http://localhost:8081"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:8081"
    refused = requests.post(system + "/", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_auth_never_started_is_503_at_once(runner_factory, broker_config, broker_url):
    runner_factory(broker_config, BrokerService).start()
    started = time.monotonic()
    response = requests.post(broker_url + "/handle", json={"action": "auth", "auth": ADMIN})
    assert_envelope(response, 503, "auth service is not running", True)
    assert time.monotonic() - started < 1.0  # well before the 1 s deadline would have ended


def test_auth_stopped_is_503_at_once(runner_factory, broker_config, broker_url):
    # A stopped auth service leaves its durable queue behind, with no consumer: nobody would
    # answer, so the broker does not wait for its deadline.
    with Connection(broker_config["AMQP_URI"]) as connection:
        Queue("rpc-auth", Exchange("nameko-rpc", type="topic"), routing_key="auth.*")(
            connection
        ).declare()
    runner_factory(broker_config, BrokerService).start()

    started = time.monotonic()
    response = requests.post(broker_url + "/handle", json={"action": "auth", "auth": ADMIN})
    elapsed = time.monotonic() - started

    assert_envelope(response, 503, "auth service is not running", True)
    assert elapsed < 1.0


def test_auth_present_but_silent_is_504_after_its_deadline(
    runner_factory, broker_config, broker_url
):
    # Someone consumes rpc-auth but never answers (a hung instance): the deadline applies.
    broker_config["AUTH_RPC_TIMEOUT"] = 1
    with Connection(broker_config["AMQP_URI"]) as connection:
        queue = Queue("rpc-auth", Exchange("nameko-rpc", type="topic"), routing_key="auth.*")
        hung = connection.Consumer(queue, callbacks=[lambda body, message: None])
        hung.consume()
        runner_factory(broker_config, BrokerService).start()

        started = time.monotonic()
        response = requests.post(broker_url + "/handle", json={"action": "auth", "auth": ADMIN})
        elapsed = time.monotonic() - started
        hung.cancel()

    assert_envelope(response, 504, "did not answer within 1 s", True)
    assert 1.0 <= elapsed < 1.0 + 2.0
