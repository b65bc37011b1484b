"""The logger's gRPC server, `logs.LogService/WriteLog` from protos/logs.proto, as its own process:

    python -m logger.grpc_server

grpc's C core hangs in an eventlet-patched process, so gRPC cannot be served from the Nameko
service: this process uses plain OS threads and is never imported by it. It reads the logger's
`config.yaml` through the same `LoggerSettings` (LOGGER_GRPC_*, MONGO_*), logs as every service
does (`common.logs`) and writes through the same `LogStore`, so entries and validation are
identical whichever way they came. Concurrent calls are stored together, one `insert_many` per
round trip (`logger.group_commit`); each call answers once its own entry is stored. SIGTERM or
SIGINT stops it gracefully: no new calls are accepted and calls in progress get a few seconds to
finish.
"""

from __future__ import annotations

import logging
import signal
from concurrent.futures import ThreadPoolExecutor

import grpc
from google.protobuf.message import DecodeError

from common.config import service_config
from common.errors import DownstreamUnavailable, InvalidInput, ServiceError
from common.ids import IDEMPOTENCY_KEY_METADATA, REQUEST_ID_METADATA, event_id, request_id
from common.logs import configure
from common.validation import LogEvent, validate
from logger.group_commit import entry_writer
from logger.grpc_door import DoorTokenInterceptor
from logger.grpc_health import serve_health, serve_metrics
from logger.metered_store import MeteredLogStore
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
    def __init__(self, store: LogStore) -> None:
        self._writer = entry_writer(store)

    def write_log_bytes(self, raw: bytes, context: grpc.ServicerContext) -> logs_pb2.LogResponse:
        """WriteLog from the request's raw bytes: grpc's own deserialisation would answer bytes
        that are not a LogRequest with INTERNAL, as if the server had failed."""
        try:
            request = logs_pb2.LogRequest.FromString(raw)
        except DecodeError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed LogRequest")
        return self.WriteLog(request, context)

    def WriteLog(  # the method name is the RPC's, from the .proto
        self, request: logs_pb2.LogRequest, context: grpc.ServicerContext
    ) -> logs_pb2.LogResponse:
        log_entry = request.logEntry
        try:
            metadata = dict(context.invocation_metadata())
            entry = validate(
                LogEvent,
                {
                    "name": log_entry.name,
                    "data": log_entry.data,
                    "id": event_id(metadata.get(IDEMPOTENCY_KEY_METADATA), "idempotency-key"),
                    "level": log_entry.level or "INFO",
                    "request_id": request_id(metadata.get(REQUEST_ID_METADATA)),
                },
            )
            self._writer.submit(entry.model_dump())
        except ServiceError as exc:
            context.abort(STATUS_FOR_ERROR.get(type(exc), grpc.StatusCode.INTERNAL), exc.message)
        except Exception:
            # grpc would send the exception's text to the client; log it here and send nothing.
            log.exception("WriteLog failed")
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
        return logs_pb2.LogResponse(result="logged!")


def build_server(settings: LoggerSettings, store: LogStore) -> grpc.Server:
    executor = ThreadPoolExecutor(
        max_workers=settings.logger_grpc_workers, thread_name_prefix="grpc"
    )
    interceptors = [DoorTokenInterceptor(settings.logger_door_token)]
    server = grpc.server(executor, interceptors=interceptors)
    service = LogService(store)
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


def main() -> None:
    # SIGTERM and SIGINT are taken synchronously by `sigwait` below, not by a handler: a handler
    # runs on the main thread wherever it happens to be, and calling `server.stop()` from there
    # could deadlock on a lock that the interrupted code holds. Blocked before any thread starts
    # (MongoClient's monitors, grpc's pollers), so every thread inherits the mask.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    config = service_config("logger")
    configure(config)
    settings = LoggerSettings.from_config(config)
    client = mongo_client(settings.mongo_uri, settings.mongo_timeout_ms)
    server = build_server(settings, MeteredLogStore(client[settings.mongo_database]))
    watch = serve_health(server, client, SERVICE, settings.logger_grpc_health_interval)
    serve_metrics(settings.grpc_metrics_address)
    server.start()
    log.info("gRPC LogService listening on %s", settings.logger_grpc_address)

    signum = signal.sigwait(stop_signals)
    log.info("%s: stopping (calls in progress may finish)", signal.strsignal(signum))
    watch.stop()
    server.stop(SHUTDOWN_GRACE_SECONDS).wait()
    client.close()
    log.info("gRPC LogService stopped")


if __name__ == "__main__":
    main()
