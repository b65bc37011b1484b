"""The mailer service: sends templated mail over SMTP for the other services.

It has no HTTP port. Two doors, both over RabbitMQ and both through `deliver()`:
- RPC `mailer.send_mail(mail)`, for a caller that needs the outcome (the broker's `mail` action:
  its 202 must mean the mail server accepted the mail);
- the event `send_mail_requested` with the same payload, for a service that just wants a mail
  sent (a welcome mail from auth, an alert from the listener) without the broker in between.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from nameko.events import SERVICE_POOL
from tenacity import RetryCallState, retry, retry_if_exception_type, wait_exponential

from common.errors import DownstreamUnavailable, ServiceError
from common.event_handlers import event_handler
from common.ops import Operations
from common.rpc import rpc
from common.settings import Settings
from common.tracing import CallTracer
from mailer.delivery import deliver
from mailer.dependencies import Smtp
from mailer.settings import SmtpSettings

log = logging.getLogger(__name__)

MAIL_REQUESTED = "send_mail_requested"
# While the mail server is unreachable, a requested mail is tried again after 1, 2, 4... s, then
# every 60 s, for as long as it takes.
UNREACHABLE_RETRY_SECONDS = 1.0
UNREACHABLE_RETRY_MAX_SECONDS = 60.0


def mail_requested_by(source: str) -> Any:
    """Handle `send_mail_requested` events dispatched by the service `source`.

    Nameko events belong to the service that dispatches them (one exchange per service), so a
    handler names its sources. The list below is the explicit allow-list of services that may ask
    for mail; a new one is one line. The alternative, a well-known pseudo-source every caller
    fakes with a standalone dispatcher, would hide who asked and bypass `EventDispatcher`.

    SERVICE_POOL with reliable delivery: one durable queue per source, shared by all mailer
    instances, so each request is sent once, and requests made while the mailer is down wait.
    No requeue on error: a refused request fails the same way again, and requeueing while the mail
    server is down would spin; the handler logs every failure at ERROR with what was asked instead.
    """
    return event_handler(
        source,
        MAIL_REQUESTED,
        handler_type=SERVICE_POOL,
        reliable_delivery=True,
        requeue_on_error=False,
    )


class MailerService:
    name = "mailer"

    tracer = CallTracer()
    ops = Operations()
    settings = Settings(SmtpSettings)
    smtp = Smtp()

    @rpc(expected_exceptions=ServiceError)
    def send_mail(self, mail: dict[str, Any]) -> dict[str, str]:
        return deliver(mail, self.smtp)

    @mail_requested_by("auth")
    @mail_requested_by("broker")
    @mail_requested_by("listener")
    @mail_requested_by("logger")
    def handle_send_mail_requested(self, mail: dict[str, Any]) -> None:
        try:
            deliver_when_reachable(mail, self.smtp)
        except ServiceError as exc:
            log.error("requested mail NOT sent: %s; request was %s", exc.message, summary(mail))
        except Exception:
            # A bug: it would fail again on every redelivery. Logged with its traceback.
            log.exception(
                "requested mail NOT sent (unexpected error); request was %s", summary(mail)
            )


def _waiting(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "requested mail waits for the mail server (%s); next try in %.0f s",
        exc,
        state.upcoming_sleep,
    )


@retry(
    retry=retry_if_exception_type(DownstreamUnavailable),
    wait=wait_exponential(multiplier=UNREACHABLE_RETRY_SECONDS, max=UNREACHABLE_RETRY_MAX_SECONDS),
    before_sleep=_waiting,
    sleep=eventlet.sleep,
    reraise=True,
)
def deliver_when_reachable(mail: Any, smtp: Any) -> dict[str, str]:
    return deliver(mail, smtp)


def summary(mail: Any) -> str:
    """Enough of a failed request to find and resend it, without its (possibly long) message."""
    if not isinstance(mail, dict):
        return f"not an object: {mail!r:.100}"
    return ", ".join(f"{key}={mail.get(key)!r:.200}" for key in ("from", "to", "subject"))
