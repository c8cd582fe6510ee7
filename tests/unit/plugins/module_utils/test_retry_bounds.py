"""Properties of the client's retry loop: whatever the server asks, the waits and the requests are bounded.

The integration tests cannot wait minutes for the 60 s, 120 s and rate_limit_timeout
caps, so these run the real TinesClient.request against a fake session that answers
429 or 503 forever, on a fake clock that sleeping moves forward.
"""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
from ansible_collections.tines.cases.plugins.module_utils._budget import MIN_WAIT, MemoryStore, RateBudget
from ansible_collections.tines.cases.plugins.module_utils._client import (
    MAX_SINGLE_WAIT,
    MAX_TOTAL_WAIT,
    TinesClient,
    TinesError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

REQUEST_SECONDS = 0.002


class Clock:
    """time.time, time.monotonic and time.sleep on a clock that only sleeping and requests move."""

    def __init__(self):
        self.now = 1_000_000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def patched(self):
        return mock.patch.multiple(time, time=lambda: self.now, monotonic=lambda: self.now, sleep=self.sleep)


class Storm:
    """A session whose every answer is a retryable error with the next Retry-After of `retry_afters`.

    It fails the test at once when a request comes sooner than `least_gap` after the answer before.
    """

    def __init__(self, status, retry_afters, clock, least_gap=0.0):
        self.status = status
        self.retry_afters = list(retry_afters)
        self.clock = clock
        self.least_gap = least_gap
        self.answered = None
        self.requests = 0

    def request(self, method, url, **_kwargs):
        if self.answered is not None:
            gap = self.clock.now - self.answered
            assert gap >= self.least_gap - 1e-9, "a request %.3f s after the 429 before it" % gap
        self.requests += 1
        self.clock.now += REQUEST_SECONDS
        self.answered = self.clock.now
        header = self.retry_afters.pop(0) if self.retry_afters else None
        return mock.Mock(
            status_code=self.status,
            headers={} if header is None else {"Retry-After": header},
            text=json.dumps({"errors": [{"message": "slow down"}]}),
        )


def client_for(storm, budget=None, **options):
    client = TinesClient("https://acme.tines.example", "k", rate_limit=0, **options)
    client.session = storm
    client.budget = budget
    return client


retry_after = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=3600).map(str),
    st.floats(min_value=0, max_value=200, allow_nan=False).map(lambda seconds: "%.2f" % seconds),
)


@settings(deadline=None)
@given(
    status=st.sampled_from([500, 502, 503, 504]),
    retry_afters=st.lists(retry_after, max_size=12),
    max_retries=st.integers(min_value=0, max_value=10),
)
def test_a_5xx_storm_ends_within_the_bounds(status, retry_afters, max_retries):
    clock = Clock()
    storm = Storm(status, retry_afters, clock)
    with clock.patched(), pytest.raises(TinesError) as failure:
        client_for(storm, max_retries=max_retries).request("GET", "/api/v2/cases/1/metadata")
    waits = clock.sleeps
    assert storm.requests == len(waits) + 1 <= max_retries + 1
    assert all(0 <= wait <= MAX_SINGLE_WAIT for wait in waits)
    assert sum(waits) <= MAX_TOTAL_WAIT
    assert "gave up after %d retr" % len(waits) in str(failure.value)
    assert failure.value.status == status


def test_long_retry_afters_stop_at_the_total_cap():
    """Retry-After: 50 each time: 50 + 50 s are waited, a third wait would pass 120 s, so it gives up."""
    clock = Clock()
    storm = Storm(503, ["50"] * 10, clock)
    with (
        clock.patched(),
        pytest.raises(TinesError, match=r"gave up after 2 retries \(100\.0 s waited\)"),
    ):
        client_for(storm, max_retries=10).request("GET", "/api/v2/cases/1/metadata")
    assert clock.sleeps == [50.0, 50.0] and storm.requests == 3


