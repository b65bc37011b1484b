"""A node list in AMQP_URI: split in order, and no password of any node shown in a log line."""

import logging
from unittest.mock import Mock

import pytest
from nameko.utils import sanitize_url

from common.amqp_uri import failover_policy, nodes, sanitize_amqp_uri
from common.queue_consumer import RobustQueueConsumer

CLUSTER = (
    "amqp://app:first-secret@rabbit-0:5672//;"
    "amqp://app:second-secret@rabbit-1:5672//;"
    "amqp://app:third-secret@rabbit-2:5672//"
)


def test_nameko_masks_only_the_first_node_of_a_list():
    # Why common.amqp_uri exists: when this starts failing, Nameko fixed it (drop the wrapper).
    shown = sanitize_url(CLUSTER)
    assert "first-secret" not in shown
    assert "second-secret" in shown


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            CLUSTER,
            "amqp://app:********@rabbit-0:5672//;amqp://app:********@rabbit-1:5672//;"
            "amqp://app:********@rabbit-2:5672//",
        ),
        ("amqp://guest:guest@localhost:5672//", "amqp://guest:********@localhost:5672//"),
        ("amqp://localhost//", "amqp://localhost//"),
        ("amqp://a:p@h1//; amqp://h2//", "amqp://a:********@h1//;amqp://h2//"),
    ],
)
def test_every_password_of_the_list_is_masked(uri, expected):
    assert sanitize_amqp_uri(uri) == expected


def test_nodes_in_order():
    assert nodes(CLUSTER + ";") == [url for url in CLUSTER.split(";")]


def test_the_consumer_reconnect_warning_shows_no_password(caplog):
    consumer = RobustQueueConsumer()
    consumer.container = Mock(config={"AMQP_URI": CLUSTER})  # what bind() would set
    with caplog.at_level(logging.WARNING, logger="common.queue_consumer"):
        consumer.on_connection_error(ConnectionRefusedError("refused"), 2)
    assert "rabbit-2" in caplog.text
    assert "secret" not in caplog.text


@pytest.mark.parametrize(("uri", "retries"), [(CLUSTER, 3), ("amqp://h//", 2)])
def test_the_failover_policy_reaches_every_node(uri, retries):
    policy = {"max_retries": 2, "interval_start": 0.1}
    assert failover_policy(uri, policy) == {"max_retries": retries, "interval_start": 0.1}
