"""Harness for the event source tests: the collection importable from this checkout, the simulator, the source.

Fixtures:
    case_events   the globals of extensions/eda/plugins/event_source/case_events.py, loaded by path as
                  ansible-rulebook loads it (runpy), so ``case_events["main"]`` is the entry point
    sim           a started simulator with no cases
    private_runtime   XDG_RUNTIME_DIR in the test's directory: the rate budget files stay apart from the user's

The tests in test_rulebook.py need ``ansible-rulebook`` beside this Python and Java 17; see that file.
"""

from __future__ import annotations

import atexit
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_PATH = REPO_ROOT / "extensions" / "eda" / "plugins" / "event_source" / "case_events.py"
SIMULATOR_DIR = REPO_ROOT / "tests" / "simulator"
E2E_DIR = REPO_ROOT / "tests" / "e2e"

if str(SIMULATOR_DIR) not in sys.path:
    sys.path.insert(0, str(SIMULATOR_DIR))

import tines_sim


def _collection_importable():
    try:
        import ansible_collections.tines.cases.plugins.module_utils  # noqa: F401
    except ImportError:
        return False
    return True


if not _collection_importable():
    # The repo root is the collection root: the e2e tests' tree (ansible_collections/tines/cases, a symlink to
    # this checkout) makes it importable as the collection, as it is once installed.
    sys.path.insert(0, str(E2E_DIR))
    from helpers.ansible_env import make_tree

    TREE = Path(tempfile.mkdtemp(prefix="tines-cases-eda-"))
    atexit.register(shutil.rmtree, TREE, True)
    sys.path.insert(0, str(make_tree(TREE / "tree")["root"]))
    for name in [name for name in sys.modules if name.split(".")[0] == "ansible_collections"]:
        del sys.modules[name]


@pytest.fixture(scope="session")
def case_events():
    return runpy.run_path(str(SOURCE_PATH))


@pytest.fixture
def private_runtime(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for name in ("TINES_TENANT_URL", "TINES_TENANT", "TINES_API_KEY", "TINES_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    return runtime


@pytest.fixture
def sim(private_runtime):
    with tines_sim.Simulator() as simulator:
        yield simulator
