"""`use_os_locks_in_grpc` reaches into grpc's private modules (grpc has no public way to do what
it does). These tests fail loudly when a grpc upgrade changes what it relies on."""

import threading

import grpc
import pytest
from eventlet import patcher, tpool
from eventlet.greenpool import GreenPool
from grpc import _channel
from grpc._cython import cygrpc

from broker.logger_clients import use_os_locks_in_grpc
from protos import logs_pb2, logs_pb2_grpc
from testing.ports import free_port


@pytest.mark.parametrize("module", [_channel, cygrpc], ids=["grpc._channel", "cygrpc"])
def test_grpc_still_takes_its_locks_from_a_module_level_threading(module):
    assert module.threading.__name__ == "threading"
    assert hasattr(module.threading, "Condition") and hasattr(module.threading, "Lock")


def test_after_the_patch_grpc_locks_with_os_locks():
    use_os_locks_in_grpc()

    real = patcher.original("threading")
    assert _channel.threading is real and cygrpc.threading is real
    assert threading.Lock is not real.Lock, "this test process is eventlet-patched"


def test_blocking_calls_from_several_os_threads_share_one_channel():
    """What the patch is for: without it, calls that contend for the channel's lock from tpool
    threads fail with eventlet's "Cannot switch to a different thread"."""
    use_os_locks_in_grpc()
    channel = grpc.insecure_channel(f"127.0.0.1:{free_port()}")  # nothing listens there
    stub = logs_pb2_grpc.LogServiceStub(channel)

    def call(_):
        try:
            tpool.execute(stub.WriteLog, logs_pb2.LogRequest(), timeout=0.5)
        except grpc.RpcError as exc:
            return exc.code()
        return None

    try:
        codes = list(GreenPool(8).imap(call, range(8)))
    finally:
        channel.close()

    assert set(codes) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
    assert len(codes) == 8


def test_a_grpc_without_that_global_is_refused_at_start(monkeypatch):
    monkeypatch.delattr(cygrpc, "threading")

    with pytest.raises(RuntimeError, match="no longer takes its locks"):
        use_os_locks_in_grpc()
