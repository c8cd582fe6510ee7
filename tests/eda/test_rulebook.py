"""Real ansible-rulebook runs of the example rulebook, examples/rulebooks/edr_cases.yml, against the simulator.

The collection is built and installed into a collections path of the test's own, as users
install it; ansible-rulebook (beside this Python, with Java 17) runs the rulebook from a
copy of examples/rulebooks/, and its run_playbook action runs playbooks/isolate_and_tag.yml
with the collection's module. Two runs, because each starts a JVM (10-25 s on 2 cores):
the first shows a new and an updated case making one event each, a closed case none, and
the playbook tagging the new case; the second, a restart on the same state file, shows the
source catching up on what changed while it was stopped, repeating nothing.

Without ansible-rulebook or Java the test is skipped, saying why; with CI=true it fails instead.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tines_sim
from case_changes import created_now, edit, list_requests, record

REPO_ROOT = Path(__file__).resolve().parents[2]
RULEBOOKS = REPO_ROOT / "examples" / "rulebooks"
BIN = Path(sys.executable).parent
ANSIBLE_RULEBOOK = BIN / "ansible-rulebook"
ANSIBLE_GALAXY = BIN / "ansible-galaxy"
START_TIMEOUT = 180
STEP_TIMEOUT = 90


def missing_requirement():
    """Why ansible-rulebook cannot run here, or None."""
    missing = [path.name for path in (ANSIBLE_RULEBOOK, ANSIBLE_GALAXY) if not path.exists()]
    if missing:
        return "%s not installed beside %s (pip install ansible-rulebook ansible-core)" % (
            " and ".join(missing),
            sys.executable,
        )
    try:
        version = subprocess.run(
            [str(ANSIBLE_RULEBOOK), "--version"], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "ansible-rulebook --version failed: %s" % exc
    if version.returncode != 0 or "Java version" not in version.stdout:
        said = (version.stdout + version.stderr).strip().splitlines() or ["no output"]
        return "ansible-rulebook cannot start, most likely for want of Java 17 (JAVA_HOME or java on PATH): " + said[-1]
    return None


@pytest.fixture(scope="module")
def collections_path(tmp_path_factory):
    reason = missing_requirement()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and the rulebook tests cannot run: " + reason)
        pytest.skip(reason)
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [str(ANSIBLE_GALAXY), "collection", "build", "--output-path", str(build), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (tarball,) = build.glob("tines-cases-*.tar.gz")
    installed = tmp_path_factory.mktemp("collections")
    subprocess.run(
        [str(ANSIBLE_GALAXY), "collection", "install", "-p", str(installed), str(tarball)],
        check=True,
        capture_output=True,
    )
    return installed


def polls(sim):
    return len(list_requests(sim))


class Rulebook:
    """One ansible-rulebook process running edr_cases.yml; stopped with SIGINT, as a user stops it."""

    runs = 0

    def __init__(self, work, collections, sim):
        Rulebook.runs += 1
        self.output = work / ("rulebook-%d.out" % Rulebook.runs)
        self.errors = work / ("rulebook-%d.err" % Rulebook.runs)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "TINES_"))}
        env.update(
            PATH=os.pathsep.join((str(BIN), env.get("PATH", ""))),
            ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
            TINES_TENANT_URL=sim.url,
            TINES_API_KEY=sim.api_key,
            XDG_RUNTIME_DIR=str(work / "runtime"),
        )
        command = [str(ANSIBLE_RULEBOOK), "-r", "edr_cases.yml", "-i", "inventory.yml", "--vars", "vars.yml"]
        with open(self.output, "w") as out, open(self.errors, "w") as err:
            self.process = subprocess.Popen(command, cwd=work / "rulebooks", env=env, stdout=out, stderr=err)

    def events(self):
        """(case_id, change) of each event print_event wrote, in order."""
        lines = self.output.read_text().splitlines()
        events = [ast.literal_eval(line) for line in lines if line.startswith("{'meta'")]
        return [(event["case"]["case_id"], event["change"]) for event in events]

    def wait_for(self, what, condition, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("ansible-rulebook: %s did not happen\n%s" % (what, self))
            time.sleep(0.1)

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail("ansible-rulebook did not stop on SIGINT\n%s" % self)

    def __str__(self):
        return "--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.output.read_text()[-6000:],
            self.errors.read_text()[-4000:],
        )


def run_until(rulebook, sim, what, events, tagged):
    """Wait for `events` events and the tag on case `tagged`, then three more polls (no more events), then stop."""
    rulebook.wait_for(
        "%d events and the tag on case %d (%s)" % (events, tagged, what),
        lambda: len(rulebook.events()) >= events and "handled_by" in (sim.get_case(tagged) or {}),
    )
    seen = polls(sim)
    rulebook.wait_for("three more polls", lambda: polls(sim) >= seen + 3)
    rulebook.stop()
    return rulebook.events()


@pytest.fixture
def work(tmp_path):
    shutil.copytree(RULEBOOKS, tmp_path / "rulebooks")
    (tmp_path / "rulebooks" / "inventory.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: %s\n" % sys.executable
    )
    (tmp_path / "rulebooks" / "vars.yml").write_text(
        "tines_poll_interval: 1\ntines_state_file: %s\n" % (tmp_path / "state.json")
    )
    (tmp_path / "runtime").mkdir(mode=0o700)
    return tmp_path


def test_rulebook_reacts_to_new_and_updated_cases_and_resumes_after_a_restart(collections_path, work):
    cases = {
        101: record("OPEN", metadata={"source": "edr", "host": "host-44"}),
        102: record("CLOSED", metadata={"source": "edr", "host": "host-9"}),
        103: record("OPEN", metadata={"source": "email"}),
    }
    with tines_sim.Simulator(cases=cases) as sim:
        first = Rulebook(work, collections_path, sim)
        first.wait_for("the first poll", lambda: polls(sim) >= 1, START_TIMEOUT)
        created_now(sim, 201, "OPEN", {"source": "edr", "host": "host-77"})
        edit(sim, 101, note="analyst looked")
        edit(sim, 102, note="closed long ago")
        edit(sim, 103, note="not from the EDR")
        created_now(sim, 202, "CLOSED", {"source": "edr", "host": "host-8"})
        events = run_until(first, sim, "first run", 3, 201)
        assert events == [(201, "new"), (101, "updated"), (201, "updated")], first
        assert sim.get_case(201) == {
            "source": "edr",
            "host": "host-77",
            "isolated_host": "host-77",
            "handled_by": "event-driven-ansible",
        }
        assert "handled_by" not in sim.get_case(101) and "handled_by" not in sim.get_case(202)
        assert "Isolate host-77 (case 201: Simulated case 201)" in first.output.read_text(), first

        created_now(sim, 204, "OPEN", {"source": "edr", "host": "host-5"})
        edit(sim, 101, second="while stopped")
        edit(sim, 102, second="while stopped")
        second = Rulebook(work, collections_path, sim)
        events = run_until(second, sim, "restart", 3, 204)
        assert events == [(204, "new"), (101, "updated"), (204, "updated")], second
        assert sim.get_case(204)["isolated_host"] == "host-5"
