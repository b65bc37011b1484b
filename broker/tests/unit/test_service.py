"""The broker's request handling with every dependency replaced (`worker_factory`)."""

import json
import re

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from broker.service import BrokerService
from broker.settings import BrokerSettings
from common.config import service_config
from common.errors import Forbidden, InvalidInput

CONFIG = {**service_config("broker"), "LOG_TRANSPORT": "rabbit", "BROKER_MAIL_ENABLED": True}


def post(body, **environ) -> object:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    environ = {"REMOTE_ADDR": "192.0.2.7", **environ}
    builder = EnvironBuilder(
        method="POST", data=data, content_type="application/json", environ_base=environ
    )
    return builder.get_request()


def envelope(response) -> dict:
    assert response.mimetype == "application/json"
    return json.loads(response.get_data())


def make_broker(**config):
    settings = BrokerSettings.from_config({**CONFIG, **config})
    return worker_factory(BrokerService, settings=settings)


def test_auth_action_calls_auth_and_answers_202_with_the_user():
    broker = make_broker()
    broker.auth_rpc.authenticate.return_value = {"id": 1, "email": "admin@example.com"}
    response = broker.handle(post({"action": "auth", "auth": {"email": "a@b.c", "password": "p"}}))
    # The client's address is the socket's peer: auth throttles by it.
    broker.auth_rpc.authenticate.assert_called_once_with("a@b.c", "p", "192.0.2.7")
    assert response.status_code == 202
    assert envelope(response) == {
        "error": False,
        "message": "Authenticated!",
        "data": {"id": 1, "email": "admin@example.com"},
    }


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        ("rabbit", "logged via RabbitMQ"),
        ("rpc", "Processed payload via RPC: event"),
        ("grpc", "logged"),
    ],
)
def test_log_action_uses_the_configured_transport(transport, message):
    broker = make_broker(LOG_TRANSPORT=transport)
    broker.xmlrpc_logger.log_info.return_value = "Processed payload via RPC: event"
    response = broker.handle(post({"action": "log", "log": {"name": "event", "data": "d"}}))
    assert response.status_code == 202
    assert envelope(response)["message"] == message
    calls = {
        "rabbit": broker.log_events.publish.call_args_list,
        "rpc": broker.xmlrpc_logger.log_info.call_args_list,
        "grpc": broker.grpc_logger.write_log.call_args_list,
    }
    assert {name: len(made) for name, made in calls.items()} == {
        name: int(name == transport) for name in calls
    }


def test_log_level_picks_the_routing_level():
    broker = make_broker()
    response = broker.log_via_rabbit(post({"log": {"name": "n", "data": "d", "level": "ERROR"}}))
    (event,) = broker.log_events.publish.call_args.args
    assert (event.name, event.data, event.level) == ("n", "d", "ERROR")
    assert json.loads(response.get_data())["data"] == {"id": event.id}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "malformed JSON body"),
        ('{"action": "auth"} {"again": 1}', "malformed JSON body"),
        ("[1, 2]", "body must be a JSON object"),
        ({}, "unknown action"),
        ({"action": "fly"}, "unknown action"),
        ({"action": "auth"}, "auth is required"),
        ({"action": "auth", "auth": "x"}, "auth must be an object"),
        ({"action": "auth", "auth": {"password": "p"}}, "auth.email is required"),
        ({"action": "auth", "auth": {"email": 5, "password": "p"}}, "auth.email must be a string"),
        ({"action": "log"}, "log is required"),
        ({"action": "log", "log": {"data": "d"}}, "log.name is required"),
        ({"action": "log", "log": {"name": "", "data": "d"}}, "log.name must not be empty"),
        (
            {"action": "log", "log": {"name": "n" * 256, "data": "d"}},
            "log.name must be at most 255",
        ),
        ({"action": "log", "log": {"name": "n", "data": 7}}, "log.data must be a string"),
        (
            {"action": "log", "log": {"name": "n", "data": "x" * 65537}},
            "log.data must be at most 64 KiB",
        ),
        ({"action": "log", "log": {"name": "n", "data": "d", "level": "DEBUG"}}, "log.level"),
        ({"action": "mail"}, "mail is required"),
        ({"action": "mail", "mail": []}, "mail must be an object"),
    ],
)
def test_bad_input_is_rejected_naming_the_field(body, message):
    broker = make_broker()
    with pytest.raises(InvalidInput, match=message):
        broker.handle(post(body))
    broker.auth_rpc.authenticate.assert_not_called()
    broker.log_events.publish.assert_not_called()


