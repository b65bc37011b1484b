"""Mail through the broker, end to end into the real SMTP catcher (maildev), read back through
its JSON API (`inbox`: only the mail tagged with this test's token)."""

from __future__ import annotations

import time

import pytest
import requests
from nameko.standalone.events import event_dispatcher

from broker.service import BrokerService
from mailer.service import MailerService
from testing.ports import free_port


def mail_request(**fields) -> dict:
    mail = {"from": "sender@example.com", "to": "you@example.com", "subject": "Hello"}
    mail["message"] = "Hello there"
    mail.update(fields)
    return {"action": "mail", "mail": mail}


def test_mail_arrives_with_both_parts(running_system, inbox, token):
    subject = f"Greetings {token}"
    response = requests.post(
        running_system.broker_url + "/handle",
        json=mail_request(subject=subject, message="Grüße aus Köln <script>alert(1)</script>"),
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"error": False, "message": "Message sent to you@example.com"}

    mail = inbox.wait_for_one()
    assert mail["subject"] == subject
    assert mail["from"][0]["address"] == "sender@example.com"
    assert mail["to"][0]["address"] == "you@example.com"
    assert "Grüße aus Köln" in mail["text"]
    assert "&lt;script&gt;" in mail["html"]
    assert "<script>" not in mail["html"]
    assert 'style="' in mail["html"]  # CSS inlined by premailer


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"to": "not-an-address"}, 400, "mail.to"),
        ({"to": None}, 400, "mail.to"),
        ({"subject": "Hi\r\nBcc: victim@example.com"}, 400, "header injection"),
        ({"from": "a@example.com\nBcc: victim@example.com"}, 400, "header injection"),
        ({"message": "x" * (64 * 1024 + 1)}, 413, "64 KiB"),
    ],
)
def test_bad_mail_is_refused_and_nothing_is_sent(
    running_system, inbox, token, fields, status, message
):
    body = mail_request(**{"subject": f"Refused {token}", **fields})
    body["mail"] = {key: value for key, value in body["mail"].items() if value is not None}
    response = requests.post(running_system.broker_url + "/handle", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] is True
    assert message in response.json()["message"]
    time.sleep(0.3)
    assert inbox.mails() == []


def test_catcher_down_is_an_error_not_202(runner_factory, config_for):
    broker_port = free_port()
    runner_factory(
        config_for("broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{broker_port}"), BrokerService
    ).start()
    runner_factory(config_for("mailer", MAIL_PORT=free_port()), MailerService).start()
    started = time.monotonic()
    response = requests.post(f"http://127.0.0.1:{broker_port}/handle", json=mail_request())
    assert response.status_code == 504
    assert "mail server unreachable" in response.json()["message"]
    assert time.monotonic() - started < 10


def test_broker_mail_switched_off_is_403_but_events_still_deliver(
    runner_factory, config_for, inbox, token
):
    broker_port = free_port()
    broker_config = config_for(
        "broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{broker_port}", BROKER_MAIL_ENABLED=False
    )
    runner_factory(broker_config, BrokerService).start()
    runner_factory(config_for("mailer"), MailerService).start()

    refused_subject = f"Refused {token}"
    response = requests.post(
        f"http://127.0.0.1:{broker_port}/handle", json=mail_request(subject=refused_subject)
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": True,
        "message": "sending mail through the broker is disabled",
    }
    time.sleep(0.3)
    assert inbox.mails() == []

    subject = f"Asked by event {token}"
    dispatch = event_dispatcher(broker_config)
    dispatch("auth", "send_mail_requested", mail_request(subject=subject)["mail"])
    mail = inbox.wait_for_one()
    assert mail["subject"] == subject
    assert mail["to"][0]["address"] == "you@example.com"
