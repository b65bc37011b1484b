"""The one way a mail goes out, whichever entrypoint asked for it: validate, render, send."""

from __future__ import annotations

import logging
from typing import Any

from common import request_ids
from mailer.dependencies import SmtpClient
from mailer.mail import compose, validate_mail

log = logging.getLogger(__name__)


def deliver(raw_mail: Any, smtp: SmtpClient) -> dict[str, str]:
    """Send `{"from"?, "to", "subject", "message"}`; returns `{"to", "message_id"}`.

    Returns only after the mail server accepted the mail. Raises `InvalidInput` or
    `PayloadTooLarge` for a bad request (nothing is sent), `DownstreamError` or
    `DownstreamUnavailable` when the server refused or could not be reached.
    """
    mail = validate_mail(raw_mail)
    message = compose(mail, smtp.default_sender, request_ids.current_request_id())
    smtp.send(message)
    receipt = {"to": mail.to.addr_spec, "message_id": message["Message-ID"]}
    log.info("mail %s sent to %s", receipt["message_id"], receipt["to"])
    return receipt
