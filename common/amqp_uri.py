"""`AMQP_URI` may list several RabbitMQ nodes: `amqp://u:p@node1//;amqp://u:p@node2//;...`.

kombu reads that list as "connect to the first, fail over to the others" (its failover syntax),
and every connection in this system (Nameko's consumers and publishers, the broker's confirmed
publisher, the listener's redelivery, the dead-letter tool, the benchmark) is made from the one
setting, so a cluster is given to a service the same way as a single node.

Nameko's `sanitize_url` masks the password of the first URL only: in a log line such as "Error
connecting to broker at ..." the second and later nodes' passwords were printed in clear.
`sanitize_amqp_uri` masks every one; use it wherever a URI is shown.
"""

from __future__ import annotations

from nameko.utils import sanitize_url

SEPARATOR = ";"


def nodes(uri: str) -> list[str]:
    """The URLs of the nodes an AMQP_URI lists, in order."""
    return [url.strip() for url in uri.split(SEPARATOR) if url.strip()]


def sanitize_amqp_uri(uri: str) -> str:
    """The URI with the password of every node it lists masked."""
    return SEPARATOR.join(sanitize_url(url) for url in nodes(uri))


def failover_policy(uri: str, policy: dict[str, float]) -> dict[str, float]:
    """A kombu retry policy that tries every node of `uri` at least once before giving up.

    kombu moves to the next node after each failed attempt and sleeps only after a full round,
    so `max_retries` below the number of nodes would give up with a node never tried (with two
    of three nodes down, kombu's default of one retry never reaches the third).
    """
    return {**policy, "max_retries": max(int(policy.get("max_retries", 0)), len(nodes(uri)))}
