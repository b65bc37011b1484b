"""Fixtures for the mailer against real RabbitMQ and a real SMTP catcher (maildev)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import pytest
import requests
from nameko.containers import ServiceContainer

from conftest import SMTP_HOST, SMTP_PORT
from mailer.service import MailerService

ARRIVAL_DEADLINE = 10.0


class Inbox:
    """The catcher's mail, read through maildev's JSON API, filtered by a per-test token.

    The catcher is shared, so a test only looks at mail carrying its own token (in the subject or
    the recipient).
    """

    def __init__(self, api: str, token: str) -> None:
        self.api = api
        self.token = token

    def mails(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.api}/email", timeout=5)
        response.raise_for_status()
        return [mail for mail in response.json() if self._ours(mail)]

    def wait_for_one(self) -> dict[str, Any]:
        deadline = time.monotonic() + ARRIVAL_DEADLINE
        while not (mails := self.mails()) and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        assert len(mails) == 1, f"expected one mail tagged {self.token}, got {len(mails)}"
        return mails[0]

    def source(self, mail: dict[str, Any]) -> bytes:
        response = requests.get(f"{self.api}/email/{mail['id']}/source", timeout=5)
        response.raise_for_status()
        return response.content

    def _ours(self, mail: dict[str, Any]) -> bool:
        recipients = " ".join(to["address"] for to in mail.get("to") or [])
        return self.token in (mail.get("subject") or "") or self.token in recipients


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def inbox(maildev: str, token: str) -> Inbox:
    return Inbox(maildev, token)


@pytest.fixture
def mailer_config(config_for: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The mailer's config.yaml on this test's vhost, sending to the test catcher."""

    def make(**overrides: Any) -> dict[str, Any]:
        return config_for("mailer", **{"MAIL_HOST": SMTP_HOST, "MAIL_PORT": SMTP_PORT, **overrides})

    return make


@pytest.fixture
def start_mailer(
    container_factory: Callable[..., ServiceContainer],
    mailer_config: Callable[..., dict[str, Any]],
) -> Callable[..., ServiceContainer]:
    def start(**overrides: Any) -> ServiceContainer:
        container = container_factory(MailerService, mailer_config(**overrides))
        container.start()
        return container

    return start


@pytest.fixture
def scripted_smtp() -> Iterator[Callable[[dict[str, str]], int]]:
    """A one-conversation SMTP server answering each command from a script; returns its port.

    `{"RCPT": "550 5.1.1 no such user"}` makes it refuse the recipient; commands not in the
    script get "250 OK". Real sockets, so smtplib and the error translation run unmodified.
    """
    servers: list[Any] = []

    def serve(script: dict[str, str]) -> int:
        listener = eventlet.listen(("127.0.0.1", 0))
        servers.append(eventlet.spawn(_converse, listener, script))
        return listener.getsockname()[1]

    yield serve
    for server in servers:
        server.kill()


def _converse(listener: Any, script: dict[str, str]) -> None:
    connection, _ = listener.accept()
    with connection, listener:
        stream = connection.makefile("rwb")
        stream.write(b"220 scripted ESMTP\r\n")
        stream.flush()
        for line in stream:
            command = line[:4].decode().upper()
            if command == "QUIT":
                stream.write(b"221 bye\r\n")
                stream.flush()
                return
            stream.write(script.get(command, "250 OK").encode() + b"\r\n")
            stream.flush()
