"""Reading requests off a connection with llhttp (`httptools`): framing, limits, smuggling shapes.

llhttp is strict on its own: it refuses Content-Length with Transfer-Encoding, a duplicate
Content-Length, a malformed chunk size, bare LF line ends, obsolete line folding and control
characters. Checked here besides: HTTP versions other than 1.0/1.1 (505), a missing or repeated
Host in HTTP/1.1, Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1: faulty framing), transfer codings
other than chunked (501, llhttp lets `gzip, chunked` through), Expect other than 100-continue
(417), and the sizes of the target (414), the header fields (431) and the body (413: from
Content-Length before a byte of it is read, while reading for chunked bodies).

A whole chunk of received bytes is fed at once, so pipelined requests come out complete, in
order, in `ready`; the connection reads no more while any is waiting, which bounds what a client
can queue to one receive buffer.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from time import monotonic

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from common.web.settings import ServerLimits

# Room for what the byte counts below cannot attribute exactly: received bytes are counted per
# chunk, and a chunk may end one request and begin the next.
SLACK_BYTES = 64 * 1024


class HttpError(Exception):
    """A request the server answers itself (a JSON envelope), after which it closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True, eq=False)
class IncomingRequest:
    started: float  # monotonic time of its first byte
    target: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    method: str = ""
    version: str = "1.1"
    head_done_at: float = 0.0  # when the headers were complete; 0.0 while they are not
    content_length: int | None = None
    chunked: bool = False
    expect_continue: bool = False
    continue_sent: bool = False
    body: list[bytes] = field(default_factory=list)
    body_bytes: int = 0
    keep_alive: bool = True
    received_bytes: int = 0  # everything received while this request was being read
    head_bytes: int = 0
    host_count: int = 0
    transfer_encoding: bytes | None = None
    expect: bytes | None = None


class RequestReader:
    """The httptools protocol object of one connection: feed it bytes, take complete requests."""

    def __init__(self, limits: ServerLimits) -> None:
        self._limits = limits
        self._parser = HttpRequestParser(self)
        self._head_guard = limits.max_header_bytes + limits.max_url_bytes + SLACK_BYTES
        self._body_guard = self._head_guard + 4 * limits.max_body_bytes
        self.current: IncomingRequest | None = None
        self.ready: deque[IncomingRequest] = deque()
        self.error: HttpError | None = None  # answered once the requests before it are
        self.upgraded = False  # llhttp stopped at an Upgrade: nothing after it is HTTP

    @property
    def accepts_input(self) -> bool:
        return self.error is None and not self.upgraded

    def feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, HttpError):
                raise
            self.error = exc.__context__
        except HttpParserError as exc:
            self.error = HttpError(400, f"malformed request: {exc}")
        except HttpParserUpgrade:
            self._stop_at_upgrade()
        if self.current is not None and self.error is None:
            self._check_received(len(data))

    def _check_received(self, size: int) -> None:
        request = self.current
        request.received_bytes += size
        if not request.head_done_at and request.received_bytes > self._head_guard:
            self.error = HttpError(431, "request header fields too large")
        elif request.received_bytes > self._body_guard:
            self.error = HttpError(413, "request framing too large")

    def _stop_at_upgrade(self) -> None:
        # We never switch protocols: the request is answered as a plain one and the connection
        # closed, since what follows it is not HTTP. A body would have been taken for the new
        # protocol's bytes, so such a request is refused rather than served without its body.
        self.upgraded = True
        request = self.ready[-1] if self.ready else None
        if request is not None:
            request.keep_alive = False
            if request.chunked or request.content_length:
                self.ready.pop()
                self.error = HttpError(400, "a protocol upgrade with a body is not supported")

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.current = IncomingRequest(started=monotonic())

    def on_url(self, piece: bytes) -> None:
        request = self.current
        request.target += piece
        if len(request.target) > self._limits.max_url_bytes:
            raise HttpError(414, f"request target longer than {self._limits.max_url_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.current
        if request.head_done_at:
            return  # a trailer field: nothing here uses them
        request.head_bytes += len(name) + len(value) + 4
        if request.head_bytes > self._limits.max_header_bytes:
            limit = self._limits.max_header_bytes
            raise HttpError(431, f"request header fields larger than {limit} bytes")
        request.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length":
            request.content_length = int(value)  # llhttp checked it: digits, once
        elif lowered == b"transfer-encoding":
            request.transfer_encoding = value.strip().lower()
        elif lowered == b"host":
            request.host_count += 1
        elif lowered == b"expect":
            request.expect = value.strip().lower()

    def on_headers_complete(self) -> None:
        request = self.current
        parser = self._parser
        request.head_done_at = monotonic()
        request.method = parser.get_method().decode("ascii")
        request.version = parser.get_http_version()
        if request.version not in ("1.1", "1.0"):
            raise HttpError(505, "only HTTP/1.1 and HTTP/1.0 are supported")
        if request.version == "1.1" and request.host_count != 1:
            raise HttpError(400, "exactly one Host header is required")
        if request.transfer_encoding is not None:
            if request.version == "1.0":
                raise HttpError(400, "Transfer-Encoding is not allowed in HTTP/1.0")
            if request.transfer_encoding != b"chunked":
                raise HttpError(501, "only the chunked transfer coding is supported")
            request.chunked = True
        if request.expect is not None:
            if request.expect != b"100-continue":
                raise HttpError(417, "only Expect: 100-continue is supported")
            request.expect_continue = request.version == "1.1"
        if (request.content_length or 0) > self._limits.max_body_bytes:
            raise HttpError(413, f"body is larger than {self._limits.max_body_bytes} bytes")

    def on_body(self, data: bytes) -> None:
        request = self.current
        request.body.append(data)
        request.body_bytes += len(data)
        if request.body_bytes > self._limits.max_body_bytes:
            raise HttpError(413, f"body is larger than {self._limits.max_body_bytes} bytes")

    def on_message_complete(self) -> None:
        request = self.current
        request.keep_alive = self._parser.should_keep_alive()
        self.ready.append(request)
        self.current = None
