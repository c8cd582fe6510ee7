"""Twenty ansible-playbook processes at once against one case lose no metadata.

The simulator delays and interleaves the writes, so a run often writes on top
of a read that another run has already made stale. Because the module POSTs
only new keys and PUTs only the keys it was asked to change, and Tines merges
both, nothing is lost or overwritten either way.

Half the runs take the in-process path and half ship the module, so both
paths run under the same load. The figures (requests, requests per run, wall
time, writes sent on a stale read) are printed and appended to
tests/output/concurrency.jsonl for the reliability guide (docs/docsite/rst/reliability.rst).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ansible.release
import pytest
from helpers.plays import md_path, play, task

PROCESSES = 20
CASE = 900
SEED = {"source": "edr", "ticket": "OPS-1"}
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def own_keys(run, suffix=""):
    return {f"run{run:02d}-{letter}": f"value {run}{letter}{suffix}" for letter in "ab"}


def own_changes(run):
    """What a run's second task asks: its own pre-seeded key changed, plus one more key of its own."""
    return {f"own{run:02d}": f"new {run}", f"run{run:02d}-c": f"value {run}c"}


def path_of(run):
    """Even runs take the in-process path, odd runs ship the module: both paths under the same load."""
    return "inprocess" if run % 2 == 0 else "module"


def run_at_once(run_playbook, playbooks):
    """Start one ansible-playbook process per (playbook, path), all at once; return results and wall seconds."""
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(playbooks)) as pool:
        results = list(pool.map(lambda job: run_playbook(job[0], path=job[1], timeout=240), playbooks))
    return results, time.monotonic() - start


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
def test_twenty_runs_at_once_lose_nothing(sim, run_playbook):
    """Each run adds keys of its own, then changes its own pre-seeded key with overwrite=true."""
    seed = dict(SEED)
    for run in range(PROCESSES):
        seed[f"own{run:02d}"] = f"old {run}"
    sim.set_case(CASE, seed)
    sim.set_options(latency=0.05, interleave=0.1)
    jobs = [
        (
            play(
                [
                    task("add", case_id=CASE, metadata=own_keys(run)),
                    task("overwrite", case_id=CASE, metadata=own_changes(run), overwrite=True),
                ]
            ),
            path_of(run),
        )
        for run in range(PROCESSES)
    ]
    results, wall = run_at_once(run_playbook, jobs)
    log = [entry for entry in sim.log if entry["path"] == md_path(CASE)]
    methods = [entry["method"] for entry in log]
    figures = {
        "processes": PROCESSES,
        "paths": {path: sum(path_of(run) == path for run in range(PROCESSES)) for path in ("inprocess", "module")},
        "keys_added": sum(len(own_keys(run)) + 1 for run in range(PROCESSES)),
        "keys_changed": PROCESSES,
        "requests": len(log),
        "requests_by_method": {method: methods.count(method) for method in sorted(set(methods))},
        "requests_per_run": len(log) / PROCESSES,
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

    expected = dict(seed)
    for run, result in enumerate(results):
        assert result.rc == 0, result
        added = result.task("add")
        assert added["changed"] is True and added["added"] == own_keys(run)
        changed = result.task("overwrite")
        assert changed["updated"] == {f"own{run:02d}": f"new {run}"}
        assert changed["added"] == {f"run{run:02d}-c": f"value {run}c"}
        expected.update(own_keys(run))
        expected.update(own_changes(run))
    assert sim.get_case(CASE) == expected, "every key is there, each run changed only its own key"
    # No retries were needed: add = GET + POST, overwrite = GET + POST + PUT.
    assert figures["requests_by_method"] == {"GET": 2 * PROCESSES, "POST": 2 * PROCESSES, "PUT": PROCESSES}
