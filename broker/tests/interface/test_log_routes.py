"""`GET /logs` and `GET /logs/{id}` over a real socket, with the real logger (RabbitMQ, MongoDB)
and auth behind the broker: listings, paging by cursor, one entry, and the 400s and 404s."""

import pytest
import requests

from auth.service import AuthService
from broker.service import BrokerService
from logger.service import LoggerService
from testing.broker_session import bearer_headers
from testing.ports import free_port


@pytest.fixture
def broker_url(runner_factory, config_for, users_db_uri, mongo_database):
    broker_port, xmlrpc_port = free_port(), free_port()
    configs = {
        BrokerService: config_for(
            "broker",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{broker_port}",
            LOGGER_XMLRPC_URL=f"http://127.0.0.1:{xmlrpc_port}/",
        ),
        LoggerService: config_for(
            "logger",
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{xmlrpc_port}",
        ),
        AuthService: config_for("auth", DB_URIS={"auth:Base": users_db_uri}),
    }
    for service, config in configs.items():
        runner_factory(config, service).start()
    return f"http://127.0.0.1:{broker_port}"


@pytest.fixture
def client(broker_url):
    """GET on the broker with a signed-in user's token (none before the broker issued tokens)."""
    session = requests.Session()
    session.headers.update(bearer_headers(broker_url))

    def get(path, **params):
        return session.get(broker_url + path, params=params, timeout=30)

    yield get
    session.close()


def write(broker_url, name, data):
    response = requests.post(broker_url + "/log-rpc", json={"log": {"name": name, "data": data}})
    assert response.status_code == 202, response.text


def entries(response):
    assert response.status_code == 200, response.text
    return response.json()["data"]["entries"]


def search(client, text):
    """Every entry whose data holds `text`: a search answers what it found within its time
    budget (on SecantusDB, maybe nothing) and a `next` cursor that goes on from there."""
    found, cursor = [], None
    while True:
        page = client("/logs", q=text, **({"cursor": cursor} if cursor else {}))
        found += entries(page)
        cursor = page.json()["data"]["next"]
        if cursor is None:
            return found


def test_a_listing_pages_by_cursor_and_one_entry_is_read_by_id(broker_url, client):
    for number in range(5):
        write(broker_url, "listed", f"entry {number}")

    first = client("/logs", name="listed", limit=2)
    page = first.json()
    assert page["message"] == "2 log entries"
    assert [e["data"] for e in page["data"]["entries"]] == ["entry 4", "entry 3"]
    assert page["data"]["prev"] is None
    second = client("/logs", name="listed", limit=2, cursor=page["data"]["next"])
    assert [e["data"] for e in entries(second)] == ["entry 2", "entry 1"]
    back = client("/logs", name="listed", limit=2, cursor=second.json()["data"]["prev"])
    assert [e["data"] for e in entries(back)] == ["entry 4", "entry 3"]
    assert [e["data"] for e in search(client, "ENTRY 0")] == ["entry 0"]

    newest = page["data"]["entries"][0]
    one = client(f"/logs/{newest['id']}")
    assert one.status_code == 200
    assert one.json() == {"error": False, "message": "log entry", "data": newest}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"level": "LOUD"}, "level must be one of INFO, WARNING, ERROR"),
        ({"since": "last tuesday"}, "since must be an ISO 8601 time"),
        ({"until": "2026-12-02T25:00:00Z"}, "until must be an ISO 8601 time"),
        ({"since": "2026-12-02T11:00Z", "until": "2026-12-02T10:00Z"}, "since must be before"),
        ({"limit": "0"}, "limit must be an integer from 1 to 1000"),
        ({"limit": "1001"}, "limit must be an integer from 1 to 1000"),
        ({"cursor": "%%%"}, "cursor is not valid"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor is not valid"),  # base64 of "not a cursor"
        ({"q": "x" * 201}, "q must be at most 200 characters"),
        ({"sort": "asc"}, "unknown parameter 'sort'"),
    ],
)
def test_bad_listing_parameters_are_400_naming_the_parameter(client, params, message):
    response = client("/logs", **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert message in body["message"]


@pytest.mark.parametrize(
    "path",
    ["/logs/0123456789abcdef01234567", "/logs/no-such-entry", "/logs/a/b", "/logs/a%2Fb"],
)
def test_an_unknown_entry_is_404(client, path):
    response = client(path)
    assert response.status_code == 404, response.text
    assert response.json()["error"] is True
