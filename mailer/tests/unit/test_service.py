"""The service's entrypoints with `worker_factory`: only the SMTP dependency is replaced."""

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from unittest.mock import Mock

import pytest
from nameko.testing.services import worker_factory

from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput, PayloadTooLarge
from mailer.dependencies import SmtpClient
from mailer.service import MailerService, deliver_when_reachable

MAIL = {"to": "jane@example.com", "subject": "Hello", "message": "Hi <script>x</script>"}


@pytest.fixture
def smtp():
    return Mock(spec=SmtpClient, default_sender=Address("John Smith", addr_spec="john@example.com"))


@pytest.fixture
def service(smtp):
    return worker_factory(MailerService, smtp=smtp)


def sent_message(smtp) -> EmailMessage:
    smtp.send.assert_called_once()
    (message,) = smtp.send.call_args.args
    return message


def test_send_mail_sends_the_rendered_message_and_returns_a_receipt(service, smtp):
    receipt = service.send_mail(MAIL)

    message = sent_message(smtp)
    assert receipt == {"to": "jane@example.com", "message_id": message["Message-ID"]}
    assert message["From"] == "John Smith <john@example.com>"
    plain, html = message.iter_parts()
    assert plain.get_content() == "Hi <script>x</script>\n"
    assert "Hi &lt;script&gt;x&lt;/script&gt;" in html.get_content()


@pytest.mark.parametrize(
    ("mail", "error"),
    [
        ({**MAIL, "to": "jane@example.com\r\nBcc: evil@example.com"}, InvalidInput),
        ({**MAIL, "message": "x" * (64 * 1024 + 1)}, PayloadTooLarge),
    ],
)
def test_send_mail_refuses_bad_requests_without_sending(service, smtp, mail, error):
    with pytest.raises(error):
        service.send_mail(mail)

    smtp.send.assert_not_called()


def test_send_mail_passes_mail_server_failures_to_the_caller(service, smtp):
    smtp.send.side_effect = DownstreamUnavailable("mail server unreachable: connection refused")

    with pytest.raises(DownstreamUnavailable, match="connection refused"):
        service.send_mail(MAIL)


def test_a_requested_mail_is_sent_the_same_way(service, smtp):
    service.handle_send_mail_requested(MAIL)

    message = sent_message(smtp)
    assert message["To"] == "jane@example.com"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


@pytest.mark.parametrize(
    ("mail", "failure", "logged"),
    [
        (
            {**MAIL, "subject": "Hi\nBcc: evil@example.com"},
            None,
            "requested mail NOT sent: mail.subject must not contain CR or LF (header injection); "
            "request was from=None, to='jane@example.com', subject='Hi\\nBcc: evil@example.com'",
        ),
        (
            "not a mail",
            None,
            "requested mail NOT sent: mail must be an object; "
            "request was not an object: 'not a mail'",
        ),
        (
            MAIL,
            DownstreamError("mail server refused the recipient (550)"),
            "requested mail NOT sent: mail server refused the recipient (550); "
            "request was from=None, to='jane@example.com', subject='Hello'",
        ),
    ],
)
def test_a_requested_mail_that_fails_is_logged_as_an_error(
    service, smtp, caplog, mail, failure, logged
):
    smtp.send.side_effect = failure

    with caplog.at_level(logging.ERROR, logger="mailer.service"):
        service.handle_send_mail_requested(mail)

    assert [record.getMessage() for record in caplog.records] == [logged]


def test_a_requested_mail_waits_while_the_mail_server_is_unreachable(service, smtp, monkeypatch):
    pauses = []
    monkeypatch.setattr(deliver_when_reachable.retry, "sleep", pauses.append)
    unreachable = DownstreamUnavailable("mail server unreachable: connection refused")
    smtp.send.side_effect = [unreachable] * 8 + [None]

    service.handle_send_mail_requested(MAIL)

    assert smtp.send.call_count == 9
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_bug_in_the_event_path_is_logged_with_its_traceback_not_requeued(service, smtp, caplog):
    smtp.send.side_effect = RuntimeError("bug")

    with caplog.at_level(logging.ERROR, logger="mailer.service"):
        service.handle_send_mail_requested(MAIL)

    [record] = caplog.records
    assert "unexpected error" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
