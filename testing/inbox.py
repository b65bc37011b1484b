"""The SMTP catcher's mail as one test sees it.

The catcher (maildev) is shared by every test and by concurrent test sessions, so a test looks only
at mail carrying its own token (in the subject or a recipient) and never empties the inbox.
"""

from __future__ import annotations

from typing import Any

import requests

from testing.waiting import wait_until

ARRIVAL_DEADLINE = 10.0


class Inbox:
    """The catcher's mail tagged with `token`, read through maildev's JSON API."""

    def __init__(self, api: str, token: str) -> None:
        self.api = api
        self.token = token

    def mails(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.api}/email", timeout=5)
        response.raise_for_status()
        return [mail for mail in response.json() if self._ours(mail)]

    def wait_for_one(self) -> dict[str, Any]:
        """The one mail tagged with the token, once it arrived; fails if none or several."""
        mails = wait_until(self.mails, f"a mail tagged {self.token}", timeout=ARRIVAL_DEADLINE)
        assert len(mails) == 1, f"expected one mail tagged {self.token}, got {len(mails)}"
        return mails[0]

    def source(self, mail: dict[str, Any]) -> bytes:
        response = requests.get(f"{self.api}/email/{mail['id']}/source", timeout=5)
        response.raise_for_status()
        return response.content

    def _ours(self, mail: dict[str, Any]) -> bool:
        recipients = " ".join(to["address"] for to in mail.get("to") or [])
        return self.token in (mail.get("subject") or "") or self.token in recipients