@settings(deadline=None, max_examples=60)
@given(
    retry_afters=st.lists(retry_after, max_size=40),
    timeout=st.floats(min_value=0, max_value=900),
    window=st.sampled_from([2.0, 60.0]),
    shared=st.booleans(),
    max_retries=st.integers(min_value=0, max_value=3),
)
def test_a_429_storm_is_waited_out_until_rate_limit_timeout(retry_afters, timeout, window, shared, max_retries):
    """429s do not count against max_retries: the task waits, each wait bounded, until rate_limit_timeout.

    Whoever waits (the shared budget, or the client without one), no request follows a
    429 sooner than the shortest backoff: half of half a second, with the jitter.
    """
    clock = Clock()
    storm = Storm(429, retry_afters, clock, least_gap=0.25)
    budget = RateBudget(MemoryStore(50), window) if shared else None
    client = client_for(storm, budget, max_retries=max_retries, rate_limit_timeout=timeout, rate_limit_window=window)
    started = clock.now
    with clock.patched(), pytest.raises(TinesError) as failure:
        client.request("GET", "/api/v2/cases/1/metadata")
    waits = [wait for wait in clock.sleeps if wait > 0]
    assert all(wait <= MAX_SINGLE_WAIT + REQUEST_SECONDS for wait in waits)
    assert all(wait >= MIN_WAIT * 0.5 - 1e-9 for wait in waits), "never polls a full budget in a tight loop"
    assert len(waits) >= storm.requests - 1, "a wait after every 429 that was not the last"
    assert clock.now - started <= timeout + REQUEST_SECONDS * 2, "gives up within rate_limit_timeout"
    # Patient: it gave up only because the next wait would have passed the bound.
    assert clock.now - started + MAX_SINGLE_WAIT + REQUEST_SECONDS > timeout
    assert failure.value.status == 429
    assert "HTTP 429: rate limit hit" in str(failure.value)
    assert "still rate limited after" in str(failure.value)


def test_retry_after_zero_is_not_a_tight_loop():
    clock = Clock()
    storm = Storm(429, ["0"] * 1000, clock)
    with clock.patched(), pytest.raises(TinesError):
        client_for(storm, rate_limit_timeout=30).request("GET", "/api/v2/cases/1/metadata")
    assert storm.requests <= 30 / MIN_WAIT + 1
    assert set(clock.sleeps) == {MIN_WAIT}


def test_a_429_then_success_sends_the_same_request_again_without_reading_first():
    clock = Clock()

    class Once(Storm):
        def request(self, method, url, **kwargs):
            if self.requests:
                self.requests += 1
                self.methods.append(method)
                return mock.Mock(status_code=200, headers={}, text='{"metadata": {}}', content=b'{"metadata": {}}')
            self.methods.append(method)
            return super().request(method, url, **kwargs)

    storm = Once(429, ["2"], clock)
    storm.methods = []
    refreshed = []
    with clock.patched():
        client_for(storm).request(
            "POST", "/api/v2/cases/1/metadata", {"metadata": {"a": "b"}}, refresh=refreshed.append
        )
    assert storm.methods == ["POST", "POST"]
    assert refreshed == [], "a refused request was not acted on: nothing to re-read"
    assert clock.sleeps == [2.0]


def test_the_budget_paces_the_next_request_from_when_the_answer_came():
    """A request answered a second after it went out may have been counted by the tenant then: the next
    one in its slot waits a window (and the 0.05 s margin) from the answer, not from the send."""
    clock = Clock()
    sent = []

    class Slow:
        def request(self, method, url, **_kwargs):
            sent.append(clock.now)
            clock.now += 1.0
            return mock.Mock(status_code=200, headers={}, text='{"metadata": {}}', content=b'{"metadata": {}}')

    budget = RateBudget(MemoryStore(1, 2.0), 2.0)
    client = client_for(Slow(), budget, rate_limit_window=2.0)
    with clock.patched():
        client.request("GET", "/api/v2/cases/1/metadata")
        client.request("GET", "/api/v2/cases/1/metadata")
    assert sent == [1_000_000.0, pytest.approx(1_000_003.05, abs=1e-6)]
