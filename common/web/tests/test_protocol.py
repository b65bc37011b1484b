"""The HTTP core over real sockets: keep-alive, pipelining, HEAD, 100-continue, routing, and the
server's own answers as JSON envelopes."""

import contextlib
import time
import urllib.error
import urllib.request

import eventlet
import pytest
import requests

from testing.raw_http import RawClient, get, post

INTERNALS = ("Traceback", "Error", "Exception", "codec", ".py", "callback", "secret")


def assert_envelope(response, status, words=""):
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] is True
    assert words in body["message"]
    assert not any(word in body["message"] for word in INTERNALS), body["message"]


@pytest.fixture
def port(sample):
    return sample().port


@pytest.fixture
def client(port):
    client = RawClient(port)
    yield client
    client.close()


def test_requests_on_one_kept_alive_connection(client):
    for number in range(3):
        client.send(get(f"/items/{number}"))
        response = client.response()
        assert (response.status, response.json()["message"]) == (200, f"item {number}")
        assert "connection" not in response.headers
        assert "date" in response.headers


def test_http10_closes_unless_keep_alive_is_asked_for(port):
    plain = RawClient(port)
    plain.send(b"GET /ping HTTP/1.0\r\n\r\n")
    assert plain.response().headers["connection"] == "close"
    assert plain.closed_by_server()

    kept = RawClient(port)
    for _ in range(2):
        kept.send(b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert kept.response().headers["connection"] == "keep-alive"


def test_pipelined_requests_are_answered_in_order(client):
    client.send(get("/items/1") + post("/echo", b"two") + get("/nowhere") + get("/items/4"))

    answers = [client.response() for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 404, 200]
    assert answers[1].json()["data"] == {"body": "two", "length": 3}
    assert answers[3].json()["message"] == "item 4"


def test_head_has_the_length_but_no_body(client):
    client.send(b"HEAD /ping HTTP/1.1\r\nHost: t\r\n\r\n" + get("/items/2"))

    head = client.response(head=True)
    assert (head.status, int(head.headers["content-length"]) > 0, head.body) == (200, True, b"")
    assert client.response().json()["message"] == "item 2"


def test_100_continue_when_the_length_is_acceptable(client):
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    )
    assert client.response().status == 100
    client.send(b"hello")
    assert client.response().json()["data"] == {"body": "hello", "length": 5}


def test_expect_with_a_length_over_the_limit_is_413_at_once(client):
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"
    )
    response = client.response()
    assert_envelope(response, 413, "larger than 1024 bytes")
    assert response.headers["connection"] == "close"
    assert client.closed_by_server()


def test_the_413_reaches_clients_that_send_the_whole_body_first(port):
    body = b"x" * (2 * 1024 * 1024)
    response = requests.post(f"http://127.0.0.1:{port}/echo", data=body, timeout=10)
    assert response.status_code == 413
    assert response.json() == {"error": True, "message": "body is larger than 1024 bytes"}

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/echo", data=body, timeout=10)
    assert raised.value.code == 413


def test_a_chunked_body_over_the_limit_is_413(port):
    response = requests.post(
        f"http://127.0.0.1:{port}/echo", data=(b"x" * 100 for _ in range(20)), timeout=10
    )
    assert response.status_code == 413
    assert response.json()["error"] is True


def test_a_chunked_body_within_the_limit_is_read_whole(port):
    response = requests.post(
        f"http://127.0.0.1:{port}/echo", data=(b"ab" for _ in range(10)), timeout=10
    )
    assert response.json()["data"] == {"body": "ab" * 10, "length": 20}


REFUSED = {
    "header fields too large": (
        b"GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n",
        431,
        "2048",
    ),
    "target too long": (b"GET /" + b"a" * 600 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, "512"),
    "malformed chunk size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        400,
        "chunk size",
    ),
    "CL and TE": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "Content-Length",
    ),
    "two differing CLs": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        400,
        "Content-Length",
    ),
    "not HTTP/1.x": (b"GET /ping HTTP/2.0\r\nHost: t\r\n\r\n", 505, "HTTP/1.1"),
    "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "malformed"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_the_servers_own_refusals_are_envelopes_and_close(client, case):
    raw, status, words = REFUSED[case]
    client.send(raw)

    response = client.response()
    assert_envelope(response, status, words)
    assert response.headers["connection"] == "close"
    assert client.closed_by_server()


@pytest.mark.parametrize(
    ("partial", "phase"),
    [
        (b"GET /ping HTTP/1.1\r\nHost: t\r\n", "headers"),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", "body"),
    ],
)
def test_a_request_not_received_in_time_is_408(client, partial, phase):
    client.send(partial)
    started = time.monotonic()

    response = client.response()
    assert_envelope(response, 408, "not received in time")
    assert 0.8 < time.monotonic() - started < 4
    assert client.closed_by_server()


def test_a_trickled_header_is_cut_off_at_its_deadline_however_steady(client):
    client.send(b"GET /ping HTTP/1.1\r\nHost: t\r\n")
    started = time.monotonic()

    def trickle():
        with contextlib.suppress(OSError):
            for _ in range(50):
                client.send(b"X-A: b\r\n")
                eventlet.sleep(0.1)

    trickler = eventlet.spawn(trickle)
    response = client.response()
    elapsed = time.monotonic() - started
    trickler.kill()

    assert response.status == 408
    assert 0.8 < elapsed < 3


def test_idle_and_silent_connections_are_closed_quietly(port):
    silent = RawClient(port)
    idle = RawClient(port)
    idle.send(get())
    assert idle.response().status == 200

    assert silent.closed_by_server()
    assert idle.closed_by_server()


def test_routes_path_values_and_envelopes(port):
    url = f"http://127.0.0.1:{port}"
    assert requests.get(f"{url}/items/7").json() == {"error": False, "message": "item 7"}
    missing = requests.get(f"{url}/items/seven")
    assert (missing.status_code, missing.json()["message"]) == (404, "not found")
    wrong = requests.delete(f"{url}/echo")
    assert (wrong.status_code, wrong.json()["message"]) == (405, "method not allowed")
    assert wrong.headers["Allow"] == "POST"
    boom = requests.get(f"{url}/boom")
    assert (boom.status_code, boom.json()) == (500, {"error": True, "message": "internal error"})


def test_percent_encoded_paths_are_decoded_once(port):
    response = requests.get(f"http://127.0.0.1:{port}/items/%34%32")
    assert response.json()["message"] == "item 42"
