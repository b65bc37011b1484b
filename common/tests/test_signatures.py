"""The argument check of `@rpc` and the XML-RPC methods, on a signature worked out once."""

from types import SimpleNamespace

import pytest
from nameko.exceptions import IncorrectSignature

from common.signatures import CheckedOnceSignature


class Service:
    def log_info(self, payload, level="INFO"):
        raise AssertionError("never called by the check")


def entrypoint() -> CheckedOnceSignature:
    probe = CheckedOnceSignature()
    probe.container = SimpleNamespace(service_cls=Service)
    probe.method_name = "log_info"
    return probe


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(({"a": 1},), {}), (({"a": 1}, "ERROR"), {}), ((), {"payload": 1, "level": "ERROR"})],
)
def test_a_call_that_fits_passes(args, kwargs):
    entrypoint().check_signature(args, kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing a required argument: 'payload'"),
        ((1, 2, 3), {}, "too many positional arguments"),
        ((1,), {"colour": "red"}, "unexpected keyword argument 'colour'"),
    ],
)
def test_a_call_that_does_not_fit_is_an_incorrect_signature(args, kwargs, message):
    with pytest.raises(IncorrectSignature, match=message):
        entrypoint().check_signature(args, kwargs)


def test_the_signature_is_worked_out_once():
    probe = entrypoint()
    probe.check_signature((1,), {})
    probe.container = None  # a second call does not look at the service class again
    probe.check_signature((2,), {})
