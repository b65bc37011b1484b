"""The logger's gRPC server, `logs.LogService/WriteLog` from protos/logs.proto, as its own process:

    python -m logger.grpc_server

grpc's C core hangs in an eventlet-patched process, so gRPC cannot be served from the Nameko
service: this process runs grpc's asyncio server and is never imported by it. It reads the logger's
`config.yaml` through the same `LoggerSettings` (LOGGER_GRPC_*, MONGO_*), logs as every service
does (`common.logs`) and writes through the same `LogStore`, so entries and validation are
identical whichever way they came. Concurrent calls are stored together, one `insert_many` per
round trip (`logger.group_commit`); each call answers once its own entry is stored. SIGTERM or
SIGINT stops it gracefully: no new calls are accepted and calls in progress get a few seconds to
finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from google.protobuf.message import DecodeError

from common.config import service_config
from common.errors import DownstreamUnavailable, InvalidInput, ServiceError
from common.logs import configure
from common.validation import LogEntry, validate
from logger.group_commit import AsyncGroupCommit, store_entries
from logger.settings import LoggerSettings
from logger.storage import LogStore, mongo_client
from protos import logs_pb2, logs_pb2_grpc

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0
SERVICE = "logs.LogService"  # the package and service of protos/logs.proto

STATUS_FOR_ERROR = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    DownstreamUnavailable: grpc.StatusCode.UNAVAILABLE,
}


class LogService(logs_pb2_grpc.LogServiceServicer):
    """WriteLog on grpc's asyncio server: every call is a coroutine on one event loop (no thread
    per call); entries are stored by group commit, one thread hop per batch."""

    def __init__(self, store: LogStore, concurrency: int) -> None:
        self._writer = AsyncGroupCommit(store_entries(store))
        # LOGGER_GRPC_WORKERS calls are handled at once; the others wait their turn.
        self._slots = asyncio.Semaphore(concurrency)

    async def write_log_bytes(
        self, raw: bytes, context: grpc.aio.ServicerContext
    ) -> logs_pb2.LogResponse:
        """WriteLog from the request's raw bytes: grpc's own deserialisation would answer bytes
        that are not a LogRequest with INTERNAL, as if the server had failed."""
        try:
            request = logs_pb2.LogRequest.FromString(raw)
        except DecodeError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed LogRequest")
        return await self.WriteLog(request, context)

    async def WriteLog(  # the method name is the RPC's, from the .proto
        self, request: logs_pb2.LogRequest, context: grpc.aio.ServicerContext
    ) -> logs_pb2.LogResponse:
        log_entry = request.logEntry
        try:
            entry = validate(LogEntry, {"name": log_entry.name, "data": log_entry.data})
            async with self._slots:
                await self._writer.submit({"name": entry.name, "data": entry.data})
        except ServiceError as exc:
            status, details = STATUS_FOR_ERROR.get(type(exc), grpc.StatusCode.INTERNAL), exc.message
        except Exception:
            # grpc would send the exception's text to the client; log it here and send nothing.
            log.exception("WriteLog failed")
            status, details = grpc.StatusCode.INTERNAL, "internal error"
        else:
            return logs_pb2.LogResponse(result="logged!")
        await context.abort(status, details)  # raises: the call ends here

    def close(self) -> None:
        self._writer.close()


def build_server(settings: LoggerSettings, service: LogService) -> grpc.aio.Server:
    server = grpc.aio.server()
    write_log = grpc.unary_unary_rpc_method_handler(
        service.write_log_bytes,
        request_deserializer=None,  # raw bytes: parsed by write_log_bytes
        response_serializer=logs_pb2.LogResponse.SerializeToString,
    )
    handlers = {"WriteLog": write_log}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
    server.add_insecure_port(settings.logger_grpc_address)
    return server


async def serve(settings: LoggerSettings) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda s=signum: stop.done() or stop.set_result(s))
    client = mongo_client(settings.mongo_uri, settings.mongo_timeout_ms)
    service = LogService(LogStore(client[settings.mongo_database]), settings.logger_grpc_workers)
    server = build_server(settings, service)
    await server.start()
    log.info("gRPC LogService listening on %s", settings.logger_grpc_address)

    signum = await stop
    log.info("%s: stopping (calls in progress may finish)", signal.strsignal(signum))
    await server.stop(SHUTDOWN_GRACE_SECONDS)
    service.close()
    client.close()
    log.info("gRPC LogService stopped")


def main() -> None:
    config = service_config("logger")
    configure(config)
    asyncio.run(serve(LoggerSettings.from_config(config)))


if __name__ == "__main__":
    main()