def test_mail_action_answers_with_the_recipient():
    broker = make_broker()
    broker.mailer_rpc.send_mail.return_value = {"to": "you@example.com", "message_id": "<x@y>"}
    mail = {"to": "you@example.com", "subject": "s", "message": "m"}
    response = broker.handle(post({"action": "mail", "mail": mail}))
    broker.mailer_rpc.send_mail.assert_called_once_with(mail)
    assert response.status_code == 202
    assert envelope(response)["message"] == "Message sent to you@example.com"


def test_mail_action_can_be_switched_off():
    broker = make_broker(BROKER_MAIL_ENABLED=False)
    with pytest.raises(Forbidden):
        broker.handle(post({"action": "mail", "mail": {"to": "you@example.com"}}))
    broker.mailer_rpc.send_mail.assert_not_called()


PAGE = {"entries": [{"id": "1", "name": "n", "data": "d"}], "next": "abc", "prev": None}


def get(path: str):
    return EnvironBuilder(path=path).get_request()


@pytest.mark.parametrize(
    ("query", "page_kwargs"),
    [
        ("", {"limit": 20}),
        ("?limit=5", {"limit": 5}),
        ("?limit=1000", {"limit": 1000}),
        ("?level=&name=&since=&until=&q=&cursor=&limit=", {"limit": 20}),
        ("?level=error", {"level": "ERROR", "limit": 20}),
        ("?name=payment&q=time%20out", {"name": "payment", "q": "time out", "limit": 20}),
        ("?cursor=eyJkIjoib2xkZXIifQ&limit=3", {"cursor": "eyJkIjoib2xkZXIifQ", "limit": 3}),
        (
            "?since=2026-12-02T10:00:00Z&until=2026-12-02T12:00:00%2B01:00",
            {
                "since": "2026-12-02T10:00:00.000+00:00",
                "until": "2026-12-02T11:00:00.000+00:00",
                "limit": 20,
            },
        ),
        ("?since=2026-12-02T10:00", {"since": "2026-12-02T10:00:00.000+00:00", "limit": 20}),
    ],
)
def test_logs_asks_the_logger_for_one_page(query, page_kwargs):
    broker = make_broker()
    broker.logger_rpc.page.return_value = PAGE
    response = broker.logs(get(f"/logs{query}"))
    broker.logger_rpc.page.assert_called_once_with(**page_kwargs)
    assert response.status_code == 200
    assert envelope(response) == {"error": False, "message": "1 log entry", "data": PAGE}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?limit=0", "limit must be an integer from 1 to 1000"),
        ("?limit=1001", "limit must be an integer from 1 to 1000"),
        ("?limit=-1", "limit must be an integer from 1 to 1000"),
        ("?limit=ten", "limit must be an integer from 1 to 1000"),
        ("?level=DEBUG", "level must be one of INFO, WARNING, ERROR"),
        ("?level=INFO&level=ERROR", "level is given more than once"),
        ("?levle=INFO", "unknown parameter 'levle'"),
        ("?since=yesterday", "since must be an ISO 8601 time"),
        ("?until=2026-13-01", "until must be an ISO 8601 time"),
        ("?since=2026-12-02T10:00:00+01:00", "send the '+' of an offset as %2B"),
        ("?since=1969-12-31T23:59:59Z", "since must be after 1970"),
        ("?since=0001-01-01T00:00:00%2B01:00", "since must be an ISO 8601 time"),
        ("?since=2026-12-02T10:00Z&until=2026-12-02T10:00Z", "since must be before until"),
        ("?name=" + "n" * 256, "name must be at most 255 characters"),
        ("?q=" + "q" * 201, "q must be at most 200 characters"),
        ("?cursor=not%20a%20cursor", "cursor is not valid"),
        ("?cursor=" + "a" * 1025, "cursor is not valid"),
    ],
)
def test_logs_refuses_bad_parameters_naming_them(query, message):
    broker = make_broker()
    with pytest.raises(InvalidInput, match=re.escape(message)):
        broker.logs(get(f"/logs{query}"))
    broker.logger_rpc.page.assert_not_called()


