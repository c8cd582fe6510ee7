"""Harness for integration tests: a Tines simulator per test and real ansible-playbook runs.

Fixtures:
    sim            started simulator; case 42 = {"source": "edr", "ticket": "OPS-1"}, case 7 = {}
    ansible_path   "inprocess" or "module" (parametrized): how the collection's action plugin runs
    run_playbook   run_playbook(playbook, *, extra_vars=None, check=False, diff=False, verbosity=0,
                   env=None, path="inprocess", timeout=300) -> PlaybookResult

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

REPO_ROOT = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent / "helpers"
SIMULATOR_DIR = REPO_ROOT / "tests" / "simulator"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
RECORD_ENV = "TINES_TEST_RECORD_FILE"
TARGET_PYTHON_ENV = "TINES_TEST_TARGET_PYTHON"

if str(SIMULATOR_DIR) not in sys.path:
    sys.path.insert(0, str(SIMULATOR_DIR))

import tines_sim

CONNECTIONS = {"inprocess": "local", "module": "tines_test_remote"}


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


@pytest.fixture(scope="session")
def ansible_tree(tmp_path_factory):
    """A collections path holding tines.cases (a symlink to the repo), plus config and inventories."""
    root = tmp_path_factory.mktemp("ansible")
    namespace = root / "ansible_collections" / "tines"
    namespace.mkdir(parents=True)
    (namespace / "cases").symlink_to(REPO_ROOT, target_is_directory=True)
    config = root / "ansible.cfg"
    config.write_text("# empty: keeps any ansible.cfg in the working directory or HOME out of the tests\n")
    # The in-process path runs in the controller's Python whatever this says; the module path
    # ships the module to this interpreter.
    interpreters = {"inprocess": sys.executable, "module": os.environ.get(TARGET_PYTHON_ENV) or sys.executable}
    inventories = {}
    for path, connection in CONNECTIONS.items():
        inventories[path] = root / f"inventory-{path}.ini"
        inventories[path].write_text(
            f"localhost ansible_connection={connection} ansible_python_interpreter={interpreters[path]}\n"
        )
    return {"root": root, "config": config, "inventories": inventories}


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


def _environment(tree, work, record, overrides):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "TINES_"))}
    env.update(
        ANSIBLE_CONFIG=str(tree["config"]),
        ANSIBLE_COLLECTIONS_PATH=str(tree["root"]),
        ANSIBLE_CONNECTION_PLUGINS=str(HELPERS / "connection_plugins"),
        ANSIBLE_CALLBACK_PLUGINS=str(HELPERS / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="tines_record",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_LOCAL_TEMP=str(work / "local-tmp"),
        ANSIBLE_REMOTE_TEMP=str(work / "remote-tmp"),
        **{RECORD_ENV: str(record)},
    )
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


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
        if path not in CONNECTIONS:
            raise ValueError(f"path must be one of {sorted(CONNECTIONS)}, not {path!r}")
        work = tmp_path / f"run-{next(runs)}"
        work.mkdir()
        record = work / "results.jsonl"
        variables = {
            "tines_url": sim.url,
            "tines_key": sim.api_key,
            "tines_read_only_key": sim.read_only_key,
            **(extra_vars or {}),
        }
        command = [ANSIBLE_PLAYBOOK, "-i", str(ansible_tree["inventories"][path]), "-e", json.dumps(variables)]
        command += ["--check"] * check + ["--diff"] * diff
        if verbosity:
            command.append("-" + "v" * verbosity)
        command.append(_playbook_file(playbook, work))
        proc = subprocess.run(
            command,
            cwd=work,
            env=_environment(ansible_tree, work, record, env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, _read_records(record))

    return run
