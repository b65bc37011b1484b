"""A SecantusDB of a test's own on a free port, that the test may stop and start again on the same
port with the same data (the machine's server, which other tests use, is never stopped)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from testing.ports import free_port, wait_for_port

START_TIMEOUT = 60.0


class PrivateMongo:
    def __init__(self) -> None:
        self.port = free_port()
        self._folder = tempfile.TemporaryDirectory(prefix="private-mongo-")
        self._process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> None:
        folder = Path(self._folder.name)
        command = [str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--storage-path", str(folder / "db"), "--standalone"]
        with open(folder / "secantusd.log", "ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, START_TIMEOUT, process=self._process)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        self.stop()
        self._folder.cleanup()
