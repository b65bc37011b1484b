"""Pytest fixtures: a private RabbitMQ node and a private 3-node cluster, one of each per module.

Registered by the root conftest (`pytest_plugins`). Booting costs seconds (about 5 s for a node,
15 s for the cluster), so the tests of a module share them: `rabbit_node` and `rabbit_cluster`
hand the module's node or cluster to each test after undoing what an earlier test did to it (a
stopped node or RabbitMQ application is started again), so a test may stop, kill and restart
nodes freely. Queues and messages are not reset: a test uses names of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.rabbit_cluster import RabbitCluster
from testing.rabbit_nodes import RabbitNode


@pytest.fixture(scope="module")
def rabbit_node_shared() -> Iterator[RabbitNode]:
    """The module's private node (as left by the previous test; prefer `rabbit_node`)."""
    node = RabbitNode.private()
    try:
        node.start()
        yield node
    finally:
        node.destroy()


@pytest.fixture
def rabbit_node(rabbit_node_shared: RabbitNode) -> RabbitNode:
    """A private single RabbitMQ node with the management plugin, running."""
    rabbit_node_shared.ensure_running()
    return rabbit_node_shared


@pytest.fixture(scope="module")
def rabbit_cluster_shared() -> Iterator[RabbitCluster]:
    """The module's private cluster (as left by the previous test; prefer `rabbit_cluster`)."""
    cluster = RabbitCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def rabbit_cluster(rabbit_cluster_shared: RabbitCluster) -> RabbitCluster:
    """A private 3-node RabbitMQ cluster, every node running."""
    rabbit_cluster_shared.ensure_running()
    return rabbit_cluster_shared
