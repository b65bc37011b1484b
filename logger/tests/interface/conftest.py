"""A LoggerService container per test on the test's RabbitMQ vhost and its own Mongo database
(read directly through the root conftest's `logs`)."""

import pytest

from logger.service import LoggerService
from testing.ports import free_port


@pytest.fixture
def logger_config(config_for, mongo_database):
    return config_for(
        "logger",
        MONGO_DATABASE=mongo_database,
        LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
    )


@pytest.fixture
def logger_container(container_factory, logger_config):
    container = container_factory(LoggerService, logger_config)
    container.start()
    return container
