"""One client connection, served by its own green thread from accept to close.

Each request is read whole, within its deadlines (headers from its first byte, the body after
the headers) and limits, before the server is asked for a response: a slow client holds this
green thread and a socket, never a Nameko worker. Responses go out in request order (pipelined
requests wait their turn); the connection stays open between requests until `idle_timeout`.

Every request the server refuses (`HttpError`) is answered with its status, then the connection
is closed after a lingering discard: half-close, then read and drop what the client is still
sending (bounded in bytes and time), so a client that writes its whole body before reading finds
the answer instead of a reset.

Deadlines are not socket timeouts: a socket timeout is an eventlet timer made and cancelled on
every wait, and thousands of cancelled timers a second made the hub stall now and then to sweep
them. A connection notes the deadline of what it waits for in `deadline`; the server's reaper
looks every `REAP_SECONDS` and throws `Deadline` into the connections whose deadline passed.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import socket
from time import monotonic
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from common.web.environ import build_request
from common.web.reader import HttpError, IncomingRequest, RequestReader
from common.web.responses import CONTINUE, Outgoing, render

if TYPE_CHECKING:
    from common.web.server import HttpServer

log = logging.getLogger(__name__)

RECEIVE_BYTES = 64 * 1024
REAP_SECONDS = 0.25  # how late a deadline may be noticed
# A lingering discard also ends once the client has been quiet this long.
LINGER_QUIET_SECONDS = 1.0


class Deadline(Exception):
    """Thrown into a connection by the reaper: what it was waiting for took too long."""


class State(enum.Enum):
    IDLE = "idle"  # between requests: closed at once by a stop
    READING = "reading"  # part of a request received: dropped by a stop
    BUSY = "busy"  # a complete request is being answered: a stop lets it finish
    WRITING = "writing"  # a stop lets it finish, until `stop_grace`
    CLOSING = "closing"  # answering a refused request, then lingering: dropped by a stop


class Connection:
    def __init__(self, server: HttpServer, sock: Any, peer: tuple[str, int]) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer[0]
        self.accepted = monotonic()
        self.state = State.IDLE
        self.thread: Any = None
        self._limits = server.limits
        self._reader = RequestReader(server.limits)
        self._environ = {**server.base_environ, "REMOTE_ADDR": peer[0], "REMOTE_PORT": str(peer[1])}
        self._served = 0
        self._idle_since = self.accepted
        self.deadline = math.inf  # when the wait in progress expires (see the module's doc)

    def expire(self) -> None:
        """Called by the reaper once `deadline` has passed."""
        self.deadline = math.inf
        if self.thread is not None and not self.thread.dead:
            self.thread.kill(Deadline())

    def _receive(self, deadline: float, size: int = RECEIVE_BYTES) -> bytes:
        if deadline <= monotonic():
            raise Deadline
        self.deadline = deadline
        try:
            return self.sock.recv(size)
        finally:
            self.deadline = math.inf

    def _sendall(self, data: bytes) -> None:
        self.deadline = monotonic() + self._limits.write_timeout
        try:
            self.sock.sendall(data)
        finally:
            self.deadline = math.inf

    def serve(self) -> None:
        try:
            while (incoming := self._next_request()) is not None:
                if not self._answer(incoming):
                    break
        except (OSError, Deadline):
            pass  # the client went away or stopped reading: nothing to tell it
        except Exception:
            log.exception("HTTP connection from %s failed", self.peer)
        finally:
            self.server.forget(self)

    def _next_request(self) -> IncomingRequest | None:
        reader = self._reader
        while True:
            if self.server.draining:
                return None
            if reader.ready:
                return reader.ready.popleft()
            if reader.error is not None:
                self._refuse(reader.error, reader.current)
                return None
            if not reader.accepts_input:
                return None
            current = reader.current
            if current is not None:
                self.state = State.READING
                self._send_continue(current)
            else:
                self.state = State.IDLE
            try:
                data = self._receive(self._deadline(current))
            except Deadline:
                if current is not None:
                    self._refuse(HttpError(408, "the request was not received in time"), current)
                return None
            if not data:
                return None
            reader.feed(data)

    def _deadline(self, current: IncomingRequest | None) -> float:
        limits = self._limits
        if current is None:
            if self._served:
                return self._idle_since + limits.idle_timeout
            return self.accepted + limits.header_timeout
        if current.head_done_at:
            return current.head_done_at + limits.body_timeout
        return (current.started if self._served else self.accepted) + limits.header_timeout

    def _send_continue(self, current: IncomingRequest) -> None:
        if current.expect_continue and not current.continue_sent and not current.body_bytes:
            current.continue_sent = True
            self._sendall(CONTINUE)

    def _answer(self, incoming: IncomingRequest) -> bool:
        """Answer one complete request; whether the connection stays open for another."""
        self.state = State.BUSY
        server = self.server
        try:
            request = build_request(incoming, self._environ)
        except HttpError as error:
            self._refuse(error, incoming)
            return False
        try:
            response = server.respond(request)
        except Exception:
            log.exception("answering %s %s failed", incoming.method, request.path)
            response = server.server_error(500, "internal error", request)
        keep_alive = incoming.keep_alive and not server.draining
        self.state = State.WRITING
        sent = self._send(request, response, keep_alive, incoming.version == "1.0")
        self._served += 1
        self._idle_since = monotonic()
        if server.observers:
            server.notify(incoming, request, sent.status, self.peer)
        return sent.keep_alive

    def _send(
        self, request: Request | None, response: Response, keep_alive: bool, http10: bool
    ) -> Outgoing:
        environ = request.environ if request is not None else {"REQUEST_METHOD": "GET"}
        response = self.server.finish_response(request, response)
        outgoing = render(response, environ, keep_alive, http10)
        try:
            self._sendall(outgoing.first)
            for chunk in outgoing.rest:
                self._sendall(chunk)
        finally:
            if outgoing.close is not None:
                outgoing.close()
        return outgoing

    def _refuse(self, error: HttpError, incoming: IncomingRequest | None) -> None:
        self.state = State.CLOSING
        request = None
        if incoming is not None and incoming.head_done_at:
            try:
                request = build_request(incoming, self._environ, with_body=False)
            except HttpError:
                request = None
        response = self.server.server_error(error.status, error.message, request)
        sent = self._send(request, response, False, False)
        if incoming is not None and self.server.observers:
            self.server.notify(incoming, request, sent.status, self.peer)
        self._linger()

    def _linger(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)
        deadline = monotonic() + self._limits.linger_timeout
        left = self._limits.linger_bytes
        while left > 0:
            quiet = monotonic() + LINGER_QUIET_SECONDS
            try:
                data = self._receive(min(deadline, quiet), min(left, RECEIVE_BYTES))
            except Deadline:
                return
            if not data:
                return
            left -= len(data)


def turn_away(sock: Any, answer: bytes) -> None:
    """Refuse a connection past the cap without a green thread: take what the client already
    sent (so closing does not reset the connection under the answer), answer, close."""
    try:
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError, TimeoutError):
            sock.recv(RECEIVE_BYTES)
        sock.sendall(answer)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        sock.close()
