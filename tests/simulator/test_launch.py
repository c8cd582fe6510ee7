"""The simulator's launcher: tines_sim.launch() and `tines_sim.py --background`, which the scripts use.

Real processes and real HTTP: a launched simulator must answer as soon as the launcher returns, and a
simulator that cannot start must say why instead of leaving the caller waiting.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import tines_sim  # beside this file, so on sys.path under pytest

SIMULATOR = Path(tines_sim.__file__).resolve()
KEY = "launch-key"


def _stop(pid):
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"the simulator (pid {pid}) did not stop")


def test_launch_returns_a_simulator_that_answers(tmp_path):
    seed = tmp_path / "cases.json"
    seed.write_text(json.dumps({"42": {"source": "edr"}}))
    process, url = tines_sim.launch(["--port", "0", "--api-key", KEY, "--seed", str(seed)], str(tmp_path / "log"))
    try:
        assert url.startswith("http://127.0.0.1:")
        answer = requests.get(f"{url}/api/v2/cases/42/metadata", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["metadata"] == {"source": "edr"}
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(10)
    assert "listening on " + url in (tmp_path / "log").read_text()


def test_launch_reports_why_a_simulator_did_not_start():
    with pytest.raises(RuntimeError, match=r"did not start: .*--option bogus=1: unknown option 'bogus'"):
        tines_sim.launch(["--port", "0", "--option", "bogus=1"])


def test_background_prints_the_url_and_pid_and_returns(tmp_path):
    log = tmp_path / "simulator.log"
    command = [sys.executable, str(SIMULATOR), "--background", "--port", "0", "--api-key", KEY, "--log", str(log)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    url, pid = done.stdout.split()
    try:
        answer = requests.get(f"{url}/api/v2/cases/1/metadata", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert answer.status_code == 404  # the simulator itself answers: no such case
        assert "listening on " + url in log.read_text()
    finally:
        _stop(int(pid))


def test_background_fails_with_the_simulators_error():
    command = [sys.executable, str(SIMULATOR), "--background", "--port", "0", "--seed", "/nonexistent/cases.json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "--seed /nonexistent/cases.json" in done.stderr
