"""The logger is ready when RabbitMQ and MongoDB answer; MongoDB is reached through a port the
test closes and opens again (the machine's SecantusDB is never stopped)."""

from urllib.parse import urlsplit

from logger.service import LoggerService
from testing.infrastructure import MONGO_URI
from testing.ops import wait_for_health
from testing.ports import free_port


def test_readiness_follows_mongodb(container_factory, config_for, mongo_database, late_ports):
    mongo = urlsplit(MONGO_URI)
    door = late_ports((mongo.hostname, mongo.port or 27017))
    door.open()
    config = config_for(
        "logger",
        MONGO_URI=f"mongodb://127.0.0.1:{door.port}/?directConnection=true",
        MONGO_DATABASE=mongo_database,
        LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
    )
    container = container_factory(LoggerService, config)
    container.start()

    checks = wait_for_health(container, 200)
    assert checks["mongodb"] == {"ready": True, "detail": "ping answered", "required": True}

    door.close()
    checks = wait_for_health(container, 503)
    assert checks["mongodb"]["ready"] is False
    assert checks["rabbitmq"]["ready"] is True

    door.open()
    assert wait_for_health(container, 200)["mongodb"]["ready"] is True
