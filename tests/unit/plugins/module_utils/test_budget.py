"""The rate budget's decisions, on a ring in memory: pacing never lets a window hold more than the limit."""

from __future__ import annotations

import pytest
from ansible_collections.tines.cases.plugins.module_utils._budget import (
    Damaged,
    MemoryStore,
    Ring,
    backoff,
    confirm,
    note_rate_limited,
    reserve,
)
from ansible_collections.tines.cases.tests.simulator.tines_sim import most_in_any_window
from hypothesis import given, settings
from hypothesis import strategies as st


def ring_of(capacity, window=60.0):
    return Ring(Ring.build(capacity, window))


@settings(deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=40),
    window=st.sampled_from([1.0, 2.0, 60.0]),
    gaps=st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=200),
)
def test_no_window_ever_holds_more_than_the_limit(capacity, window, gaps):
    ring = ring_of(capacity, window)
    now, sent = 1000.0, []
    for gap in gaps:
        now += gap
        at, ticket = reserve(ring, now, window)
        if ticket is None:  # more waiting than the horizon allows: ask again at the time given
            now = at
            at, ticket = reserve(ring, now, window)
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
    ring = ring_of(3, 10.0)
    times = [reserve(ring, 1000.0, 10.0)[0] for _request in range(7)]
    assert times == pytest.approx([1000.0] * 3 + [1010.05] * 3 + [1020.1])


def test_each_process_paces_by_its_own_limit_against_the_shared_history():
    """A ring grown to 8 by one process; another at 3 waits for the third send back, whoever sent it."""
    ring = ring_of(8, 10.0)
    assert [reserve(ring, 1000.0, 10.0, limit=8)[0] for _request in range(5)] == [1000.0] * 5
    assert reserve(ring, 1000.5, 10.0, limit=3)[0] == pytest.approx(1010.05), "three sent in the window already"
    assert reserve(ring, 1000.5, 10.0, limit=8)[0] == pytest.approx(1010.05), "send times never go backwards"
    assert reserve(ring, 1011.0, 10.0, limit=8)[0] == 1011.0
    assert reserve(ring, 1011.0, 10.0, limit=3)[0] == pytest.approx(1020.1)


def test_a_queue_longer_than_the_horizon_asks_again_later():
    """Limit 2 a 10-s window: the 15th request at once would go 70.35 s later, past the 70.05-s horizon."""
    ring = ring_of(2, 10.0)
    times = [reserve(ring, 1000.0, 10.0)[0] for _request in range(14)]
    assert times[-1] == pytest.approx(1060.3)
    at, ticket = reserve(ring, 1000.0, 10.0)
    assert ticket is None and at == pytest.approx(1000.3)
    assert ring.head == 0, "nothing claimed"


def test_a_429_holds_every_process_back_and_learns_what_was_served():
    ring = ring_of(10)
    tickets = [reserve(ring, 1000.0 + index, 60.0)[1] for index in range(5)]
    wait = note_rate_limited(ring, tickets[-1], 1004.5, 60.0, retry_after=3.0)
    assert wait == pytest.approx(3.0)
    assert ring.blocked_until == pytest.approx(1007.5)
    assert ring.learned == 4, "the four requests served before the refused one"
    assert ring[tickets[-1][0]] == 0.0, "the refused request is forgotten"
    at, _ticket = reserve(ring, 1005.0, 60.0)
    assert at == pytest.approx(1060.3), "now four per window: after the oldest"


def test_a_learned_limit_holds_every_process_but_not_above_its_own():
    ring = ring_of(20, 10.0)
    tickets = [reserve(ring, 1000.0, 10.0, limit=20)[1] for _request in range(7)]
    note_rate_limited(ring, tickets[-1], 1000.0, 10.0, limit=20, retry_after=1.0)
    assert ring.learned == 6
    assert reserve(ring, 1001.0, 10.0, limit=20)[0] == pytest.approx(1010.05), "the tenant allowed six"
    assert reserve(ring, 1001.0, 10.0, limit=3)[0] == pytest.approx(1010.05), "its own three are stricter still"


def test_a_429_after_few_requests_lowers_the_limit_to_a_tenth_at_most_and_backs_off():
    ring = ring_of(50)
    _at, ticket = reserve(ring, 1000.0, 60.0)
    first = note_rate_limited(ring, ticket, 1000.0, 60.0)
    assert ring.learned == 5
    assert first == pytest.approx(0.9375)
    _at, ticket = reserve(ring, 1000.0 + first, 60.0)
    second = note_rate_limited(ring, ticket, 1000.0 + first, 60.0)
    assert second == pytest.approx(1.875)
    assert ring.strikes == 2


