"""RPC `mailer.send_mail` over RabbitMQ, delivering to the real catcher over SMTP."""

import socket
import time
from email import message_from_bytes, policy

import pytest
from lxml import html as lxml_html
from nameko.standalone.rpc import ServiceRpcProxy

from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput, PayloadTooLarge
from testing.ports import free_port

RPC_TIMEOUT = 30


def send(config, mail):
    with ServiceRpcProxy("mailer", config, timeout=RPC_TIMEOUT) as mailer:
        return mailer.send_mail(mail)


def test_a_mail_arrives_with_headers_and_both_parts(start_mailer, mailer_config, inbox, token):
    start_mailer()
    mail = {
        "to": f"jane.{token}@example.com",
        "subject": f"Hello {token}",
        "message": "Hi Jane,\n\nsee you <script>alert(1)</script> soon.",
    }

    receipt = send(mailer_config(), mail)

    caught = inbox.wait_for_one()
    assert receipt == {"to": mail["to"], "message_id": caught["headers"]["message-id"]}
    assert caught["from"] == [{"address": "john.smith@example.com", "name": "John Smith"}]
    assert caught["to"] == [{"address": mail["to"], "name": ""}]
    assert caught["subject"] == mail["subject"]
    assert caught["text"] == mail["message"] + "\n"
    document = lxml_html.document_fromstring(caught["html"])
    first, second = document.find_class("paragraph")
    assert "color:#1f2937 !important" in first.get("style")
    assert second.text == "see you <script>alert(1)</script> soon."
    assert "&lt;script&gt;" in caught["html"]
    assert list(document.iter("script")) == []


def test_the_plain_part_comes_first_on_the_wire(start_mailer, mailer_config, inbox, token):
    start_mailer()

    send(mailer_config(), {"to": "jane@example.com", "subject": token, "message": "Hi"})

    source = message_from_bytes(inbox.source(inbox.wait_for_one()), policy=policy.default)
    assert source.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in source.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert source["Date"] is not None


def test_the_caller_may_name_the_sender(start_mailer, mailer_config, inbox, token):
    start_mailer()

    send(
        mailer_config(),
        {
            "from": "Ops <ops@example.org>",
            "to": "jane@example.com",
            "subject": token,
            "message": "x",
        },
    )

    assert inbox.wait_for_one()["from"] == [{"address": "ops@example.org", "name": "Ops"}]


def test_non_ascii_subject_and_body_survive_the_round_trip(
    start_mailer, mailer_config, inbox, token
):
    start_mailer()
    subject = f"Grüße aus Köln ✓ 日本 {token}"
    message = "Ünïcödé body — «quoted» ✓"

    send(mailer_config(), {"to": "jane@example.com", "subject": subject, "message": message})

    caught = inbox.wait_for_one()
    assert caught["subject"] == subject
    assert caught["text"] == message + "\n"
    assert message in caught["html"]


BAD_MAILS = [
    # (mail without its token, error, message). Each names the token in subject or recipient so
    # that a mail sent by mistake would be found.
    ({"subject": "{t}", "message": "x"}, InvalidInput, "mail.to is required"),
    (
        {"to": "not-an-address", "subject": "{t}", "message": "x"},
        InvalidInput,
        "mail.to is not a valid email address: An email address must have an @-sign.",
    ),
    (
        {"to": "jane@example.com\r\nBcc: evil.{t}@example.com", "subject": "{t}", "message": "x"},
        InvalidInput,
        "mail.to must not contain CR or LF (header injection)",
    ),
    (
        {
            "from": "me@example.com\nBcc: evil.{t}@example.com",
            "to": "jane@example.com",
            "subject": "{t}",
            "message": "x",
        },
        InvalidInput,
        "mail.from must not contain CR or LF (header injection)",
    ),
    (
        {"to": "jane@example.com", "subject": "{t}\r\nBcc: evil.{t}@example.com", "message": "x"},
        InvalidInput,
        "mail.subject must not contain CR or LF (header injection)",
    ),
    ({"to": "{t}@example.com", "message": "x"}, InvalidInput, "mail.subject is required"),
    ({"to": "jane@example.com", "subject": "{t}"}, InvalidInput, "mail.message is required"),
    (
        {"to": "jane@example.com", "subject": "{t}", "message": "x" * (64 * 1024 + 1)},
        PayloadTooLarge,
        "mail.message must be at most 64 KiB",
    ),
]


@pytest.mark.parametrize(("template", "error", "message"), BAD_MAILS)
def test_bad_requests_are_refused_and_nothing_is_sent(
    start_mailer, mailer_config, inbox, token, template, error, message
):
    start_mailer()
    mail = {key: value.replace("{t}", token) for key, value in template.items()}

    with pytest.raises(error) as caught:
        send(mailer_config(), mail)

    assert caught.value.message == message
    assert inbox.mails() == []


def test_with_the_catcher_down_the_caller_hears_so_within_the_timeout(
    start_mailer, mailer_config, inbox, token
):
    start_mailer(MAIL_PORT=free_port())
    started = time.monotonic()

    with pytest.raises(DownstreamUnavailable) as caught:
        send(mailer_config(), {"to": "jane@example.com", "subject": token, "message": "x"})

    assert caught.value.message == "mail server unreachable: connection refused"
    assert time.monotonic() - started < 10
    assert inbox.mails() == []


def test_a_server_that_never_answers_times_out(start_mailer, mailer_config):
    with socket.create_server(("127.0.0.1", 0)) as silent:
        start_mailer(MAIL_PORT=silent.getsockname()[1], MAIL_TIMEOUT=0.5)

        with pytest.raises(DownstreamUnavailable) as caught:
            send(mailer_config(), {"to": "jane@example.com", "subject": "x", "message": "x"})

    assert caught.value.message == "mail server unreachable: no answer within 0.5 s"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"RCPT": "550 5.1.1 mailbox unavailable"}, "mail server refused the recipient (550)"),
        ({"MAIL": "553 5.7.1 sender rejected"}, "mail server refused the sender (553)"),
        ({"DATA": "554 5.7.1 rejected by policy"}, "mail server refused the mail (554)"),
    ],
)
def test_a_refusing_server_is_reported_as_a_downstream_error(
    start_mailer, mailer_config, scripted_smtp, script, message
):
    start_mailer(MAIL_PORT=scripted_smtp(script))

    with pytest.raises(DownstreamError) as caught:
        send(mailer_config(), {"to": "jane@example.com", "subject": "x", "message": "x"})

    assert caught.value.message == message


def test_the_request_id_travels_into_the_mail_and_the_sent_count(
    start_mailer, mailer_config, inbox, token
):
    from prometheus_client import REGISTRY

    start_mailer()
    sent_before = REGISTRY.get_sample_value("mailer_mails_total", {"outcome": "sent"}) or 0.0
    request_id = f"mail-{token}"

    with ServiceRpcProxy(
        "mailer", mailer_config(), timeout=RPC_TIMEOUT, context_data={"request_id": request_id}
    ) as mailer:
        mailer.send_mail({"to": "jane@example.com", "subject": token, "message": "Hi"})

    assert inbox.wait_for_one()["headers"]["x-request-id"] == request_id
    assert REGISTRY.get_sample_value("mailer_mails_total", {"outcome": "sent"}) == sent_before + 1
