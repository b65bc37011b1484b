"""A SecantusDB server of the test's own, so that a test can stop and restart its storage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testing.ports import wait_for_port

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
        wait_for_port(self.port, 30, process=self._process)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None
