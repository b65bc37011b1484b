"""Writing a werkzeug Response as HTTP/1.1 bytes.

The framing headers are the server's: `Content-Length` is computed when the response has none,
`Connection` says whether the connection stays open, and `Transfer-Encoding` from an application
is dropped (bodies are sent with a length, never chunked). A response without a body by
definition (HEAD, 1xx, 204, 304) gets none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from time import time
from typing import Any

from werkzeug.wrappers import Response

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HOP_BY_HOP = frozenset(("connection", "keep-alive", "transfer-encoding"))


class _DateHeader:
    """`Date: ...` formatted at most once a second."""

    def __init__(self) -> None:
        self._second = 0
        self._line = b""

    def line(self) -> bytes:
        now = int(time())
        if now != self._second:
            self._second = now
            self._line = b"Date: %s\r\n" % formatdate(now, usegmt=True).encode("ascii")
        return self._line


_date = _DateHeader()


class Outgoing:
    """A response ready to send: `first` (head and the start of the body) then `rest`."""

    __slots__ = ("close", "first", "keep_alive", "rest", "status")

    def __init__(
        self,
        status: int,
        first: bytes,
        rest: Iterable[bytes],
        keep_alive: bool,
        close: Callable[[], Any] | None,
    ) -> None:
        self.status = status
        self.first = first
        self.rest = rest
        self.keep_alive = keep_alive
        self.close = close


def render(
    response: Response, environ: dict[str, Any], keep_alive: bool, http10: bool = False
) -> Outgoing:
    """`keep_alive`: whether the request lets the connection stay open; the response may still
    close it (`Connection: close` from the application)."""
    app_iter, status, headers = response.get_wsgi_response(environ)
    code = response.status_code
    bodyless = code < 200 or code in (204, 304) or environ["REQUEST_METHOD"] == "HEAD"
    parts = [b"HTTP/1.1 ", status.encode("latin-1"), b"\r\n", _date.line()]
    has_length = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in _HOP_BY_HOP:
            if lowered == "connection" and "close" in value.lower():
                keep_alive = False
            continue
        has_length = has_length or lowered == "content-length"
        parts += (name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n")

    chunks: Iterator[bytes] = iter(()) if bodyless else iter(app_iter)
    if bodyless or has_length:
        first_chunk = next(chunks, b"")
    else:
        first_chunk = b"".join(chunks)
        parts.append(b"Content-Length: %d\r\n" % len(first_chunk))
    if not keep_alive:
        parts.append(b"Connection: close\r\n")
    elif http10:
        parts.append(b"Connection: keep-alive\r\n")
    parts += (b"\r\n", first_chunk)
    return Outgoing(code, b"".join(parts), chunks, keep_alive, getattr(app_iter, "close", None))
