"""The rate budget's decisions, on a ring in memory: pacing never lets a window hold more than the limit."""

from __future__ import annotations

import errno
import threading

import pytest
from ansible_collections.tines.cases.plugins.module_utils._budget import (
    MIN_WAIT,
    Ring,
    _Locked,
    backoff,
    note_rate_limited,
    pacing_margin,
    reserve,
)
from ansible_collections.tines.cases.tests.simulator.tines_sim import most_in_any_window
from hypothesis import given, settings
from hypothesis import strategies as st


def ring_of(capacity):
    return Ring.create(bytearray(Ring.size(capacity)), capacity)


@settings(deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=40),
    window=st.sampled_from([1.0, 2.0, 60.0]),
    gaps=st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=200),
)
def test_no_window_ever_holds_more_than_the_limit(capacity, window, gaps):
    ring = ring_of(capacity)
    now, sent = 1000.0, []
    for gap in gaps:
        now += gap
        at, _slot = reserve(ring, now, window)
        assert at >= now, "a request never goes out before it is asked for"
        sent.append(at)
    assert sent == sorted(sent)
    assert most_in_any_window(sent, window) <= capacity


def test_a_short_run_under_the_budget_is_not_slowed():
    ring = ring_of(5000)
    for index in range(200):
        now = 1000.0 + index * 0.007
        assert reserve(ring, now, 60.0)[0] == now


def test_past_the_budget_each_request_waits_for_the_one_limit_places_back():
    ring = ring_of(3)
    times = [reserve(ring, 1000.0, 10.0)[0] for _request in range(7)]
    step = 10.0 + pacing_margin(10.0)
    assert times == pytest.approx([1000.0] * 3 + [1000.0 + step] * 3 + [1000.0 + 2 * step])


def test_a_429_holds_every_process_back_and_learns_what_was_served():
    ring = ring_of(10)
    slots = [reserve(ring, 1000.0 + index, 60.0)[1] for index in range(5)]
    wait = note_rate_limited(ring, slots[-1], 1004.5, 60.0, retry_after=3.0)
    assert wait == pytest.approx(3.0)
    assert ring.blocked_until == pytest.approx(1007.5)
    assert ring.limit == 4, "the four requests served before the refused one"
    assert ring[slots[-1]] == 0.0, "the refused request is forgotten"
    at, _slot = reserve(ring, 1005.0, 60.0)
    assert at == pytest.approx(1000.0 + 60.0 + pacing_margin(60.0)), "now four per window: after the oldest"


def test_a_429_after_few_requests_of_ours_lowers_the_limit_to_a_tenth_at_most_and_backs_off():
    ring = ring_of(50)
    _at, slot = reserve(ring, 1000.0, 60.0)
    first = note_rate_limited(ring, slot, 1000.0, 60.0)
    assert ring.limit == 5
    assert first == pytest.approx(backoff(1, 60.0))
    _at, slot = reserve(ring, 1000.0 + first, 60.0)
    second = note_rate_limited(ring, slot, 1000.0 + first, 60.0)
    assert second == pytest.approx(backoff(2, 60.0))
    assert ring.strikes == 2


def test_the_limit_recovers_after_two_quiet_windows():
    ring = ring_of(10)
    slots = [reserve(ring, 1000.0, 60.0)[1] for _request in range(3)]
    note_rate_limited(ring, slots[-1], 1000.0, 60.0, retry_after=1.0)
    assert ring.limit == 2
    reserve(ring, 1000.0 + 121.0, 60.0)
    assert ring.limit == 10


def test_backoff_doubles_up_to_the_window_and_never_below_the_floor():
    waits = [backoff(strikes, 60.0) for strikes in range(1, 10)]
    assert waits == sorted(waits)
    assert waits[-1] == 60.0
    assert waits[0] >= MIN_WAIT
    assert backoff(1, 2.0) == MIN_WAIT
    assert backoff(30, 2.0) == 2.0


def test_a_new_ring_keeps_the_newest_times_when_the_limit_changes():
    ring = ring_of(5)
    for index in range(5):
        reserve(ring, 1000.0 + index, 60.0)
    smaller = Ring.create(bytearray(Ring.size(3)), 3, ring.times())
    assert smaller.times() == [1002.0, 1003.0, 1004.0]
    larger = Ring.create(bytearray(Ring.size(8)), 8, ring.times())
    assert larger.times() == [0.0, 0.0, 0.0, 1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert reserve(larger, 1005.0, 60.0)[0] == 1005.0


def test_a_failure_while_reading_the_ring_unlocks_it():
    lock = threading.Lock()

    def no_space():
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        with _Locked(lock.acquire, no_space, lock.release):
            pass
    assert not lock.locked()
    with _Locked(lock.acquire, lambda: ring_of(3), lock.release) as ring:
        assert lock.locked() and ring.capacity == 3
    assert not lock.locked()
