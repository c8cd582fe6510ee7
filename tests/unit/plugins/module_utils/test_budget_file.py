"""The shared budget file, with real files and real processes: two limits on one key, damage, clocks, pruning, the salt.

Each test uses a tenant URL of its own, so that the process's cache of budgets
(one per tenant, key, limit and window) never hands a test another test's budget.
Waits are recorded, not slept, where a clock is faked.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import resource
import signal
import struct
import tempfile
import threading
import time
from unittest import mock

import pytest
from ansible_collections.tines.cases.plugins.module_utils._budget import (
    FileStore,
    budget_for,
    confirm,
    note_rate_limited,
    prune_stale,
    reserve,
)
from ansible_collections.tines.cases.tests.simulator.tines_sim import most_in_any_window
from hypothesis import example, given, settings
from hypothesis import strategies as st

KEY = "key-of-the-budget-tests"
FORK = multiprocessing.get_context("fork")
DAY = 86400.0
BOOT = b"boot-of-the-test"


@pytest.fixture
def url(tmp_path):
    return "https://%s.tines.example" % tmp_path.name.replace("_", "-")


@pytest.fixture
def runtime(tmp_path):
    return {"XDG_RUNTIME_DIR": str(tmp_path)}


def budget_files(runtime):
    directory = os.path.join(runtime["XDG_RUNTIME_DIR"], "tines.cases")
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".budget"))


def notices(budget):
    """What the budget has for the running task (a budget of the older design has no notices)."""
    return budget.notices.take() if hasattr(budget, "notices") else []


class Clocks:
    """time.monotonic, time.time and time.sleep faked: sleeping moves both clocks, steps move either."""

    def __init__(self, monotonic=5000.0, wall=1.7e9):
        self.monotonic, self.wall = monotonic, wall
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.monotonic += seconds
        self.wall += seconds

    def patched(self):
        return mock.patch.multiple(time, monotonic=lambda: self.monotonic, time=lambda: self.wall, sleep=self.sleep)


def _pace(url, runtime, limit, window, requests, results, ready=None, go=None):
    """In a child process: take `requests` slots of a budget at `limit`, report the times and the warnings."""
    try:
        budget, warning = budget_for(url, KEY, limit, window, runtime)
        times = []
        for index in range(requests):
            if index == 2 and ready is not None:
                ready.set()
            if go is not None:
                go.wait()
            budget.wait_for_slot()
            times.append(time.monotonic())
        results.put((limit, ([warning] if warning else []) + notices(budget), times))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put((limit, ["%s: %s" % (type(exc).__name__, exc)], []))


def test_two_limits_on_one_key_in_two_processes_share_the_file_while_it_grows(url, runtime):
    """A process at 3 a second is running when one at 8 starts: the file grows under it, each keeps its limit."""
    results, ready = FORK.Queue(), FORK.Event()
    strict = FORK.Process(target=_pace, args=(url, runtime, 3, 1.0, 9, results, ready))
    strict.start()
    assert ready.wait(30)
    lenient = FORK.Process(target=_pace, args=(url, runtime, 8, 1.0, 16, results))
    lenient.start()
    reports = dict(
        (limit, (warnings, times)) for limit, warnings, times in (results.get(timeout=60) for _process in "ab")
    )
    strict.join(10)
    lenient.join(10)
    assert reports[3][0] == [] and reports[8][0] == [], reports
    strict_times, everyone = reports[3][1], reports[3][1] + reports[8][1]
    assert len(strict_times) == 9 and len(everyone) == 25
    assert strict_times[-1] - strict_times[0] >= 2.0, "nine requests at three a second span two seconds at least"
    assert most_in_any_window(strict_times, 1.0) <= 3
    assert most_in_any_window(everyone, 1.0) <= 8
    assert [os.path.getsize(path) for path in budget_files(runtime)] == [136], "one file, 72 + 8 x 8 bytes"


def test_two_limits_on_one_key_in_one_process_both_work(url, runtime):
    """As a task with rate_limit 100 beside a lookup at the default: the smaller limit first, then alternating."""
    smaller, _warning = budget_for(url, KEY, 20, 60.0, runtime)
    larger, _warning = budget_for(url, KEY, 100, 60.0, runtime)
    for _round in range(3):
        smaller.wait_for_slot()
        larger.wait_for_slot()
    assert notices(smaller) == [] and notices(larger) == []
    assert [os.path.getsize(path) for path in budget_files(runtime)] == [872], "72 + 100 x 8 bytes"


def test_threads_share_one_budget(url, runtime):
    """16 threads of one process (a batch task) take 80 slots of a budget of 20 per half second."""
    budget, _warning = budget_for(url, KEY, 20, 0.5, runtime)
    tickets, failures = [], []

    def requests():
        try:
            for _request in range(5):
                tickets.append(budget.wait_for_slot())
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=requests) for _thread in range(16)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(set(tickets)) == 80
    assert time.monotonic() - started >= 1.5, "80 requests at 20 per half second span three half seconds at least"
    assert notices(budget) == []


V1_ITEM_12 = struct.pack("<4sHHIIIIdd", b"TCRB", 1, 0, 25, 0, 25, 0, 0.0, 0.0).ljust(200, b"\0")


def write_at(offset, data):
    def damage(path):
        with open(path, "r+b") as handle:
            handle.seek(offset)
            handle.write(data)

    return damage


def replace_with(content):
    def damage(path):
        data = content(path) if callable(content) else content
        with open(path, "wb") as handle:
            handle.write(data)

    return damage


def first_bytes(count):
    def content(path):
        with open(path, "rb") as handle:
            return handle.read(count)

    return content


DAMAGE = {
    "older version's file cut to 200 bytes": (replace_with(V1_ITEM_12), "was 200 bytes where its header needs 240"),
    "truncated": (replace_with(first_bytes(200)), "was 200 bytes where its header needs 272"),
    "header capacity larger than the file": (
        write_at(8, struct.pack("<I", 1000)),
        "was 272 bytes where its header needs 8072",
    ),
    "garbage": (replace_with(bytes(range(256)) * 2), "was not a rate budget file"),
    "send times of 1e300": (
        write_at(72, struct.pack("<25d", *[1e300] * 25)),
        "held a send time 1e+300 s ahead of the clock",
    ),
    "send times of inf": (
        write_at(72, struct.pack("<25d", *[float("inf")] * 25)),
        "held an impossible send time (inf)",
    ),
    "send times of nan": (
        write_at(72, struct.pack("<25d", *[float("nan")] * 25)),
        "held an impossible send time (nan)",
    ),
    "a hold until far ahead": (write_at(32, struct.pack("<d", 1e12)), "held a time ahead of the clock"),
    "an inconsistent header": (write_at(12, struct.pack("<I", 99)), "held an inconsistent header"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_file_is_rebuilt_with_one_warning_and_no_long_wait(url, runtime, damage):
    damage_file, problem = DAMAGE[damage]
    budget, _warning = budget_for(url, KEY, 25, 2.0, runtime)
    budget.wait_for_slot()
    [path] = budget_files(runtime)
    damage_file(path)
    sleeps = []
    with mock.patch.object(time, "sleep", sleeps.append):
        budget.wait_for_slot()
        budget.wait_for_slot()
    assert all(0 < seconds <= 62.05 for seconds in sleeps), sleeps
    [warning] = notices(budget)
    assert warning.startswith("rate_limit: the budget file %s %s" % (path, problem)), warning
    assert warning.endswith("; it was rebuilt and pacing goes on")
    assert notices(budget) == [], "one warning, in the task that met the damage"
    assert os.path.getsize(path) == 272
    with open(path, "rb") as handle:
        assert handle.read(6) == b"TCRB\x02\x00"


def test_a_damaged_file_met_when_a_task_starts_is_rebuilt_with_one_warning(url, runtime):
    """The state an older version left (its header says 240 bytes, the file has 200): the next task heals it."""
    budget_for(url, KEY, 25, 2.0, runtime)
    [path] = budget_files(runtime)
    with open(path, "wb") as handle:
        handle.write(V1_ITEM_12)
    budget, warning = budget_for(url, KEY, 25, 2.5, runtime)
    assert warning is None
    budget.wait_for_slot()
    assert notices(budget) == [
        "rate_limit: the budget file %s was 200 bytes where its header needs 240; it was rebuilt and pacing goes on"
        % path
    ]


def _grow_past_the_file_size_limit(url, runtime, results):
    """In a child: a budget at 100 meets a damaged file it cannot rebuild (RLIMIT_FSIZE: EFBIG, as ENOSPC would)."""
    try:
        budget, _warning = budget_for(url, KEY, 100, 2.0, runtime)
        budget.wait_for_slot()
        [path] = budget_files(runtime)
        os.truncate(path, 100)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        for _request in range(3):
            budget.wait_for_slot()
        later, warning = budget_for(url, KEY, 100, 2.0, runtime)
        results.put((notices(budget), warning, later is budget))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(("%s: %s" % (type(exc).__name__, exc), None, None))


def test_a_file_that_cannot_be_rebuilt_leaves_the_process_pacing_alone_with_one_warning(url, runtime):
    results = FORK.Queue()
    child = FORK.Process(target=_grow_past_the_file_size_limit, args=(url, runtime, results))
    child.start()
    found, warning_of_later_tasks, same = results.get(timeout=60)
    child.join(10)
    alone = (
        "rate_limit is paced for this process only: the shared budget file failed (OSError: [Errno 27] File too "
        "large), so other processes on this host using the same API key are not counted"
    )
    assert found == [alone]
    assert same and warning_of_later_tasks == alone, "later tasks of the process are told too"


def test_anything_the_file_raises_leaves_the_process_pacing_alone(url, runtime):
    budget, _warning = budget_for(url, KEY, 10, 2.0, runtime)
    budget.wait_for_slot()
    broken = budget.store

    def fails():
        raise RuntimeError("something unforeseen")

    broken._buffer = fails
    for _request in range(3):
        budget.wait_for_slot()
    assert notices(budget) == [
        "rate_limit is paced for this process only: the shared budget file failed (RuntimeError: something "
        "unforeseen), so other processes on this host using the same API key are not counted"
    ]
    assert broken.closed


def test_a_wall_clock_step_back_makes_nobody_wait(url, runtime):
    """NTP or a resumed VM sets the wall clock back an hour: pacing does not read it."""
    budget, _warning = budget_for(url, KEY, 3, 2.0, runtime)
    for _request in range(3):
        budget.wait_for_slot()
    sleeps, wall = [], time.time()
    with mock.patch.multiple(time, time=lambda: wall - 3600.0, sleep=sleeps.append):
        budget.wait_for_slot()
    assert all(seconds <= 2.05 for seconds in sleeps), sleeps
    assert notices(budget) == []


def waits_after_a_step(url, runtime, step):
    """Four requests at three per 2 s, both clocks step by `step`, four more: their sleeps, and the warnings.

    The fourth request before the step went at 5002.05, the three before it at 5000.
    """
    clocks = Clocks()
    with clocks.patched():
        budget, _warning = budget_for(url, KEY, 3, 2.0, runtime)
        for _request in range(4):
            budget.wait_for_slot()
        clocks.monotonic += step
        clocks.wall += step
        before = len(clocks.sleeps)
        for _request in range(4):
            budget.wait_for_slot()
    return clocks.sleeps[before:], notices(budget)


@pytest.mark.parametrize(("step", "ahead"), [(-3600.0, "3597.95"), (-200.0, "197.95")])
def test_a_clock_that_steps_back_far_costs_one_warning_and_no_wait_beyond_the_horizon(url, runtime, step, ahead):
    """Times more than 62.05 s ahead (a 2-s window) are dropped, not waited for."""
    sleeps, warnings = waits_after_a_step(url, runtime, step)
    assert all(seconds <= 62.05 for seconds in sleeps), sleeps
    assert len(warnings) == 1 and "held a send time %s s ahead of the clock" % ahead in warnings[0], warnings


def test_a_clock_that_steps_back_within_the_horizon_is_waited_for(url, runtime):
    """Back 30 s, at 4972.05: the next request waits until the last before the step, 5002.05, then all is paced."""
    sleeps, warnings = waits_after_a_step(url, runtime, -30.0)
    assert sleeps == [pytest.approx(30.0), pytest.approx(2.05)]
    assert warnings == []


def test_a_clock_that_steps_forward_a_day_costs_nothing(url, runtime):
    sleeps, warnings = waits_after_a_step(url, runtime, DAY)
    assert sleeps == [pytest.approx(2.05)], "only the fourth of the new requests waits, for its own window"
    assert warnings == []


def test_a_file_of_another_boot_starts_afresh_without_a_warning(tmp_path):
    path = str(tmp_path / "x.budget")
    before = FileStore(path, 3, 10.0, boot=b"an earlier boot", clock=lambda: 90000.0)
    for _request in range(3):
        before.run(lambda ring, now: reserve(ring, now, 10.0))
    after = FileStore(path, 3, 10.0, boot=b"this boot", clock=lambda: 40.0)
    assert after.run(lambda ring, now: reserve(ring, now, 10.0))[0] == 40.0
    assert before.notices.take() == [] and after.notices.take() == []


def stamped(path, wall):
    store = FileStore(str(path), 3, 10.0, boot=BOOT, wall=lambda: wall)
    store.run(lambda ring, now: reserve(ring, now, 10.0))
    return store


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_pruning_reads_the_stamp_inside_the_file_not_its_mtime(tmp_path):
    """On tmpfs, writes through the map leave the mtime alone: a file in use may look a day old by it."""
    in_use, unused = tmp_path / "in-use.budget", tmp_path / "unused.budget"
    stamped(in_use, time.time() - 60.0)
    stamped(unused, time.time() - DAY - 60.0)
    age(in_use, 2 * DAY)
    age(unused, 60.0)
    prune_stale(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["in-use.budget"]


def test_a_budget_in_use_survives_the_pruning_when_another_key_starts(url, runtime):
    """A budget used all day on tmpfs keeps an old mtime: a budget for another key must not remove it."""
    budget, _warning = budget_for(url, KEY, 3, 2.0, runtime)
    budget.wait_for_slot()
    [path] = budget_files(runtime)
    age(path, 2 * DAY)
    budget_for(url, "another key", 3, 2.0, runtime)
    assert path in budget_files(runtime)
    assert len(budget_files(runtime)) == 2


def test_pruning_goes_by_mtime_only_for_a_file_without_a_valid_stamp(tmp_path):
    for name, seconds in (("old.budget", 2 * DAY), ("new.budget", 60.0), ("other-file", 2 * DAY)):
        (tmp_path / name).write_bytes(b"not a budget")
        age(tmp_path / name, seconds)
    prune_stale(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["new.budget", "other-file"]


def test_pruning_leaves_a_file_whose_lock_is_taken(tmp_path):
    path = tmp_path / "locked.budget"
    stamped(path, time.time() - 2 * DAY)
    with open(path, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        prune_stale(str(tmp_path))
    assert os.listdir(tmp_path) == ["locked.budget"]


def test_a_process_whose_file_was_removed_uses_the_new_one(url, runtime):
    """The file is pruned (or removed by hand) while a process has it open: it follows the path, so one budget."""
    first, _warning = budget_for(url, KEY, 4, 2.0, runtime)
    first.wait_for_slot()
    [path] = budget_files(runtime)
    os.unlink(path)
    second, _warning = budget_for(url, KEY, 4, 2.5, runtime)  # another task's process, say
    first_sleeps, second_sleeps = [], []
    with mock.patch.object(time, "sleep", first_sleeps.append):
        for _request in range(4):
            first.wait_for_slot()
    with mock.patch.object(time, "sleep", second_sleeps.append):
        second.wait_for_slot()
    assert budget_files(runtime) == [path]
    assert first_sleeps == [], "four requests in the new file: the one in the removed file no longer counts"
    assert len(second_sleeps) == 1 and 2.0 < second_sleeps[0] <= 2.55, "the fifth in the file waits: four counted"


def _open_budget(url, runtime, barrier, results):
    try:
        barrier.wait(60)
        _budget, warning = budget_for(url, KEY, 10, 60.0, runtime)
        results.put(warning)
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put("%s: %s" % (type(exc).__name__, exc))


@pytest.mark.parametrize(
    ("salt", "processes", "rounds"),
    [(None, 160, 3), (b"half a", 48, 1), (b"", 48, 1)],
    ids=["new host", "incomplete salt", "empty salt"],
)
def test_processes_starting_at_once_all_share_one_budget(url, tmp_path, salt, processes, rounds):
    """No process falls back to pacing alone, none names the budget by another salt, no temporary file is left.

    A salt left incomplete (an older version died while writing it) is replaced once, for all.
    """
    for round_number in range(rounds):
        runtime = {"XDG_RUNTIME_DIR": str(tmp_path / ("round-%d" % round_number))}
        directory = os.path.join(runtime["XDG_RUNTIME_DIR"], "tines.cases")
        os.makedirs(directory, mode=0o700)
        if salt is not None:
            with open(os.path.join(directory, "name-salt"), "wb") as handle:
                handle.write(salt)
        barrier, results = FORK.Barrier(processes), FORK.Queue()
        children = [
            FORK.Process(target=_open_budget, args=(url, runtime, barrier, results)) for _process in range(processes)
        ]
        for child in children:
            child.start()
        warnings = [results.get(timeout=120) for _child in children]
        for child in children:
            child.join(30)
        assert [warning for warning in warnings if warning is not None] == []
        assert len(os.listdir(directory)) == 2, os.listdir(directory)
        assert len(budget_files(runtime)) == 1
        assert os.path.getsize(os.path.join(directory, "name-salt")) == 32


MARGIN = {2.0: 0.05, 60.0: 0.3}
HORIZON = {2.0: 62.05, 60.0: 120.3}
request = st.tuples(
    st.just("request"),
    st.integers(min_value=0, max_value=7),
    st.one_of(st.sampled_from([0.0, 0.01, 0.5]), st.floats(min_value=0, max_value=5)),
    st.floats(min_value=0, max_value=1),
    st.sampled_from([False, False, False, True]),
    st.one_of(st.none(), st.floats(min_value=0.5, max_value=60)),
)
clock_step = st.tuples(st.just("clock"), st.floats(min_value=-7200, max_value=7200).filter(bool))
small_limit = st.one_of(st.integers(min_value=1, max_value=3), st.integers(min_value=1, max_value=40))
join = st.tuples(st.just("join"), small_limit)


def asks(*steps):
    """Requests, each (process, seconds after the one before), sent on time and served."""
    return [("request", who, gap, 0.0, False, None) for who, gap in steps]


@settings(deadline=None, max_examples=500)
@example(window=2.0, limits=[1, 8], steps=asks((0, 0.0), (0, 0.0), (1, 0.0), (0, 3.0)))  # the lenient one jumps ahead
@example(window=60.0, limits=[1, 1, 1], steps=asks((0, 0.0), (1, 0.0), (2, 0.0)))  # a queue past the horizon
@example(window=2.0, limits=[3], steps=[*asks((0, 0.0), (0, 0.0)), ("join", 8), *asks((1, 0.0), (0, 0.5), (1, 0.0))])
@example(window=2.0, limits=[1, 1], steps=[*asks((0, 0.0), (1, 0.0)), ("clock", -30.0), *asks((0, 0.0), (1, 0.0))])
@given(
    window=st.sampled_from([2.0, 60.0]),
    limits=st.lists(small_limit, min_size=1, max_size=4),
    steps=st.lists(st.one_of(request, request, request, clock_step, join), max_size=60),
)
def test_whatever_happens_waits_stay_bounded_and_no_window_holds_more_than_a_limit(window, limits, steps):
    """Processes at several limits on one file, each waiting for its slot while others claim theirs; processes
    joining (the file grows), 429s, sends a little late, clock steps both ways.

    Every wait stays within the horizon. For every send, the sends claimed before it that
    went out in the window before it are no more than its process's limit, so no window
    holds more than the largest limit. Windows are counted between clock steps: across a
    step, the clock's readings say nothing about real time.
    """
    with tempfile.TemporaryDirectory() as directory:
        simulation = Simulation(os.path.join(directory, "shared.budget"), window, limits)
        try:
            for step in steps:
                simulation.take(step)
            simulation.drain()
        finally:
            simulation.close()
    for sends in simulation.segments:
        for sent, order, limit in sends:
            assert (
                sum(1 for other, before, _limit in sends if before <= order and sent - window < other <= sent) <= limit
            )
        assert most_in_any_window([sent for sent, _order, _limit in sends], window) <= max(limits + simulation.joined)


class Simulation:
    """Processes sharing one budget file on a clock of their own, run as events in the order of their times."""

    def __init__(self, path, window, limits):
        self.path, self.window = path, window
        self.now = 10000.0
        self.processes = [self._process(limit) for limit in limits]
        self.joined = []
        self.waiting = {}  # process -> (time, what it does then)
        self.claims = 0
        self.segments = [[]]

    def _process(self, limit):
        return limit, FileStore(self.path, limit, self.window, boot=BOOT, clock=lambda: self.now)

    def take(self, step):
        if step[0] == "join":
            self.joined.append(step[1])
            self.processes.append(self._process(step[1]))
        elif step[0] == "clock":
            self.drain()
            self.now = max(100.0, self.now + step[1])  # a monotonic clock counts from boot: never below 0
            self.segments.append([])
        else:
            who, gap, lateness, refused, retry_after = step[1:]
            who %= len(self.processes)
            self.run_until(self.now + gap)
            if who not in self.waiting:
                self._claim(who, lateness, refused, retry_after)

    def run_until(self, until):
        while True:
            due = [(at, who) for who, (at, _then) in self.waiting.items() if at <= until]
            if not due:
                break
            at, who = min(due)
            self.now = max(self.now, at)
            self.waiting.pop(who)[1]()
        self.now = max(self.now, until)

    def drain(self):
        while self.waiting:
            self.run_until(min(at for at, _then in self.waiting.values()))

    def close(self):
        for _limit, store in self.processes:
            store.close()

    def _claim(self, who, lateness, refused, retry_after):
        limit, store = self.processes[who]
        at, ticket = store.run(lambda ring, now: reserve(ring, now, self.window, limit))
        if ticket is None:
            assert at - self.now <= self.window + MARGIN[self.window]
            self.waiting[who] = (at, lambda: self._claim(who, lateness, refused, retry_after))
            return
        assert self.now <= at <= self.now + HORIZON[self.window]
        self.claims += 1
        order = self.claims
        self.waiting[who] = (
            at + lateness * MARGIN[self.window],
            lambda: self._send(who, ticket, order, refused, retry_after),
        )

    def _send(self, who, ticket, order, refused, retry_after):
        limit, store = self.processes[who]
        if refused:
            hold = store.run(lambda ring, now: note_rate_limited(ring, ticket, now, self.window, limit, retry_after))
            assert 0 <= hold <= 60.0
        else:
            store.run(lambda ring, now: confirm(ring, ticket, now))
            self.segments[-1].append((self.now, order, limit))
