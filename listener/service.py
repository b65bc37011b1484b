"""The listener: stores the log events published to `logs_topic`, losing none.

A message is acknowledged only once its entry is stored by the logger, or once it has been
safely republished to the retry queue (storage failed: try again later) or to the dead-letter
queue (not a log entry, or failed too often). If even that fails, it is requeued.
"""

from __future__ import annotations

from common.errors import InvalidInput
from common.log_events import LISTENER_QUEUE
from common.rpc import TimeoutRpcProxy
from listener.consumer import Delivery, consume_deliveries
from listener.dependencies import LogBatch, Redelivery
from listener.parsing import parse_log_entry
from listener.retries import failure_reason


class ListenerService:
    name = "listener"

    logger = TimeoutRpcProxy("logger", timeout_key="LOGGER_RPC_TIMEOUT")
    log_batch = LogBatch()
    redelivery = Redelivery()

    @consume_deliveries(LISTENER_QUEUE)
    def handle_log(self, delivery: Delivery) -> None:
        try:
            entry = parse_log_entry(delivery.body)
        except InvalidInput as exc:
            self.redelivery.dead_letter(delivery, f"invalid log entry: {exc.message}")
            return
        try:
            self.log_batch.store(entry, self.logger.write_logs)
        except Exception as exc:  # whatever failed (logger, MongoDB), the entry is not stored
            self.redelivery.retry(delivery, failure_reason(exc))