def test_429s_of_requests_already_in_flight_count_as_one():
    ring = ring_of(50)
    tickets = [reserve(ring, 1000.0, 60.0)[1] for _request in range(16)]
    first = note_rate_limited(ring, tickets[0], 1000.2, 60.0, jitter=1.0)
    waits = [note_rate_limited(ring, ticket, 1000.3, 60.0, jitter=1.0) for ticket in tickets[1:]]
    assert first == pytest.approx(0.9375)
    assert waits == [pytest.approx(0.8375)] * 15, "the same hold, not a doubling per refusal"
    assert ring.strikes == 1
    _at, late = reserve(ring, 1001.2, 60.0)
    assert note_rate_limited(ring, late, 1001.3, 60.0, jitter=1.0) == pytest.approx(1.875), "sent after: a new strike"


def test_the_limit_recovers_after_two_quiet_windows():
    ring = ring_of(10)
    tickets = [reserve(ring, 1000.0, 60.0)[1] for _request in range(3)]
    note_rate_limited(ring, tickets[-1], 1000.0, 60.0, retry_after=1.0)
    assert ring.learned == 2
    reserve(ring, 1000.0 + 121.0, 60.0)
    assert ring.learned == 0


def test_a_stale_ticket_never_touches_the_request_that_took_its_slot():
    ring = ring_of(2, 10.0)
    _at, old = reserve(ring, 1000.0, 10.0)
    reserve(ring, 1000.0, 10.0)
    _at, newer = reserve(ring, 1011.0, 10.0)  # the ring went round: slot 0 is another request's now
    assert newer[0] == old[0]
    assert confirm(ring, old, 1020.0) == old
    note_rate_limited(ring, old, 1012.0, 10.0, retry_after=1.0)
    assert ring[old[0]] == 1011.0


def test_backoff_doubles_up_to_the_window_and_never_below_the_floor():
    assert [backoff(strikes, 60.0) for strikes in range(1, 9)] == [0.9375, 1.875, 3.75, 7.5, 15.0, 30.0, 60.0, 60.0]
    assert backoff(1, 2.0) == 0.5
    assert backoff(30, 2.0) == 2.0


def test_backoff_after_thousands_of_429s_in_a_row_stays_at_the_window():
    assert backoff(1025, 60.0) == 60.0
    assert backoff(10**6, 2.0) == 2.0
    assert backoff(4294967295, 60.0, jitter=0.5) == 30.0


def test_strikes_stop_counting_where_they_no_longer_matter():
    ring = ring_of(10)
    ring.strikes, ring.last_429 = 65535, 1000.0
    _at, ticket = reserve(ring, 1000.0, 60.0)
    assert note_rate_limited(ring, ticket, 1001.0, 60.0) == 60.0
    assert ring.strikes == 65535
    ring.save()


@pytest.mark.parametrize("stored", [1e300, float("inf"), float("nan"), -5.0, 1000.0 + 120.4])
def test_a_send_time_no_process_could_have_written_is_refused(stored):
    """Times are refused beyond the horizon: a 60-s window, its 0.3-s margin and a 60-s Retry-After (120.3 s)."""
    ring = ring_of(4)
    ring[3] = stored
    with pytest.raises(Damaged):
        reserve(ring, 1000.0, 60.0)


def test_a_send_time_within_the_horizon_is_waited_for():
    ring = ring_of(4)
    ring[3] = 1000.0 + 120.3
    assert reserve(ring, 1000.0, 60.0)[0] == pytest.approx(1120.3)


@pytest.mark.parametrize(("blocked_until", "last_429"), [(1120.4, 990.0), (1e300, 990.0), (1010.0, 1000.5)])
def test_a_429_state_ahead_of_the_clock_is_refused(blocked_until, last_429):
    ring = ring_of(4)
    ring.blocked_until, ring.last_429 = blocked_until, last_429
    with pytest.raises(Damaged):
        reserve(ring, 1000.0, 60.0)


def test_a_budget_whose_clock_stepped_back_rebuilds_once_and_warns():
    """A clock that steps back an hour: the times ahead are dropped, not waited for; one warning."""
    clock = [5000.0]
    store = MemoryStore(3, 10.0, boot=b"", wall=lambda: 0.0, clock=lambda: clock[0])
    for _request in range(3):
        store.run(lambda ring, now: reserve(ring, now, 10.0))
    clock[0] -= 3600.0
    at, ticket = store.run(lambda ring, now: reserve(ring, now, 10.0))
    assert (at, ticket[1]) == (1400.0, 1400.0)
    assert store.notices.take() == [
        "rate_limit: the budget of this process held a send time 3600 s ahead of the clock (damage, or a clock "
        "that stepped back); it was rebuilt and pacing goes on"
    ]
    assert store.run(lambda ring, now: reserve(ring, now, 10.0))[0] == 1400.0
    assert store.notices.take() == []