def test_one_log_entry_by_id():
    broker = make_broker()
    broker.logger_rpc.get.return_value = PAGE["entries"][0]
    response = broker.log_entry(get("/logs/1"), "1")
    broker.logger_rpc.get.assert_called_once_with("1")
    assert envelope(response) == {
        "error": False,
        "message": "log entry",
        "data": PAGE["entries"][0],
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"LOG_TRANSPORT": "pigeon"}, "LOG_TRANSPORT must be one of"),
        ({"BROKER_MAIL_ENABLED": "maybe"}, "BROKER_MAIL_ENABLED must be true or false"),
    ],
)
def test_bad_settings_stop_the_service_at_start(config, message):
    with pytest.raises(ValueError, match=message):
        BrokerSettings.from_config({**CONFIG, **config})


def test_transport_setting_ignores_case():
    assert BrokerSettings.from_config({**CONFIG, "LOG_TRANSPORT": "GRPC"}).log_transport == "grpc"


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "address"),
    [
        ("", "192.0.2.7", "203.0.113.9", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7", "203.0.113.9", "203.0.113.9"),
        ("192.0.2.7", "192.0.2.7", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        ("192.0.2.1 192.0.2.2", "192.0.2.7", "203.0.113.9", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7", None, "192.0.2.7"),
    ],
    ids=["untrusted-peer", "trusted-proxy", "last-entry-is-the-proxy-s", "other-peer", "no-header"],
)
def test_the_client_address_is_the_peer_unless_a_trusted_proxy_names_it(
    trusted, peer, forwarded, address
):
    broker = make_broker(TRUSTED_PROXIES=trusted)
    broker.auth_rpc.authenticate.return_value = {"id": 1}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    body = {"action": "auth", "auth": {"email": "a@b.c", "password": "p"}}
    broker.handle(post(body, REMOTE_ADDR=peer, **headers))
    broker.auth_rpc.authenticate.assert_called_once_with("a@b.c", "p", address)


def test_refresh_and_logout_pass_the_refresh_token_to_auth():
    broker = make_broker()
    tokens = {"access_token": "a", "token_type": "Bearer", "expires_in": 900, "refresh_token": "r2"}
    broker.auth_rpc.refresh.return_value = tokens

    refreshed = broker.refresh(post({"refresh_token": "r1"}))
    signed_out = broker.logout(post({"refresh_token": "r2"}))

    broker.auth_rpc.refresh.assert_called_once_with("r1")
    broker.auth_rpc.logout.assert_called_once_with("r2")
    assert (refreshed.status_code, envelope(refreshed)["data"]) == (200, tokens)
    assert (signed_out.status_code, envelope(signed_out)["message"]) == (200, "Signed out")


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "refresh_token is required"), ({"refresh_token": 7}, "must be a string")],
)
def test_refresh_refuses_a_body_without_a_refresh_token(body, message):
    broker = make_broker()
    with pytest.raises(InvalidInput, match=message):
        broker.refresh(post(body))
    broker.auth_rpc.refresh.assert_not_called()
