"""The listener's metrics after known traffic: stored, dead-lettered, batch sizes; its /health."""

from prometheus_client import REGISTRY

from common.log_topology import LISTENER_QUEUE
from listener.queues import DEAD_LETTER_QUEUE
from listener.service import ListenerService
from logger.service import LoggerService
from testing.ops import wait_for_health
from testing.ports import free_port
from testing.waiting import wait_until

from .helpers import publish_logs, queue_depth


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_known_traffic_shows_exactly_in_the_counters(
    runner_factory, config_for, mongo_database, amqp_uri, logs
):
    logger = config_for(
        "logger", MONGO_DATABASE=mongo_database, LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}"
    )
    runner_factory(logger, LoggerService).start()
    before = {
        outcome: sample("listener_messages_total", outcome=outcome)
        for outcome in ("stored", "dead_lettered", "retried")
    }
    batches_before = sample("listener_batch_size_count")
    sizes_before = sample("listener_batch_size_sum")

    publish_logs(amqp_uri, [{"name": "m", "data": str(n)} for n in range(5)] + [b"not json"])
    runner = runner_factory(config_for("listener"), ListenerService)
    runner.start()

    wait_until(lambda: logs.count_documents({}) == 5, what="5 stored entries")
    wait_until(lambda: queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 1, what="1 dead letter")
    assert sample("listener_messages_total", outcome="stored") == before["stored"] + 5
    assert sample("listener_messages_total", outcome="dead_lettered") == before["dead_lettered"] + 1
    assert sample("listener_messages_total", outcome="retried") == before["retried"]
    assert sample("listener_batch_size_sum") == sizes_before + 6
    assert sample("listener_batch_size_count") > batches_before
    (listener,) = runner.containers
    checks = wait_for_health(listener, 200)
    assert checks["rabbitmq"]["detail"].startswith(f"consuming {LISTENER_QUEUE.name}; ")
    assert checks["logger service"] == {"ready": True, "detail": "1 consumer(s)", "required": False}
