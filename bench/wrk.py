"""Run wrk (a real HTTP load generator) and read its figures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# wrk's Lua hooks: POST a fixed JSON body, and report latency percentiles as JSON at the end.
LUA = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, '
    .. '"errors": %d, "non2xx": %d}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, errors, summary.errors.status))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return self.requests - self.errors


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    method: str = "GET",
    body: str = "",
    threads: int = 1,
) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bench.lua"
        script.write_text(LUA.format(method=method, body=lua_string(body) if body else "nil"))
        output = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    match = re.search(r"WRK_JSON (\{.*\})", output)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    figures = json.loads(match.group(1))
    return WrkResult(
        requests=figures["requests"],
        seconds=figures["seconds"],
        p50_ms=figures["p50"],
        p99_ms=figures["p99"],
        errors=figures["errors"],
    )
