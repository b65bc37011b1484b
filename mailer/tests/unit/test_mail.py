"""Validation of a mail request and the MIME message built from it (no SMTP, no Nameko)."""

from email import message_from_bytes, policy
from email.headerregistry import Address
from email.utils import parsedate_to_datetime

import pytest

from common.errors import InvalidInput, PayloadTooLarge
from mailer.mail import MAX_MESSAGE_BYTES, compose, validate_mail

DEFAULT_SENDER = Address("John Smith", addr_spec="john.smith@example.com")
VALID = {"to": "jane@example.com", "subject": "Hello", "message": "Hi Jane"}
INJECTED = "jane@example.com\r\nBcc: evil@example.com"


def without(key):
    return {name: value for name, value in VALID.items() if name != key}


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (None, InvalidInput, "mail is required"),
        ("text", InvalidInput, "mail must be an object"),
        ([], InvalidInput, "mail must be an object"),
        (without("to"), InvalidInput, "mail.to is required"),
        ({**VALID, "to": 42}, InvalidInput, "mail.to must be a string"),
        (
            {**VALID, "to": "not-an-address"},
            InvalidInput,
            "mail.to is not a valid email address: An email address must have an @-sign.",
        ),
        (
            {**VALID, "to": "jane@localhost"},
            InvalidInput,
            "mail.to is not a valid email address: "
            "The part after the @-sign is not valid. It should have a period.",
        ),
        (
            {**VALID, "to": "jane@example.com, bob@example.com"},
            InvalidInput,
            "mail.to is not a valid email address: "
            "The part after the @-sign contains invalid characters: ',', '@', SPACE.",
        ),
        (
            {**VALID, "to": "jöhn@example.com"},
            InvalidInput,
            "mail.to is not a valid email address: "
            "Internationalized characters before the @-sign are not supported: 'ö'.",
        ),
        (
            {**VALID, "to": INJECTED},
            InvalidInput,
            "mail.to must not contain CR or LF (header injection)",
        ),
        (
            {**VALID, "to": "jane@example.com\n"},
            InvalidInput,
            "mail.to must not contain CR or LF (header injection)",
        ),
        ({**VALID, "from": 5}, InvalidInput, "mail.from must be a string"),
        (
            {**VALID, "from": "me"},
            InvalidInput,
            "mail.from is not a valid email address: An email address must have an @-sign.",
        ),
        (
            {**VALID, "from": "me@example.com\rBcc: evil@example.com"},
            InvalidInput,
            "mail.from must not contain CR or LF (header injection)",
        ),
        (without("subject"), InvalidInput, "mail.subject is required"),
        ({**VALID, "subject": ""}, InvalidInput, "mail.subject must not be empty"),
        ({**VALID, "subject": 3}, InvalidInput, "mail.subject must be a string"),
        (
            {**VALID, "subject": "x" * 256},
            InvalidInput,
            "mail.subject must be at most 255 characters",
        ),
        (
            {**VALID, "subject": "Hi\nBcc: evil@example.com"},
            InvalidInput,
            "mail.subject must not contain CR or LF (header injection)",
        ),
        (
            {**VALID, "subject": "Hi\rthere"},
            InvalidInput,
            "mail.subject must not contain CR or LF (header injection)",
        ),
        (without("message"), InvalidInput, "mail.message is required"),
        ({**VALID, "message": ""}, InvalidInput, "mail.message must not be empty"),
        ({**VALID, "message": ["hi"]}, InvalidInput, "mail.message must be a string"),
        (
            {**VALID, "message": "x" * (MAX_MESSAGE_BYTES + 1)},
            PayloadTooLarge,
            "mail.message must be at most 64 KiB",
        ),
        (
            # 32 769 two-byte characters: under the limit in characters, over it in bytes.
            {**VALID, "message": "é" * (MAX_MESSAGE_BYTES // 2 + 1)},
            PayloadTooLarge,
            "mail.message must be at most 64 KiB",
        ),
    ],
)
def test_bad_requests_are_refused_naming_the_field(raw, error, message):
    with pytest.raises(error) as caught:
        validate_mail(raw)

    assert type(caught.value) is error
    assert caught.value.message == message


def test_a_message_of_exactly_64_kib_is_accepted():
    mail = validate_mail({**VALID, "message": "x" * MAX_MESSAGE_BYTES})

    assert len(mail.message) == MAX_MESSAGE_BYTES


@pytest.mark.parametrize("sender", [None, ""])
def test_a_missing_or_empty_sender_means_the_default(sender):
    mail = validate_mail({**VALID, "from": sender})

    assert mail.sender is None
    assert str(compose(mail, DEFAULT_SENDER)["From"]) == "John Smith <john.smith@example.com>"


def test_addresses_may_carry_a_display_name_and_are_normalized():
    mail = validate_mail(
        {**VALID, "from": "Ops Team <ops@Example.ORG>", "to": "Jane <jane@bücher.de>"}
    )

    assert mail.sender == Address("Ops Team", addr_spec="ops@example.org")
    assert mail.to == Address("Jane", addr_spec="jane@xn--bcher-kva.de")


def test_unknown_keys_are_ignored():
    assert validate_mail({**VALID, "cc": "bob@example.com"}).to.addr_spec == "jane@example.com"


def test_the_message_is_multipart_alternative_with_the_plain_part_first():
    message = compose(validate_mail(VALID), DEFAULT_SENDER)

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


def test_the_message_has_addresses_subject_date_and_message_id():
    message = compose(validate_mail({**VALID, "from": "ops@example.org"}), DEFAULT_SENDER)

    assert message["From"] == "ops@example.org"
    assert message["To"] == "jane@example.com"
    assert message["Subject"] == "Hello"
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    # Our own domain, whoever the caller names as sender.
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith("@example.com>")


def test_each_message_gets_its_own_id():
    first = compose(validate_mail(VALID), DEFAULT_SENDER)
    second = compose(validate_mail(VALID), DEFAULT_SENDER)

    assert first["Message-ID"] != second["Message-ID"]


def test_non_ascii_subject_and_body_are_utf8_on_a_7bit_clean_wire():
    mail = validate_mail({**VALID, "subject": "Grüße aus Köln ✓", "message": "Ünïcödé 日本"})

    wire = compose(mail, DEFAULT_SENDER).as_bytes(policy=policy.SMTP)
    parsed = message_from_bytes(wire, policy=policy.default)

    assert wire.isascii()
    assert b"Subject: =?utf-8?" in wire
    assert parsed["Subject"] == "Grüße aus Köln ✓"
    plain, html = parsed.iter_parts()
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert plain.get_content().splitlines() == ["Ünïcödé 日本"]
    assert "Ünïcödé 日本" in html.get_content()


def test_a_request_id_becomes_a_header_and_none_adds_nothing():
    mail = validate_mail({"to": "jane@example.com", "subject": "Hi", "message": "Hello"})

    assert compose(mail, DEFAULT_SENDER, "req-42")["X-Request-ID"] == "req-42"
    assert "X-Request-ID" not in compose(mail, DEFAULT_SENDER)
