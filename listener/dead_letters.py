"""Look at, replay or purge the listener's dead-letter queue.

    python -m listener.dead_letters show [--limit N]    # reason, attempts, routing key, body
    python -m listener.dead_letters replay [--limit N]  # back to logs_topic, attempts reset
    python -m listener.dead_letters purge               # drop them all

`show` leaves the queue as it was. `replay` republishes each message to `logs_topic` with its
original routing key, waits for RabbitMQ's publisher confirm, and only then removes it from the
dead-letter queue: a message that cannot be replayed stays where it is. The RabbitMQ address
comes from listener/config.yaml (`AMQP_URI`), like the service's: on a cluster, every node is
listed and the tool connects to the first one that answers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu import Connection, Producer
from kombu.message import Message

from common import queues
from common.amqp_uri import failover_policy
from common.log_topology import LISTENER_QUEUE, LOGS_EXCHANGE
from listener.deliveries import (
    ATTEMPTS_HEADER,
    DEAD_LETTERED_AT_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    publisher_headers,
    raw_body,
)
from listener.queues import DEAD_LETTER_QUEUE
from listener.settings import ListenerSettings

BODY_PREVIEW_CHARS = 1000
# Every node of AMQP_URI is tried (common/amqp_uri.py), a few rounds, before the tool gives up.
CONNECT_POLICY = {"max_retries": 3, "interval_start": 1, "interval_step": 1, "interval_max": 2}


@contextmanager
def dead_letter_channel() -> Iterator[Any]:
    """A channel in confirm mode. Messages fetched but not acked go back when it closes."""
    uri = ListenerSettings.from_config_file().amqp_uri
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        connection.ensure_connection(**failover_policy(uri, CONNECT_POLICY))
        queues.declare(DEAD_LETTER_QUEUE, connection)
        queues.declare(LISTENER_QUEUE, connection)
        channel = connection.channel()
        try:
            yield channel
        finally:
            channel.close()


def fetch(channel: Any, limit: int | None) -> Iterator[Message]:
    """Messages from the head of the queue, unacknowledged, at most `limit` of them.

    Never more than the queue held at the start: a replayed message that fails again comes back
    to the tail while we read, and must not be replayed over and over.
    """
    queue = DEAD_LETTER_QUEUE(channel)
    available = queue.queue_declare(passive=True).message_count
    for _ in range(available if limit is None else min(limit, available)):
        message = queue.get(no_ack=False)
        if message is None:
            return
        yield message


def describe(number: int, message: Message) -> str:
    headers = message.headers or {}
    raw = raw_body(message)
    body = raw.decode("utf-8", errors="replace")
    if len(body) > BODY_PREVIEW_CHARS:
        body = f"{body[:BODY_PREVIEW_CHARS]}... ({len(raw)} bytes)"
    return "\n".join(
        [
            f"--- {number}: message_id={message.properties.get('message_id')} "
            f"routing_key={headers.get(ROUTING_KEY_HEADER)} "
            f"attempts={headers.get(ATTEMPTS_HEADER)} "
            f"dead_lettered_at={headers.get(DEAD_LETTERED_AT_HEADER)}",
            f"reason: {headers.get(REASON_HEADER)}",
            f"body: {body}",
        ]
    )


def show(limit: int | None) -> int:
    with dead_letter_channel() as channel:
        count = 0
        for count, message in enumerate(fetch(channel, limit), start=1):
            print(describe(count, message))
    print(f"{count} dead-lettered message(s) shown from {DEAD_LETTER_QUEUE.name}")
    return 0


def replay(limit: int | None) -> int:
    replayed = kept = 0
    with dead_letter_channel() as channel:
        producer = Producer(channel, exchange=LOGS_EXCHANGE)
        for message in fetch(channel, limit):
            headers = message.headers or {}
            routing_key = headers.get(ROUTING_KEY_HEADER)
            try:
                if not routing_key:
                    raise ValueError("no original routing key")
                producer.publish(
                    raw_body(message),
                    routing_key=routing_key,
                    headers=publisher_headers(headers),
                    message_id=message.properties.get("message_id"),
                    content_type=message.content_type or "application/octet-stream",
                    content_encoding=message.content_encoding or "binary",
                    delivery_mode="persistent",
                    mandatory=True,
                )
            except Exception as exc:  # keep it dead-lettered, say why, go on with the rest
                kept += 1
                print(f"kept {message.properties.get('message_id')}: {exc}", file=sys.stderr)
                continue
            message.ack()
            replayed += 1
    print(f"replayed {replayed} message(s) to {LOGS_EXCHANGE.name}, kept {kept}")
    return 1 if kept else 0


def purge() -> int:
    with dead_letter_channel() as channel:
        purged = DEAD_LETTER_QUEUE(channel).purge()
    print(f"purged {purged} message(s) from {DEAD_LETTER_QUEUE.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m listener.dead_letters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("show", "list the messages"), ("replay", "republish them")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--limit", type=int, default=None, help="at most N messages")
    commands.add_parser("purge", help="delete every message")
    args = parser.parse_args(argv)
    if args.command == "show":
        return show(args.limit)
    if args.command == "replay":
        return replay(args.limit)
    return purge()


if __name__ == "__main__":
    sys.exit(main())
