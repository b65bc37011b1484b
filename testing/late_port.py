"""A port that opens late: the way a server looks to its clients while it boots."""

from __future__ import annotations

from typing import Any

import eventlet
from eventlet.greenio import GreenSocket

from testing.ports import free_port


class LatePort:
    """A local port that refuses connections until `open()`, then forwards them to `target`.

    Green threads: for the monkey-patched test process (the `late_ports` fixture closes them).
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._threads: list[Any] = []
        self._sockets: list[GreenSocket] = []

    def open(self) -> None:
        listener = eventlet.listen(("127.0.0.1", self.port))
        self._sockets.append(listener)
        self._threads.append(eventlet.spawn(self._accept, listener))

    def close(self) -> None:
        for thread in self._threads:
            thread.kill()
        for sock in self._sockets:
            sock.close()

    def _accept(self, listener: GreenSocket) -> None:
        while True:
            client, _ = listener.accept()
            upstream = eventlet.connect(self.target)
            self._sockets += [client, upstream]
            self._threads += [
                eventlet.spawn(self._pipe, client, upstream),
                eventlet.spawn(self._pipe, upstream, client),
            ]

    @staticmethod
    def _pipe(source: GreenSocket, sink: GreenSocket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(2)
        except OSError:
            pass
