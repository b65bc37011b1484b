"""A private RabbitMQ cluster for tests: three `RabbitNode`s joined with `rabbitmqctl join_cluster`.

The nodes boot in parallel; the second and third then join the first (stop_app, join_cluster,
start_app, each step on both nodes at once). `amqp_uri` lists every node in kombu's failover
syntax (`amqp://...;amqp://...`), the way services are given a cluster.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from testing import rabbit_management as management
from testing.rabbit_management import QueueInfo
from testing.rabbit_nodes import RabbitNode, ctl_result
from testing.rabbit_processes import make_workdir


class RabbitCluster:
    def __init__(self, size: int = 3, prefix: str | None = None) -> None:
        self.directory: Path = make_workdir()
        prefix = prefix or f"rc{self.directory.name[-6:].lower()}"
        first = RabbitNode(f"{prefix}-1", self.directory / "1")
        self.nodes = [first] + [
            RabbitNode(f"{prefix}-{i}", self.directory / str(i), seed=first.nodename)
            for i in range(2, size + 1)
        ]

    @property
    def amqp_uri(self) -> str:
        """Every node, in kombu's failover syntax."""
        return ";".join(node.amqp_uri for node in self.nodes)

    def amqp_uri_for(self, vhost: str) -> str:
        """Every node, in kombu's failover syntax, on one virtual host."""
        return ";".join(node.amqp_uri.rstrip("/") + f"/{vhost}" for node in self.nodes)

    def add_vhost(self, vhost: str) -> None:
        node = self.any_ready()
        node.ctl("add_vhost", vhost)
        node.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def start(self, timeout: float = 90) -> None:
        """Boot the first node, then the others, which join it as they boot."""
        first, *others = self.nodes
        first.start(timeout)
        for node in others:
            node.launch()
        for node in others:
            node.wait_ready(timeout)
        self.join()

    def join(self) -> None:
        """`rabbitmqctl join_cluster` for any node not in the first one's cluster yet."""
        first, *others = self.nodes
        members = self.running_nodes()
        strays = [node for node in others if node.nodename not in members]
        if strays:
            _ctl_each(strays, "stop_app")
            _ctl_each(strays, "join_cluster", first.nodename)
            _ctl_each(strays, "start_app")
            for node in strays:
                node.wait_ready()
            members = self.running_nodes()
        if set(members) != {node.nodename for node in self.nodes}:
            raise RuntimeError(f"cluster formed with {sorted(members)} only")

    def node(self, name: str) -> RabbitNode:
        """A node by its full name (`rc...-2@localhost`) or its short one (`rc...-2`)."""
        for node in self.nodes:
            if name in (node.nodename, node.nodename.split("@")[0]):
                return node
        raise KeyError(f"no node {name!r} in {[n.nodename for n in self.nodes]}")

    def any_ready(self) -> RabbitNode:
        for node in self.nodes:
            if node.running and node.ready():
                return node
        raise RuntimeError("no node of the cluster is ready")

    def queue(self, name: str, vhost: str = "/") -> QueueInfo:
        return self.any_ready().queue(name, vhost)

    def leader_of(self, queue: str, vhost: str = "/") -> RabbitNode:
        """The node leading a quorum queue (the node hosting a classic one)."""
        leader = self.queue(queue, vhost).leader
        if leader is None:
            raise RuntimeError(f"queue {queue!r} has no leader")
        return self.node(leader)

    def running_nodes(self) -> list[str]:
        """The cluster's running members, as the management API of a ready node sees them."""
        return management.running_nodes(self.any_ready().management_url)

    def stop_node(self, name: str) -> RabbitNode:
        """Stop one node gracefully (the others keep the cluster going); returns it."""
        node = self.node(name)
        node.stop()
        return node

    def ensure_running(self, timeout: float = 90) -> None:
        """Undo what an earlier test did: every node's VM and application up again."""
        stopped = [node for node in self.nodes if not node.running]
        for node in stopped:
            node.launch()
        for node in stopped:
            node.wait_ready(timeout)
        for node in self.nodes:
            node.ensure_running(timeout)

    def destroy(self) -> None:
        for node in self.nodes:
            node.destroy()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RabbitCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


def _ctl_each(nodes: Iterable[RabbitNode], *args: str) -> None:
    """The same rabbitmqctl command on several nodes at once."""
    for process in [node.ctl_popen(*args) for node in nodes]:
        ctl_result(process)
