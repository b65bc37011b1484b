"""A plain gRPC client program for the logger's tests: `python -m testing.grpc_client ADDRESS
[N]`, and `call_from_plain_process`, which runs it.

The program reads a JSON list of calls `{"name", "data", "timeout"?, "metadata"?}` on stdin (or
`{"raw": HEX}`: those bytes as the request, whatever they are; `metadata` is a list of
[key, value] pairs), makes them with the stub generated from protos/
(N at a time, over one channel), and writes a JSON list of outcomes
`{"code": "OK", "result": ...}` or `{"code": "INVALID_ARGUMENT", "details": ...}` on stdout.
It runs in its own process because the tests' process is eventlet-patched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from protos import logs_pb2, logs_pb2_grpc

# Not common.config's ROOT: the program stays free of nameko's imports.
ROOT = Path(__file__).resolve().parents[1]


def call_from_plain_process(
    address: str, calls: list[dict[str, Any]], concurrency: int = 1
) -> list[dict[str, Any]]:
    """Make WriteLog calls ({"name", "data", "timeout"?}) from this program; their outcomes."""
    completed = subprocess.run(
        [sys.executable, "-m", "testing.grpc_client", address, str(concurrency)],
        cwd=ROOT,
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


def write_log(channel: grpc.Channel, call: dict[str, Any]) -> dict[str, Any]:
    if "raw" in call:
        method = channel.unary_unary(
            "/logs.LogService/WriteLog",
            request_serializer=None,
            response_deserializer=logs_pb2.LogResponse.FromString,
        )
        request: Any = bytes.fromhex(call["raw"])
    else:
        method = logs_pb2_grpc.LogServiceStub(channel).WriteLog
        request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name=call["name"], data=call["data"]))
    try:
        metadata = [tuple(pair) for pair in call.get("metadata", [])]
        response = method(request, timeout=call.get("timeout", 5), metadata=metadata or None)
    except grpc.RpcError as exc:
        return {"code": exc.code().name, "details": exc.details()}
    return {"code": "OK", "result": response.result}


def main() -> None:
    address, concurrency = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    calls = json.load(sys.stdin)
    with grpc.insecure_channel(address) as channel, ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(lambda call: write_log(channel, call), calls))
    json.dump(outcomes, sys.stdout)


if __name__ == "__main__":
    main()
