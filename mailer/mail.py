"""The mail a caller asks for: validation of the request and the MIME message built from it.

Every rule lives here so that the RPC and the event path refuse exactly the same inputs with the
same messages. Header fields are checked for line breaks before anything else: a line break in
From, To or Subject would let a caller add headers of their own (a Bcc, say) to the mail we send.
Not only CR and LF: Python's email package also breaks lines at the other characters
`str.splitlines` knows (VT, FF, FS, GS, RS, NEL, U+2028, U+2029).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, StringConstraints
from pydantic_core import PydanticCustomError

from common.errors import PayloadTooLarge
from common.validation import Payload, validate
from mailer.rendering import render

FIELD = "mail"
MAX_SUBJECT_CHARS = 255
MAX_MESSAGE_BYTES = 64 * 1024


# Every character str.splitlines() breaks a line at, besides CR and LF.
OTHER_LINE_BREAKS = frozenset("\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def single_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain CR or LF (header injection)")
    for char in value:
        if char in OTHER_LINE_BREAKS:
            raise ValueError(f"must not contain a line break (U+{ord(char):04X}, header injection)")
    return value


def parse_mailbox(value: str) -> Address:
    """`jane@example.com` or `Jane Doe <jane@example.com>` -> Address, checked by email-validator.

    Non-ASCII local parts are refused (they need SMTPUTF8, which many servers lack); non-ASCII
    domains are sent in their ASCII (IDNA) form, which every server accepts.
    """
    try:
        checked = validate_email(
            single_line(value),
            check_deliverability=False,
            allow_smtputf8=False,
            allow_display_name=True,
        )
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None
    return Address(display_name=checked.display_name or "", addr_spec=checked.ascii_email)


def _mailbox(value: object) -> Address:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return parse_mailbox(value)


def _blank_as_missing(value: object) -> object:
    # The Go original treats "from": "" as "use the default sender"; so do we.
    return None if value == "" else value


Mailbox = Annotated[Address, PlainValidator(_mailbox)]


class MailRequest(Payload):
    """`{"from"?, "to", "subject", "message"}`: the broker's `mail` part or an event payload."""

    sender: Annotated[Mailbox | None, BeforeValidator(_blank_as_missing)] = Field(
        default=None, alias="from"
    )
    to: Mailbox
    subject: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_SUBJECT_CHARS),
        AfterValidator(single_line),
    ]
    message: Annotated[str, StringConstraints(min_length=1)]


def validate_mail(raw: Any) -> MailRequest:
    """The request as a `MailRequest`, or `InvalidInput` / `PayloadTooLarge` naming the field."""
    mail = validate(MailRequest, raw, FIELD)
    if len(mail.message.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"{FIELD}.message must be at most 64 KiB")
    return mail


def compose(
    mail: MailRequest, default_sender: Address, request_id: str | None = None
) -> EmailMessage:
    """multipart/alternative, plain part first: clients show the LAST part they can display.
    `request_id` (common/request_ids.py: visible ASCII, at most 128 characters) goes into an
    `X-Request-ID` header, so a mail can be traced back to the request that sent it."""
    rendered = render(subject=mail.subject, message=mail.message)
    message = EmailMessage()
    message["From"] = mail.sender or default_sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = datetime.now(UTC)
    # Our own domain, not the caller's: make_msgid() without one would ask DNS for our hostname.
    message["Message-ID"] = make_msgid(domain=default_sender.domain)
    if request_id:
        message["X-Request-ID"] = request_id
    # Quoted-printable keeps both parts 7-bit clean (any server relays them) yet readable.
    message.set_content(rendered.plain, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message
