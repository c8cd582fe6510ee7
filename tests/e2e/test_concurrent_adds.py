"""Runs adding the same key at once, on a tenant that answers a POST of an existing key with 422.

Tines does not document what a POST naming a key that exists does; one plausible
tenant refuses the whole request with 422. Several runs that read the case before
any of them wrote, then all POST the same new key, meet it: all but the first get a
422. Each must then read again and add what is still missing, as after a lost
connection, and none may fail. The runs are hosts of one ansible-playbook run, each
a fork of its own, half of them in-process and half shipping the module.
"""

from __future__ import annotations

import pytest
from helpers.plays import hosts_play, md_path, play_data, playbook, task

HOSTS = 6
CASE = 910
# Seconds the simulator waits before it reads or writes for any request: every run's read then
# comes before the first run's write, however the forks' start-up is spread over the machine's cores.
LATENCY = 2.5
SHARED = ("shared_a", "shared_b")


def wanted(run):
    """Keys every run adds (each with its own value), and one key of the run's own."""
    return {**{key: f"run {run}" for key in SHARED}, f"own{run:02d}": f"run {run}"}


@pytest.mark.long_running
def test_runs_adding_one_key_at_once_all_succeed_where_tines_refuses_existing_keys(sim, run_playbook):
    sim.set_case(CASE, {"source": "edr"})
    sim.set_options(post_existing="422", latency=LATENCY)
    runs = {
        f"run{run}": {"path": "inprocess" if run % 2 == 0 else "module", "wanted": wanted(run)} for run in range(HOSTS)
    }
    add = play_data([task("add", case_id=CASE, metadata="{{ wanted }}")], hosts="runs")
    # On the module path, so that the module hosts get the module path's interpreter.
    result = run_playbook(
        playbook(hosts_play("runs", runs), add), path="module", env={"ANSIBLE_FORKS": str(HOSTS)}, timeout=240
    )

    log = [entry for entry in sim.log if entry["path"] == md_path(CASE)]
    refused = [entry for entry in log if entry["method"] == "POST" and entry["status"] == 422]
    assert refused, "no run met a 422: the runs did not race, so this run proves nothing"
    assert result.rc == 0, result
    added = {record["host"]: record["result"]["added"] for record in result.records("add")}
    reported = {record["host"]: record["result"]["metadata"] for record in result.records("add")}
    assert sorted(added) == sorted(runs)
    case = sim.get_case(CASE)
    assert set(case) == {"source", *SHARED, *(f"own{run:02d}" for run in range(HOSTS))}
    for run in range(HOSTS):
        host = f"run{run}"
        assert added[host][f"own{run:02d}"] == f"run {run}"
        assert reported[host] == {key: case[key] for key in reported[host]}, "reports what the case holds"
        assert all(case[key] == f"run {run}" for key in added[host]), "added: only what this run stored"
    for key in SHARED:
        assert sum(key in keys for keys in added.values()) == 1, f"one run added {key}"
