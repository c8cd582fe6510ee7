"""The API key never reaches any output: screen at -vvvv, diff, results, error messages, exceptions.

One playbook per path runs every way a task can succeed or fail, with the key
given as an option (from a vars file) and through the controller's
environment, and with a server that echoes the key back in its error bodies;
another passes it through the task's `environment:` keyword. Then every byte of stdout, stderr and the
recorded results is searched for the key.
"""

from __future__ import annotations

import pytest
import tines_sim
from helpers.plays import assert_nowhere, calls, failure, fault_path, md_path, play, task

SECRET = "tk-SECRET-7f3a9c"
WRONG = "tk-WRONG-1b2c3d"
FRAGMENTS = (SECRET, "SECRET-7f3a9c", WRONG, "WRONG-1b2c3d")
MASK = "********"


@pytest.fixture
def sim():
    """Overrides the harness's simulator: the tenant accepts only the distinctive key."""
    cases = {case_id: {"source": "edr"} for case_id in range(11, 21)}
    with tines_sim.Simulator(api_key=SECRET, cases=cases) as simulator:
        yield simulator


def test_api_key_appears_in_no_output(sim, run_playbook, ansible_path, tmp_path):
    secrets_file = tmp_path / "secrets.yml"
    secrets_file.write_text(f"secret_key: {SECRET}\nwrong_key: {WRONG}\n")
    echo = f"upstream rejected Authorization: Bearer {SECRET}"
    sim.add_fault(path_contains=fault_path(14), status=500, count=2, body={"errors": [{"message": echo}]})
    sim.add_fault(path_contains=fault_path(15), status=400, body=f"bad X-User-Token header: {SECRET}")
    sim.add_fault(path_contains=fault_path(16), kind="slow", delay=3)
    # Valid JSON nested too deep to decode: an exception raised below the module's own error handling.
    sim.add_fault(path_contains=fault_path(20), status=200, body="[" * 100000 + "]" * 100000)
    tag = {"triage": "done"}
    option = {"api_key": "{{ secret_key }}"}
    result = run_playbook(
        play(
            [
                task("key as an option, with diff", case_id=11, metadata=tag, **option),
                task("key from the controller environment", case_id=12, metadata=tag),
                task("wrong key", case_id=19, metadata=tag, api_key="{{ wrong_key }}", ignore_errors=True),
                task("missing case", case_id=999, metadata=tag, ignore_errors=True, **option),
                task(
                    "500 storm echoing the key",
                    case_id=14,
                    metadata=tag,
                    max_retries=1,
                    register="storm",
                    ignore_errors=True,
                ),
                task("show the registered failure", module="ansible.builtin.debug", var="storm"),
                task(
                    "400 echoing the key",
                    case_id=15,
                    metadata=tag,
                    auth_header="x-user-token",
                    ignore_errors=True,
                    **option,
                ),
                task("timeout", case_id=16, metadata=tag, timeout=1, max_retries=0, ignore_errors=True, **option),
                task("nested value", case_id=18, metadata={"nested": {"a": "b"}}, ignore_errors=True, **option),
                task(
                    "option of the wrong type", case_id=18, metadata=tag, timeout="soon", ignore_errors=True, **option
                ),
                task("answer too deep to decode", case_id=20, metadata=tag, ignore_errors=True, **option),
                task(
                    "missing ca_path",
                    case_id=18,
                    metadata=tag,
                    tenant_url=sim.url.replace("http://", "https://"),
                    ca_path=str(tmp_path / "no-such-ca.pem"),
                    ignore_errors=True,
                    **option,
                ),
            ],
            defaults={"tenant_url": "{{ tines_url }}"},
            vars_files=[secrets_file],
        ),
        path=ansible_path,
        verbosity=4,
        diff=True,
        extra_vars={"tines_key": "the key is in the vars file", "tines_read_only_key": "none"},
        env={"TINES_API_KEY": SECRET},
    )
    assert result.rc == 0, result

    # The key was really used, so its absence below means something.
    for case_id in (11, 12):
        assert {entry["headers"].get("authorization") for entry in sim.log if entry["path"] == md_path(case_id)} == {
            f"Bearer {SECRET}"
        }, case_id
    assert {entry["headers"].get("x-user-token") for entry in sim.log if entry["path"] == md_path(15)} == {SECRET}
    for case_id in (11, 12):
        assert sim.get_case(case_id) == {"source": "edr", **tag}
    assert "--- before" in result.stdout and '+    "triage": "done"' in result.stdout, "the diff was shown"
    assert calls(sim, 14) == [("GET", 500), ("GET", 500)]
    assert calls(sim, 15) == [("GET", 400)]

    # Every failure says what went wrong, with the key masked where the server echoed it.
    assert failure(result, "wrong key")["status"] == 401
    assert failure(result, "missing case")["status"] == 404
    storm = failure(result, "500 storm echoing the key")["msg"]
    assert f"(Tines said: upstream rejected Authorization: Bearer {MASK})" in storm, storm
    assert f"(Tines said: bad X-User-Token header: {MASK})" in failure(result, "400 echoing the key")["msg"]
    assert "no answer from" in failure(result, "timeout")["msg"]
    assert "nested" in failure(result, "nested value")["msg"]
    assert "timeout" in failure(result, "option of the wrong type")["msg"]
    assert "no-such-ca.pem" in failure(result, "missing ca_path")["msg"]
    assert calls(sim, 18) == [], "bad input and a missing CA file fail before any request"
    assert calls(sim, 20) == [("GET", 200)]
    # A crash today (a traceback at -vvvv), a handled failure once fixed: either way it is searched below.
    assert failure(result, "answer too deep to decode")["msg"]

    assert_nowhere(FRAGMENTS, result)


def test_key_in_task_environment_is_not_shown(sim, run_playbook, ansible_path):
    """On a remote connection the task's environment becomes the module's, which -vvv shows being started."""
    result = run_playbook(
        play(
            [
                task(
                    "key from the task environment",
                    case_id=13,
                    metadata={"a": "b"},
                    environment={"TINES_API_KEY": SECRET},
                )
            ],
            defaults={"tenant_url": "{{ tines_url }}"},
        ),
        path=ansible_path,
        verbosity=4,
        extra_vars={"tines_key": "the key is in the task environment", "tines_read_only_key": "none"},
    )
    assert result.rc == 0, result
    assert [entry["headers"]["authorization"] for entry in sim.log] == [f"Bearer {SECRET}"] * 2
    assert_nowhere(FRAGMENTS, result)
