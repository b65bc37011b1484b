"""The broker's memory of auth's 429s (broker/refusals.py)."""

import pytest

from broker.refusals import RefusalCache
from common.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_throttled_address_is_answered_until_its_retry_after_passes():
    clock = Clock()
    cache = RefusalCache(clock=clock)
    cache.remember("192.0.2.7", "a@example.com", TooManyRequests("t", 60, "address"))

    with pytest.raises(TooManyRequests) as raised:
        cache.check("192.0.2.7", "other@example.com")
    assert raised.value.retry_after == 60
    cache.check("192.0.2.8", "a@example.com")  # another address, the account is not throttled

    clock.now += 59.5
    cache.check("192.0.2.7", "a@example.com")  # its window may have ended: ask auth again


def test_a_throttled_account_is_answered_from_any_address_whatever_the_case():
    cache = RefusalCache(clock=Clock())
    cache.remember("192.0.2.7", "A@Example.com ", TooManyRequests("t", 900, "account"))
    with pytest.raises(TooManyRequests) as raised:
        cache.check("192.0.2.99", "a@example.com")
    assert raised.value.scope == "account"


def test_a_verdict_without_a_scope_is_not_remembered_and_the_cache_is_bounded():
    clock = Clock()
    cache = RefusalCache(max_entries=3, clock=clock)
    cache.remember("192.0.2.7", "a@example.com", TooManyRequests("t", 60))
    assert len(cache) == 0
    for number in range(10):
        cache.remember(f"192.0.2.{number}", "a@example.com", TooManyRequests("t", 60, "address"))
    assert len(cache) <= 3
    clock.now += 120
    cache.remember("192.0.2.200", "a@example.com", TooManyRequests("t", 60, "address"))
    assert len(cache) == 1
