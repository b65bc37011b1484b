"""README's "Which routes need a token" against the broker itself: every route of BrokerService is
in the table once, marked "token" exactly when it is protected, and answers a request without a
token (body `{}` for the methods with a body) with the status the table gives."""

from __future__ import annotations

import re

import pytest
import requests

from broker.http import BrokerHttp
from broker.service import BrokerService
from common.config import ROOT
from testing.ports import free_port

SECTION = "### Which routes need a token"
ROW = re.compile(
    r"^\| `(?P<method>[A-Z]+) (?P<path>[^`]+)` \| (?P<token>token|no) \| (?P<status>\d{3}) \|$"
)


def readme_routes() -> dict[tuple[str, str], tuple[bool, int]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], tuple[bool, int]] = {}
    for line in section.splitlines():
        if match := ROW.match(line):
            key = (match["method"], match["path"])
            assert key not in rows, f"{key} is listed twice"
            rows[key] = (match["token"] == "token", int(match["status"]))
    return rows


def broker_routes() -> dict[tuple[str, str], bool]:
    """(method, path with `{name}` for each variable) -> protected, from the service's code."""
    routes = {}
    for attribute in vars(BrokerService).values():
        for entrypoint in getattr(attribute, "nameko_entrypoints", ()):
            if isinstance(entrypoint, BrokerHttp):
                path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", entrypoint.url)
                routes[(entrypoint.method, path)] = entrypoint.protected
    return routes


def test_the_table_lists_every_route_once_with_its_token_rule():
    table = readme_routes()
    assert {route: protected for route, (protected, _) in table.items()} == broker_routes()


@pytest.fixture
def broker(runner_factory, config_for):
    # Only the broker: no request of this test reaches a service behind it.
    port = free_port()
    runner_factory(
        config_for("broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}"), BrokerService
    ).start()
    return f"http://127.0.0.1:{port}"


def test_every_route_answers_as_the_table_says_without_a_token(broker):
    answers = {}
    for (method, path), (protected, _) in readme_routes().items():
        url = broker + re.sub(r"\{[^}]+\}", "x", path)
        body = {} if method in ("POST", "PUT", "PATCH", "DELETE") else None
        response = requests.request(method, url, json=body, timeout=10)
        answers[(method, path)] = response.status_code
        if protected:
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
    expected = {route: status for route, (_, status) in readme_routes().items()}
    assert answers == expected
