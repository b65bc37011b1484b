"""The listener: stores the log events published to `logs_topic`, losing none.

Messages come in batches, one worker each (listener/consumer.py). Every message of a batch is
acknowledged only once its entry is stored by the logger, with one `write_logs` call for the
whole batch, or once it has been safely republished to the retry queue (storage failed: try
again later) or to the dead-letter queue (not a log entry, or failed too often). If even that
fails, the whole batch is requeued. While the logger is not running at all (no consumer on its
RPC queue) the batch is requeued too, spending none of its attempts: a logger that is down for
longer than the retry schedule must not send every event to the dead-letter queue.

Each message carries its event id to storage, so a batch stored but not acknowledged (the
listener killed in between, a deadline missed by a logger that did finish) is stored once when
it comes again.
"""

from __future__ import annotations

from common.errors import ServiceUnavailable
from common.log_topology import LISTENER_QUEUE
from common.metrics import LISTENER_BATCH_SIZE, LISTENER_MESSAGES
from common.ops import Operations
from common.rpc_proxy import TimeoutRpcProxy
from common.settings import Settings
from common.tracing import CallTracer
from listener.consumer import consume_batches
from listener.deliveries import Delivery
from listener.dependencies import Redelivery
from listener.parsing import parse_batch
from listener.retries import failure_reason
from listener.settings import ListenerSettings


class ListenerService:
    name = "listener"

    tracer = CallTracer()
    ops = Operations()
    settings = Settings(ListenerSettings)
    logger_rpc = TimeoutRpcProxy("logger", timeout_key="LOGGER_RPC_TIMEOUT")
    redelivery = Redelivery()

    @consume_batches(LISTENER_QUEUE, expected_exceptions=ServiceUnavailable)
    def handle_logs(self, deliveries: list[Delivery]) -> None:
        LISTENER_BATCH_SIZE.observe(len(deliveries))
        batch = parse_batch(deliveries)
        for delivery, reason in batch.invalid:
            self.redelivery.dead_letter(delivery, reason)
        if not batch.valid:
            return
        try:
            self.logger_rpc.write_logs(batch.entries())
        except ServiceUnavailable:
            raise  # the consumer requeues the batch after a pause
        except Exception as exc:  # whatever failed (logger, MongoDB), no entry is known stored
            reason = failure_reason(exc)
            for delivery, _ in batch.valid:
                self.redelivery.retry(delivery, reason)
        else:
            LISTENER_MESSAGES.labels("stored").inc(len(batch.valid))
