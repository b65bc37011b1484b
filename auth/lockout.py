"""The mail an account's owner gets when sign-in failures lock the account (auth/throttling.py).

Sent through the `send_mail_requested` event, which the mailer delivers (mailer/service.py); the
sender is the mailer's `FROM_ADDRESS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from string import Template
from typing import Any

SUBJECT = "Sign-in to your account is locked for $minutes minutes"
MESSAGE = Template(
    """Hello $name,

At $time, sign-in to your account ($email) was locked after $failures failed attempts in a row.
The last attempt came from the address $address.

Sign-in works again at $until. If these attempts were not yours, somebody may be guessing your
password: choose a new, strong one once you are signed in.
"""
)


def lockout_mail(
    email: str,
    first_name: str,
    address: str | None,
    failures: int,
    locked_for: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The `send_mail_requested` payload: {to, subject, message}."""
    now = now or datetime.now(UTC)
    until = datetime.fromtimestamp(now.timestamp() + locked_for, UTC)
    minutes = max(1, round(locked_for / 60))
    return {
        "to": email,
        "subject": Template(SUBJECT).substitute(minutes=minutes),
        "message": MESSAGE.substitute(
            name=first_name or email,
            time=now.strftime("%Y-%m-%d %H:%M:%S UTC"),
            email=email,
            failures=failures,
            address=address or "unknown (not through the broker)",
            until=until.strftime("%Y-%m-%d %H:%M:%S UTC"),
        ),
    }
