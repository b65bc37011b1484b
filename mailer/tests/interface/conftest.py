"""Fixtures for the mailer against real RabbitMQ and a real SMTP catcher (maildev); the catcher's
mail is read through the root conftest's `inbox` (testing/inbox.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import pytest
from nameko.containers import ServiceContainer

from mailer.service import MailerService
from testing.infrastructure import SMTP_HOST, SMTP_PORT


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
