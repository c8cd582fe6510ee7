"""Twenty hosts writing to one case at once lose no metadata.

One ansible-playbook run adds twenty hosts, each a fork of its own (twenty worker
processes at once), and the free strategy lets every host go through its tasks
without waiting for the others, as twenty separate runs would. The simulator
delays and interleaves the writes, so a host often writes on top of a read that
another host has already made stale. Because the module POSTs only new keys and
PUTs only the keys it was asked to change, and Tines merges both, nothing is lost
or overwritten either way.

Half the hosts take the in-process path and half ship the module, so both
paths run under the same load. The figures (requests, requests per host, wall
time, writes sent on a stale read) are printed and appended to
tests/output/concurrency.jsonl for the reliability guide (docs/docsite/rst/reliability.rst).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import ansible.release
import pytest
from helpers.plays import hosts_play, md_path, play_data, playbook, task

HOSTS = 20
CASE = 900
SEED = {"source": "edr", "ticket": "OPS-1"}
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def own_keys(run):
    return {f"run{run:02d}-{letter}": f"value {run}{letter}" for letter in "ab"}


def own_changes(run):
    """What a host's second task asks: its own pre-seeded key changed, plus one more key of its own."""
    return {f"own{run:02d}": f"new {run}", f"run{run:02d}-c": f"value {run}c"}


def path_of(run):
    """Even hosts take the in-process path, odd hosts ship the module: both paths under the same load."""
    return "inprocess" if run % 2 == 0 else "module"


def hosts():
    return {
        f"run{run:02d}": {"path": path_of(run), "own_keys": own_keys(run), "own_changes": own_changes(run)}
        for run in range(HOSTS)
    }


def at_once():
    """Every host adds its own keys, then changes its own pre-seeded key with overwrite=true."""
    tasks = [
        task("add", case_id=CASE, metadata="{{ own_keys }}"),
        task("overwrite", case_id=CASE, metadata="{{ own_changes }}", overwrite=True),
    ]
    return playbook(hosts_play("runs", hosts()), play_data(tasks, hosts="runs", strategy="free"))


def stale_writes(log):
    """Writes sent after another run had written to the case since this run's read.

    A task keeps one connection, so the log's client address ties its write to its read.
    """
    stale = 0
    last_read = {}
    for index, entry in enumerate(log):
        if entry["method"] == "GET":
            last_read[entry["client"]] = index
        elif entry["client"] in last_read:
            since = log[last_read[entry["client"]] + 1 : index]
            stale += any(other["method"] != "GET" and other["client"] != entry["client"] for other in since)
    return stale


@pytest.mark.long_running
def test_twenty_hosts_at_once_lose_nothing(sim, run_playbook):
    seed = dict(SEED)
    for run in range(HOSTS):
        seed[f"own{run:02d}"] = f"old {run}"
    sim.set_case(CASE, seed)
    sim.set_options(latency=0.05, interleave=0.1)
    start = time.monotonic()
    # On the module path, so that the module hosts get the module path's interpreter.
    result = run_playbook(at_once(), path="module", env={"ANSIBLE_FORKS": str(HOSTS)}, timeout=240)
    wall = time.monotonic() - start
    assert result.rc == 0, result
    log = [entry for entry in sim.log if entry["path"] == md_path(CASE)]
    methods = [entry["method"] for entry in log]
    figures = {
        "hosts": HOSTS,
        "paths": {path: sum(path_of(run) == path for run in range(HOSTS)) for path in ("inprocess", "module")},
        "keys_added": sum(len(own_keys(run)) + 1 for run in range(HOSTS)),
        "keys_changed": HOSTS,
        "requests": len(log),
        "requests_by_method": {method: methods.count(method) for method in sorted(set(methods))},
        "requests_per_host": len(log) / HOSTS,
        "writes_on_a_stale_read": stale_writes(log),
        "wall_seconds": round(wall, 1),
        "cpus": os.cpu_count(),
        "ansible_core": ansible.release.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(json.dumps(figures))
    OUTPUT.mkdir(exist_ok=True)
    with open(OUTPUT / "concurrency.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(figures) + "\n")

    added = {record["host"]: record for record in result.records("add")}
    changed = {record["host"]: record for record in result.records("overwrite")}
    assert sorted(added) == sorted(changed) == sorted(hosts())
    expected = dict(seed)
    for run in range(HOSTS):
        host = f"run{run:02d}"
        assert added[host]["status"] == "changed" and added[host]["result"]["added"] == own_keys(run), host
        assert changed[host]["result"]["updated"] == {f"own{run:02d}": f"new {run}"}, host
        assert changed[host]["result"]["added"] == {f"run{run:02d}-c": f"value {run}c"}, host
        expected.update(own_keys(run))
        expected.update(own_changes(run))
    assert sim.get_case(CASE) == expected, "every key is there, each host changed only its own key"
    # No retries were needed: add = GET + POST, overwrite = GET + POST + PUT.
    assert figures["requests_by_method"] == {"GET": 2 * HOSTS, "POST": 2 * HOSTS, "PUT": HOSTS}
    # The hosts really ran at once: some wrote on a read another host had made stale.
    assert figures["writes_on_a_stale_read"] > 0, figures
