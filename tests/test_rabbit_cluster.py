"""What running on a RabbitMQ cluster rests on, proven on a private 3-node cluster (issue 12).

- A quorum queue declared explicitly (`x-queue-type: quorum`, which RabbitMQ 3.10 needs) keeps
  every persistent, publisher-confirmed message through the loss of its leader.
- kombu, given several nodes separated by `;`, moves to another node when its node stops.
- A Nameko 2.14.1 service given such an `AMQP_URI` starts and keeps answering RPC calls through
  the stop of the node it consumes from, once its RPC queue is a quorum queue. (Nameko itself
  declares `rpc-<service>` as a classic queue, which dies with its node; and it cannot redeclare
  a queue that exists as a quorum queue: RabbitMQ 3.10 refuses a declare without the same
  `x-queue-type` with PRECONDITION_FAILED. `QuorumRpc` below stands in for the real fix.)
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

import eventlet
import pytest
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Queue
from nameko.rpc import Rpc, RpcConsumer
from nameko.standalone.rpc import ClusterRpcProxy

from testing.rabbit_cluster import RabbitCluster
from testing.rabbit_nodes import RabbitNode

MESSAGES = 500
QUORUM = {"x-queue-type": "quorum"}
log = logging.getLogger(__name__)
RETRY = {"max_retries": 20, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def quorum_queue() -> Queue:
    return Queue(f"test-qq-{uuid.uuid4().hex[:8]}", durable=True, queue_arguments=QUORUM)


def publish_confirmed(uri: str, queue: Queue, bodies: list[Any]) -> None:
    """Persistent messages; with confirm_publish each publish returns once RabbitMQ acked it."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for body in bodies:
            producer.publish(body, routing_key=queue.name, delivery_mode=2, declare=[queue])


def consume(uri: str, queue: Queue, count: int, seconds: float = 60) -> list[Any]:
    """Up to `count` bodies from `queue`, acknowledged; reconnects while the queue fails over."""
    received: list[Any] = []

    def on_message(body: Any, message: Any) -> None:
        received.append(body)
        message.ack()

    deadline = time.monotonic() + seconds
    with Connection(uri) as connection:
        while len(received) < count and time.monotonic() < deadline:
            try:
                with connection.Consumer(queue, callbacks=[on_message], prefetch_count=100):
                    while len(received) < count and time.monotonic() < deadline:
                        with contextlib.suppress(TimeoutError):
                            connection.drain_events(timeout=1)
            except connection.connection_errors + connection.channel_errors:
                connection.close()
                time.sleep(0.5)
    return received


def node_at(cluster: RabbitCluster, port: int) -> RabbitNode:
    return next(node for node in cluster.nodes if node.amqp_port == port)


def test_quorum_queue_keeps_every_confirmed_message_when_its_leader_stops(
    rabbit_cluster: RabbitCluster,
) -> None:
    queue = quorum_queue()
    publish_confirmed(rabbit_cluster.nodes[0].amqp_uri, queue, list(range(MESSAGES)))
    info = rabbit_cluster.queue(queue.name)
    assert info.type == "quorum"
    assert sorted(info.members) == sorted(node.nodename for node in rabbit_cluster.nodes)

    leader = rabbit_cluster.leader_of(queue.name)
    leader.stop()
    survivor = next(node for node in rabbit_cluster.nodes if node is not leader)
    received = consume(survivor.amqp_uri, queue, MESSAGES)

    assert sorted(received) == list(range(MESSAGES))  # every message, each once
    assert rabbit_cluster.leader_of(queue.name) is not leader


def test_a_queue_declared_as_quorum_cannot_be_redeclared_without_its_type(
    rabbit_cluster: RabbitCluster,
) -> None:
    queue = quorum_queue()
    with Connection(rabbit_cluster.nodes[0].amqp_uri) as connection:
        queue(connection.channel()).declare()
        with pytest.raises(PreconditionFailed, match="x-queue-type"):
            Queue(queue.name, durable=True)(connection.channel()).declare()


def test_kombu_fails_over_to_another_node_of_the_list(rabbit_cluster: RabbitCluster) -> None:
    queue = quorum_queue()
    options = {"confirm_publish": True}
    with Connection(rabbit_cluster.amqp_uri, transport_options=options) as connection:
        producer = connection.Producer()
        producer.publish("before", routing_key=queue.name, declare=[queue], retry=True)
        first = node_at(rabbit_cluster, connection.port)

        first.stop()
        producer.publish("after", routing_key=queue.name, retry=True, retry_policy=RETRY)
        second = node_at(rabbit_cluster, connection.port)

    assert second is not first
    assert sorted(consume(second.amqp_uri, queue, 2)) == ["after", "before"]


class QuorumRpcConsumer(RpcConsumer):
    """Nameko's RPC consumer with `rpc-<service>` declared as a quorum queue."""

    def setup(self) -> None:
        super().setup()
        self.queue.queue_arguments = QUORUM


class QuorumRpc(Rpc):
    rpc_consumer = QuorumRpcConsumer()


class EchoService:
    name = "echo"

    @QuorumRpc.decorator
    def echo(self, value: int) -> int:
        return value


def consumer_node(cluster: RabbitCluster, queue: str, seconds: float = 10) -> RabbitNode:
    """The node whose connection consumes `queue` (the management API's consumer details)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        node = cluster.any_ready()
        details = node.queue_details(queue).get("consumer_details") or []
        if details:
            return cluster.node(details[0]["channel_details"]["node"])
        time.sleep(0.5)
    raise TimeoutError(f"nobody consumes {queue}")


def test_nameko_service_on_a_node_list_answers_through_the_stop_of_its_node(
    rabbit_cluster: RabbitCluster, container_factory: Any
) -> None:
    container = container_factory(EchoService, {"AMQP_URI": rabbit_cluster.amqp_uri})
    container.start()
    service_node = consumer_node(rabbit_cluster, "rpc-echo")
    # The caller stays on the other nodes: its reply queue is classic and dies with its node.
    others = [node for node in rabbit_cluster.nodes if node is not service_node]
    caller_config = {"AMQP_URI": ";".join(node.amqp_uri for node in others)}

    with ClusterRpcProxy(caller_config, timeout=5) as rpc:
        assert rpc.echo.echo(1) == 1
        stopping = time.monotonic()
        # The node closes its connections at once and takes ~6 s to stop: call meanwhile.
        stop = eventlet.spawn(service_node.stop)
        eventlet.sleep(1)
        failures = 0
        while rpc_fails(rpc, 2):
            failures += 1
            assert time.monotonic() - stopping < 60, "no answer within 60 s of the node stop"
        answered_after = time.monotonic() - stopping
        stop.wait()
        stopped_in = time.monotonic() - stopping
        assert not service_node.running
        assert [rpc.echo.echo(n) for n in range(20)] == list(range(20))

    assert not container._died.ready(), "the service container stopped"
    assert consumer_node(rabbit_cluster, "rpc-echo") is not service_node
    log.info(
        "node stopped in %.1f s; answering %.1f s after the stop began (%d calls failed)",
        stopped_in,
        answered_after,
        failures,
    )


def rpc_fails(rpc: Any, value: int) -> bool:
    try:
        return rpc.echo.echo(value) != value
    except Exception:  # the call timed out, or the proxy's connection broke
        return True
