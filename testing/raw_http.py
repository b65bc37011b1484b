"""A raw HTTP/1.1 client for the server tests: bytes exactly as written, responses as read."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawClient:
    def __init__(self, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, head: bool = False) -> RawResponse:
        """The next response; `head`: it answers a HEAD request (a length but no body)."""
        status_line = self.file.readline()
        if not status_line:
            raise ConnectionError("closed before a response")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head or status in (100, 204, 304) else int(headers.get("content-length", 0))
        return RawResponse(status, headers, self.file.read(length))

    def closed_by_server(self) -> bool:
        """True once the server has closed its side (EOF); False if it is still open."""
        try:
            return self.file.read(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def get(path: str = "/ping", close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"GET %s HTTP/1.1\r\nHost: test\r\n%s\r\n" % (path.encode(), connection)


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n%s\r\n"
        % (path.encode(), len(body), extra)
        + body
    )
