"""Reading requests: framing, limits and the smuggling shapes, on the parser alone."""

import pytest

from common.web.reader import RequestReader
from common.web.settings import ServerLimits

LIMITS = ServerLimits(
    max_connections=10,
    header_timeout=1,
    body_timeout=1,
    idle_timeout=1,
    write_timeout=1,
    max_header_bytes=1024,
    max_url_bytes=256,
    max_body_bytes=100,
    linger_bytes=1000,
    linger_timeout=1,
    stop_grace=1,
)


def read(*pieces: bytes) -> RequestReader:
    reader = RequestReader(LIMITS)
    for piece in pieces:
        reader.feed(piece)
    return reader


def test_pipelined_requests_come_out_whole_and_in_order():
    reader = read(
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
    )

    requests = list(reader.ready)
    assert [(r.method, r.target, b"".join(r.body)) for r in requests] == [
        ("POST", b"/a", b"abc"),
        ("GET", b"/b?x=1", b""),
        ("POST", b"/c", b"xy"),
    ]
    assert all(r.keep_alive for r in requests)
    assert reader.error is None and reader.current is None


def test_a_request_split_anywhere_is_the_same_request():
    raw = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    reader = read(*(raw[i : i + 1] for i in range(len(raw))))

    [request] = reader.ready
    assert (request.method, b"".join(request.body)) == ("POST", b"hello")


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    ],
)
def test_keep_alive_is_http11_by_default_and_http10_only_when_asked(raw, keep_alive):
    [request] = read(raw).ready
    assert request.keep_alive is keep_alive


BAD = {
    "CL+TE": (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "Transfer-Encoding",
    ),
    "TE+CL": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        400,
        "Content-Length",
    ),
    "differing CLs": (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
        "Content-Length",
    ),
    "same CL twice": (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        400,
        "Content-Length",
    ),
    "CL list": (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400, ""),
    "negative CL": (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, ""),
    "bad chunk size": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        400,
        "chunk size",
    ),
    "0x chunk size": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n",
        400,
        "chunk size",
    ),
    "huge chunk size": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        400,
        "",
    ),
    "TE gzip, chunked": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
        "chunked",
    ),
    "TE in HTTP/1.0": (
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        400,
        "HTTP/1.0",
    ),
    "no Host": (b"GET / HTTP/1.1\r\n\r\n", 400, "Host"),
    "two Hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host"),
    "HTTP/2.0": (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP/1.1"),
    "HTTP/0.9": (b"GET /\r\n\r\n", 505, "HTTP/1.1"),
    "Expect other": (b"POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417, "100-continue"),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, ""),
    "bare LF": (b"GET / HTTP/1.1\nHost: h\n\n", 400, ""),
    "NUL in a header": (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400, ""),
    "lower-case method": (b"get / HTTP/1.1\r\nHost: h\r\n\r\n", 400, ""),
    "raw UTF-8 in the target": ("GET /é HTTP/1.1\r\nHost: h\r\n\r\n".encode(), 400, ""),
    "long target": (b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: h\r\n\r\n", 414, "256"),
    "large headers": (
        b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-A: " + b"a" * 1100 + b"\r\n\r\n",
        431,
        "1024",
    ),
    "declared body too large": (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n",
        413,
        "larger than 100 bytes",
    ),
    "chunked body too large": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"32\r\n%s\r\n33\r\n%s\r\n" % (b"x" * 50, b"x" * 51),
        413,
        "larger than 100 bytes",
    ),
    "upgrade with a body": (
        b"POST / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
        b"Content-Length: 3\r\n\r\nabc",
        400,
        "upgrade",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_requests_are_refused_with_a_status(case):
    raw, status, words = BAD[case]
    reader = read(raw)

    assert not reader.ready
    assert reader.error is not None, "refused"
    assert (reader.error.status, words in reader.error.message) == (status, True)
    assert "Error" not in reader.error.message and "callback" not in reader.error.message


def test_a_header_that_never_ends_is_refused_before_it_fills_memory():
    reader = read(b"GET / HTTP/1.1\r\nHost: h\r\nX-Endless: ")
    for _ in range(20):
        reader.feed(b"a" * 65536)
        if reader.error:
            break

    assert reader.error is not None and reader.error.status == 431


def test_a_request_before_a_refused_one_is_still_answered():
    reader = read(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\n\r\n")

    assert [r.target for r in reader.ready] == [b"/ok"]
    assert reader.error.status == 400


def test_expect_100_continue_is_noted_for_http11_only():
    head = b"POST / HTTP/1.%d\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"
    assert read(head % 1).current.expect_continue
    assert not read(head % 0).current.expect_continue


def test_trailers_are_ignored():
    reader = read(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"
    )

    [request] = reader.ready
    assert b"".join(request.body) == b"abc"
    assert [name for name, _ in request.headers] == [b"Host", b"Transfer-Encoding"]


def test_an_upgrade_without_a_body_is_answered_then_the_connection_ends():
    reader = read(
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        b"\x81\x05hello"
    )

    [request] = reader.ready
    assert request.keep_alive is False
    assert not reader.accepts_input
