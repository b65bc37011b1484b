"""A plain gRPC client program for the tests: `python -m logger.tests.grpc_client ADDRESS [N]`.

Reads a JSON list of calls `{"name", "data", "timeout"?}` on stdin (or `{"raw": HEX}`: those bytes
as the request, whatever they are), makes them with the stub generated from protos/ (N at a time,
over one channel), and writes a JSON list of outcomes
`{"code": "OK", "result": ...}` or `{"code": "INVALID_ARGUMENT", "details": ...}` on stdout.
It runs in its own process because the tests' process is eventlet-patched.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from protos import logs_pb2, logs_pb2_grpc


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
        response = method(request, timeout=call.get("timeout", 5))
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
