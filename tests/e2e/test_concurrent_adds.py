"""Runs adding the same key at once, on a tenant that answers a POST of an existing key with 422.

Tines does not document what a POST naming a key that exists does; one plausible
tenant refuses the whole request with 422. Several runs that read the case before
any of them wrote, then all POST the same new key, meet it: all but the first get a
422. Each must then read again and add what is still missing, as after a lost
connection, and none may fail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.plays import md_path, play, task

PROCESSES = 6
CASE = 910
# Seconds the simulator waits before it reads or writes for any request: every run's read then
# comes before the first run's write, however the runs' start-up is spread over the machine's cores.
LATENCY = 2.5
SHARED = ("shared_a", "shared_b")


def wanted(run):
    """Keys every run adds (each with its own value), and one key of the run's own."""
    return {**{key: f"run {run}" for key in SHARED}, f"own{run:02d}": f"run {run}"}


@pytest.mark.long_running
def test_runs_adding_one_key_at_once_all_succeed_where_tines_refuses_existing_keys(sim, run_playbook):
    sim.set_case(CASE, {"source": "edr"})
    sim.set_options(post_existing="422", latency=LATENCY)
    jobs = [
        (play([task("add", case_id=CASE, metadata=wanted(run))]), "inprocess" if run % 2 == 0 else "module")
        for run in range(PROCESSES)
    ]
    with ThreadPoolExecutor(max_workers=PROCESSES) as pool:
        results = list(pool.map(lambda job: run_playbook(job[0], path=job[1], timeout=240), jobs))

    log = [entry for entry in sim.log if entry["path"] == md_path(CASE)]
    refused = [entry for entry in log if entry["method"] == "POST" and entry["status"] == 422]
    assert refused, "no run met a 422: the runs did not race, so this run proves nothing"
    for result in results:
        assert result.rc == 0, result
    case = sim.get_case(CASE)
    assert set(case) == {"source", *SHARED, *(f"own{run:02d}" for run in range(PROCESSES))}
    for run, result in enumerate(results):
        added = result.task("add")
        assert added["added"][f"own{run:02d}"] == f"run {run}"
        assert added["metadata"] == {key: case[key] for key in added["metadata"]}, "reports what the case holds"
        assert all(case[key] == f"run {run}" for key in added["added"]), "added: only what this run stored"
    for key in SHARED:
        assert sum(key in result.task("add")["added"] for result in results) == 1, f"one run added {key}"
