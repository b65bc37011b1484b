"""The listener: stores the log events published to `logs_topic`, losing none.

Messages come in batches, one worker each (listener/consumer.py). Every message of a batch is
acknowledged only once its entry is stored by the logger, with one `write_logs` call for the
whole batch, or once it has been safely republished to the retry queue (storage failed: try
again later) or to the dead-letter queue (not a log entry, or failed too often). If even that
fails, the whole batch is requeued.
"""

from __future__ import annotations

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

    @consume_batches(LISTENER_QUEUE)
    def handle_logs(self, deliveries: list[Delivery]) -> None:
        LISTENER_BATCH_SIZE.observe(len(deliveries))
        batch = parse_batch(deliveries)
        for delivery, reason in batch.invalid:
            self.redelivery.dead_letter(delivery, reason)
        if not batch.valid:
            return
        try:
            self.logger_rpc.write_logs(batch.entries())
        except Exception as exc:  # whatever failed (logger, MongoDB), no entry is known stored
            reason = failure_reason(exc)
            for delivery, _ in batch.valid:
                self.redelivery.retry(delivery, reason)
        else:
            LISTENER_MESSAGES.labels("stored").inc(len(batch.valid))
