"""The logger's direct doors (XML-RPC :5001, gRPC :50001) with a door token configured: callers
without it are refused; the broker, configured with it, gets through (issue 10)."""

from __future__ import annotations

import xmlrpc.client

import pytest
import requests

from broker.service import BrokerService
from logger.service import LoggerService
from testing.grpc_client import call_from_plain_process
from testing.grpc_server import grpc_server_process
from testing.ports import free_port

DOOR_TOKEN = "door-token-for-this-test"
ENTRY = {"Name": "door", "Data": "knock"}


@pytest.fixture
def xmlrpc_url(runner_factory, config_for, mongo_database) -> str:
    port = free_port()
    config = config_for(
        "logger",
        MONGO_DATABASE=mongo_database,
        LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{port}",
        LOGGER_DOOR_TOKEN=DOOR_TOKEN,
    )
    runner_factory(config, LoggerService).start()
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def grpc_address(mongo_database):
    with grpc_server_process(mongo_database, LOGGER_DOOR_TOKEN=DOOR_TOKEN) as server:
        yield server.address


@pytest.mark.parametrize(
    "headers",
    [[], [("Authorization", "Bearer wrong")], [("Authorization", DOOR_TOKEN)]],
    ids=["none", "wrong-token", "no-scheme"],
)
def test_xmlrpc_refuses_a_caller_without_the_token(xmlrpc_url, logs, headers):
    proxy = xmlrpc.client.ServerProxy(
        xmlrpc_url, transport=xmlrpc.client.Transport(headers=headers)
    )
    with pytest.raises(xmlrpc.client.Fault) as raised:
        proxy.RPCServer.LogInfo(ENTRY)
    assert raised.value.faultCode == 401
    assert logs.count_documents({}) == 0


def test_xmlrpc_serves_a_caller_with_the_token(xmlrpc_url, logs):
    transport = xmlrpc.client.Transport(headers=[("Authorization", f"Bearer {DOOR_TOKEN}")])
    proxy = xmlrpc.client.ServerProxy(xmlrpc_url, transport=transport)
    assert proxy.RPCServer.LogInfo(ENTRY) == "Processed payload via RPC: door"
    assert logs.count_documents({"name": "door"}) == 1


def test_grpc_refuses_a_caller_without_the_token_and_serves_one_with_it(grpc_address, logs):
    call = {"name": "door", "data": "knock"}
    outcomes = call_from_plain_process(
        grpc_address,
        [
            call,
            {**call, "metadata": [["authorization", "Bearer wrong"]]},
            {**call, "metadata": [["authorization", f"Bearer {DOOR_TOKEN}"]]},
        ],
    )
    assert [outcome["code"] for outcome in outcomes] == ["UNAUTHENTICATED", "UNAUTHENTICATED", "OK"]
    assert logs.count_documents({"name": "door"}) == 1


def test_the_broker_goes_through_both_doors_with_the_token(
    runner_factory, config_for, xmlrpc_url, grpc_address, logs
):
    port = free_port()
    config = config_for(
        "broker",
        WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
        LOGGER_XMLRPC_URL=xmlrpc_url,
        LOGGER_GRPC_TARGET=grpc_address,
        LOGGER_DOOR_TOKEN=DOOR_TOKEN,
    )
    runner_factory(config, BrokerService).start()
    for route in ("/log-rpc", "/log-grpc"):
        response = requests.post(
            f"http://127.0.0.1:{port}{route}",
            json={"log": {"name": "door", "data": route}},
            timeout=10,
        )
        assert response.status_code == 202, response.text
    assert logs.count_documents({"name": "door"}) == 2
