"""A SecantusDB server of the test's own, so that a test can stop and restart its storage."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

SECANTUSD = Path(sys.executable).parent / "secantusd-py"


class OwnMongo:
    """`secantusd-py` on a free port with its data in `storage`, kept across restarts."""

    def __init__(self, storage: Path, port: int) -> None:
        self.storage = storage
        self.port = port
        self.uri = f"mongodb://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                str(SECANTUSD),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(self.storage),
                "--standalone",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"secantusd-py did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False
