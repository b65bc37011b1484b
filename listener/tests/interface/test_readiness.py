"""The listener is ready only while its consumer is consuming `listener.logs`: on a private
RabbitMQ node whose application the test stops and starts again (the machine's is never
touched)."""

from listener.service import ListenerService
from testing.ops import wait_for_health


def test_readiness_follows_the_consumer(container_factory, config_for, rabbit_node):
    config = config_for("listener", AMQP_URI=rabbit_node.amqp_uri)
    container = container_factory(ListenerService, config)
    container.start()

    checks = wait_for_health(container, 200)
    assert checks["rabbitmq"]["detail"].startswith("consuming listener.logs; ")

    rabbit_node.stop_app()
    checks = wait_for_health(container, 503, timeout=30)
    assert checks["rabbitmq"]["ready"] is False
    assert checks["rabbitmq"]["detail"].startswith("not consuming listener.logs")

    rabbit_node.start_app()
    assert wait_for_health(container, 200, timeout=60)["rabbitmq"]["ready"] is True
