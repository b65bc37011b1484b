"""`Smtp`: the mail server, as a Nameko dependency.

One SMTP connection per mail, on purpose. Mail is rare here (a few per user action at most) and a
connection costs milliseconds, while a kept-alive one brings states that are hard to get right:
servers drop idle sessions (Postfix after 5 minutes), so a reused connection must be probed and
reopened, and a session that broke mid-mail cannot tell us whether the mail went out. A fresh
connection per mail gives one clear answer per mail; nothing is held between workers, so
there is nothing to close in stop().

Failures become the system's errors: an unreachable or silent server is `DownstreamUnavailable`
(504), a server that answers with a refusal is `DownstreamError` (502). Their messages name what
went wrong without the server's own reply text, which may carry internal host names; that text is
logged here instead.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

from common.errors import DownstreamError, DownstreamUnavailable, ServiceError
from common.metrics import MAILS
from common.readiness import CHECK_TIMEOUT, Check, run_check
from common.settings import settings_for
from mailer.settings import SmtpSettings

log = logging.getLogger(__name__)


class SmtpClient:
    """What a worker gets: `send(message)`, and the sender to use when a caller names none."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.default_sender = settings.default_sender

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; returns only once the server has accepted it."""
        try:
            self._send(message)
        except Exception as exc:
            MAILS.labels("failed").inc()
            error = translate(exc, self.settings.timeout)
            if error is None:
                raise
            log.warning("mail %s not sent: %s (%r)", message["Message-ID"], error.message, exc)
            raise error from None
        MAILS.labels("sent").inc()

    def _send(self, message: EmailMessage) -> None:
        # Two deadlines, as in go-simple-mail: one to connect (TCP, greeting, STARTTLS, login),
        # one to send. The socket timeout alone would bound each read, not a server that trickles.
        timeout = self.settings.timeout
        with eventlet.Timeout(timeout, TimeoutError("SMTP connect deadline")):
            connection = self._open()
        try:
            with eventlet.Timeout(timeout, TimeoutError("SMTP send deadline")):
                connection.send_message(message)
                try:
                    connection.quit()
                except (smtplib.SMTPException, OSError):
                    # The server has accepted the mail; a failed goodbye changes nothing.
                    log.debug("QUIT after mail %s failed", message["Message-ID"], exc_info=True)
        finally:
            connection.close()

    def _open(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.encryption == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            if settings.encryption == "tls":
                connection.starttls(context=ssl.create_default_context())
            if settings.username:
                connection.login(settings.username, settings.password)
        except BaseException:
            connection.close()
            raise
        return connection


def translate(exc: BaseException, timeout: float) -> ServiceError | None:
    """The system's error for a failed SMTP exchange, or None for a bug to let through.

    The order matters: every smtplib exception is also an OSError.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(sorted({str(code) for code, _ in exc.recipients.values()}))
        return DownstreamError(f"mail server refused the recipient ({codes})")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return DownstreamError(f"mail server refused the sender ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DownstreamError(f"mail server refused the login ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPResponseException):
        return DownstreamError(f"mail server refused the mail ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a read that timed out as a disconnection; the cause tells them apart.
        if isinstance(exc.__context__, TimeoutError):
            return translate(exc.__context__, timeout)
        return DownstreamUnavailable("mail server unreachable: it closed the connection")
    if isinstance(exc, smtplib.SMTPException):
        # Raised by smtplib itself (no STARTTLS or AUTH support, no usable auth method).
        return DownstreamError(f"mail server cannot take the mail: {exc}")
    if isinstance(exc, ssl.SSLError):
        return DownstreamError("mail server unusable: TLS negotiation failed")
    if isinstance(exc, socket.gaierror):
        return DownstreamUnavailable("mail server unreachable: its host name does not resolve")
    if isinstance(exc, TimeoutError):
        return DownstreamUnavailable(f"mail server unreachable: no answer within {timeout:g} s")
    if isinstance(exc, OSError):
        # Green sockets put the errno's name ("ECONNREFUSED") in strerror: describe it ourselves.
        reason = os.strerror(exc.errno).lower() if exc.errno else "connection failed"
        return DownstreamUnavailable(f"mail server unreachable: {reason}")
    return None


class Smtp(DependencyProvider):
    """Every worker gets an `SmtpClient` on the mailer's settings (the MAIL_* / FROM_* keys)."""

    def setup(self) -> None:
        self.settings = settings_for(self.container, SmtpSettings)

    def get_dependency(self, worker_ctx: Any) -> SmtpClient:
        return SmtpClient(self.settings)

    def readiness(self) -> dict[str, Check]:
        """The mail server greets, takes a login if configured, and answers NOOP."""

        def probe() -> str:
            with eventlet.Timeout(CHECK_TIMEOUT, TimeoutError("no answer in time")):
                connection = SmtpClient(self.settings)._open()
                try:
                    code, _ = connection.noop()
                finally:
                    connection.close()
            if code != 250:
                raise ConnectionError(f"NOOP answered {code}")
            return f"{self.settings.host}:{self.settings.port} answered NOOP"

        return {"smtp": run_check(probe)}
