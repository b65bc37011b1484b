"""RabbitMQ and SecantusDB for a benchmark: private ones (default) or the machine's own.

Private servers (a RabbitMQ node on free ports, `testing.rabbit_nodes`; a SecantusDB in a
temporary directory, `bench.log_data`) carry no other work, so their CPU per request is the
benchmark's alone; the machine's servers are shared with whatever else runs (tests, other
people's systems), which their CPU figures then include.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import psutil

from bench.log_data import private_secantusdb
from testing.rabbit_nodes import RabbitNode


@dataclass
class Infra:
    amqp_uri: str
    mongo_uri: str
    # The servers' processes by name, when they are ours to measure.
    processes: dict[str, psutil.Process] = field(default_factory=dict)


@contextmanager
def infrastructure(shared: bool) -> Iterator[Infra]:
    if shared:
        yield Infra(
            os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1"),
            os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017"),
        )
        return
    with ExitStack() as stack:
        mongo_uri, mongo_pid = stack.enter_context(private_secantusdb())
        node = RabbitNode.private()
        stack.callback(node.destroy)
        node.start(timeout=120)
        yield Infra(
            node.amqp_uri,
            mongo_uri,
            {"rabbitmq": psutil.Process(node.process.pid), "secantusdb": psutil.Process(mongo_pid)},
        )
