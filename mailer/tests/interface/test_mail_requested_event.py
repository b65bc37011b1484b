"""The event path: any allowed service dispatches `send_mail_requested` and the mail goes out."""

import logging

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from tenacity import wait_fixed

from mailer.service import MAIL_REQUESTED, deliver_when_reachable
from testing.infrastructure import SMTP_HOST, SMTP_PORT


@pytest.mark.parametrize("source", ["auth", "broker", "listener", "logger"])
def test_a_requested_mail_is_delivered(start_mailer, mailer_config, inbox, token, source):
    container = start_mailer()
    mail = {"to": "jane@example.com", "subject": f"From {source} {token}", "message": "Welcome!"}

    with entrypoint_waiter(container, "handle_send_mail_requested"):
        event_dispatcher(mailer_config())(source, MAIL_REQUESTED, mail)

    caught = inbox.wait_for_one()
    assert caught["subject"] == mail["subject"]
    assert caught["text"] == "Welcome!\n"
    assert "color:#1f2937 !important" in caught["html"]


def test_a_refused_request_is_logged_and_nothing_is_sent(
    start_mailer, mailer_config, inbox, token, caplog
):
    container = start_mailer()
    mail = {"to": "jane@example.com", "subject": f"{token}\nBcc: evil@example.com", "message": "x"}

    with (
        caplog.at_level(logging.ERROR, logger="mailer.service"),
        entrypoint_waiter(container, "handle_send_mail_requested"),
    ):
        event_dispatcher(mailer_config())("auth", MAIL_REQUESTED, mail)

    (record,) = caplog.records
    assert "requested mail NOT sent: mail.subject must not contain CR or LF" in record.getMessage()
    assert token in record.getMessage()
    assert inbox.mails() == []


def test_a_request_made_while_the_mail_server_is_down_is_sent_once_it_is_up(
    start_mailer, mailer_config, inbox, token, late_ports, monkeypatch
):
    monkeypatch.setattr(deliver_when_reachable.retry, "wait", wait_fixed(0.2))
    mail_server = late_ports((SMTP_HOST, SMTP_PORT))
    start_mailer(MAIL_PORT=mail_server.port)
    mail = {"to": "jane@example.com", "subject": f"{token} kept", "message": "x"}

    event_dispatcher(mailer_config())("auth", MAIL_REQUESTED, mail)
    eventlet.sleep(1)  # a few refused attempts
    assert inbox.mails() == []
    mail_server.open()
    assert inbox.wait_for_one()["subject"] == mail["subject"]
