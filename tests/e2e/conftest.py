"""Harness for integration tests: a Tines simulator per test and real ansible-playbook runs.

Fixtures:
    sim            started simulator; case 42 = {"source": "edr", "ticket": "OPS-1"}, case 7 = {}
    ansible_path   "inprocess" or "module" (parametrized): how the collection's action plugin runs
    run_playbook   run_playbook(playbook, *, extra_vars=None, check=False, diff=False, verbosity=0,
                   env=None, path="inprocess", timeout=300) -> PlaybookResult
    plays          helpers.plays.Plays on `ansible_path`: plays.run(playbook, **options) -> Outcome,
                   the results and the requests of each task

Playbooks see ``tines_url``, ``tines_key`` and ``tines_read_only_key`` as extra vars.

Environment:
    TINES_TEST_TARGET_PYTHON   the interpreter the module path runs modules with
                               (``ansible_python_interpreter``; default: the Python running pytest).
                               It must have ``requests``; noxfile.py's ``e2e-target-*`` sessions use it.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SIMULATOR_DIR = Path(__file__).resolve().parent.parent / "simulator"
RECORD_ENV = "TINES_TEST_RECORD_FILE"
TARGET_PYTHON_ENV = "TINES_TEST_TARGET_PYTHON"

if str(SIMULATOR_DIR) not in sys.path:
    sys.path.insert(0, str(SIMULATOR_DIR))

import tines_sim
from helpers.ansible_env import (
    CONNECTIONS,
    environment,
    make_tree,
    playbook_command,
)
from helpers.plays import Plays


class PlaybookResult:
    """What one ansible-playbook run left behind: exit code, output and recorded task results."""

    def __init__(self, rc, stdout, stderr, results):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.results = results

    def records(self, name):
        return [record for record in self.results if record["task"] == name]

    def record(self, name):
        """The last recorded entry (status, task, host, result) for the task called `name`."""
        found = self.records(name)
        if not found:
            names = [record["task"] for record in self.results]
            pytest.fail(f"no result recorded for task {name!r}; recorded tasks: {names}\n{self}")
        return found[-1]

    def task(self, name):
        """The Ansible result dict of the task called `name` (loops: the one holding `results`)."""
        return self.record(name)["result"]

    def __str__(self):
        return f"ansible-playbook rc={self.rc}\n--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-3000:]}"

    __repr__ = __str__  # pytest shows the repr of an assertion message that is not a string


def pytest_configure(config):
    config.addinivalue_line("markers", "long_running: takes tens of seconds (rate windows, many runs); starts first")


def pytest_collection_modifyitems(items):
    """Long tests first: with several xdist workers, none is then left running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


@pytest.fixture(scope="session")
def ansible_tree(tmp_path_factory):
    """A collections path holding tines.cases (a symlink to the repo), plus config and inventories."""
    return make_tree(tmp_path_factory.mktemp("ansible"), module_python=os.environ.get(TARGET_PYTHON_ENV))


@pytest.fixture
def sim():
    with tines_sim.Simulator(cases={42: {"source": "edr", "ticket": "OPS-1"}, 7: {}}) as simulator:
        yield simulator


@pytest.fixture(params=list(CONNECTIONS))
def ansible_path(request):
    return request.param


def _playbook_file(playbook, work):
    if isinstance(playbook, os.PathLike) or ("\n" not in playbook and os.path.isfile(playbook)):
        return os.fspath(playbook)
    path = work / "playbook.yml"
    path.write_text(playbook)
    return str(path)


def _read_records(record):
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


@pytest.fixture
def run_playbook(sim, ansible_tree, tmp_path):
    """Run ansible-playbook against `sim`; see the module docstring for the signature."""
    runs = itertools.count(1)

    def run(
        playbook,
        *,
        extra_vars=None,
        check=False,
        diff=False,
        verbosity=0,
        env=None,
        path="inprocess",
        timeout=300,
    ):
        work = tmp_path / f"run-{next(runs)}"
        work.mkdir()
        record = work / "results.jsonl"
        variables = {
            "tines_url": sim.url,
            "tines_key": sim.api_key,
            "tines_read_only_key": sim.read_only_key,
            **(extra_vars or {}),
        }
        options = ["--check"] * check + ["--diff"] * diff + (["-" + "v" * verbosity] if verbosity else [])
        command = playbook_command(ansible_tree, path, variables, _playbook_file(playbook, work), *options)
        # The rate budgets of one test's runs, shared by its forks, apart from other tests and the user's own.
        env = environment(
            ansible_tree,
            work,
            callbacks="tines_record",
            runtime=tmp_path / "runtime",
            overrides={RECORD_ENV: record, **(env or {})},
        )
        proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, _read_records(record))

    return run


@pytest.fixture
def plays(run_playbook, sim, ansible_path, tmp_path):
    return Plays(run_playbook, sim, ansible_path, tmp_path)
