"""Fixtures of the storage tests: a LogStore on this test's MongoDB database, once with the
plain indexed query (MongoDB) and once with the time windows (SecantusDB)."""

import pytest

from logger.storage import LogStore


@pytest.fixture
def database(mongo_client, mongo_database):
    return mongo_client[mongo_database]


@pytest.fixture(params=[False, True], ids=["plain-query", "time-windows"])
def store(request, database):
    return LogStore(database, sorts_all_matches=request.param)
