"""Where Ansible meets the collection: unexpected exceptions, become, empty options, credentials in the URL.

Each test runs on both execution paths (the `ansible_path` fixture); the lookup
runs on the controller whatever the path.
"""

from __future__ import annotations

import json

from helpers.plays import INFO, MD, calls, failure, play, task

# A timeout Python's sockets cannot hold: requests lets the OverflowError through, which no rule of the
# collection expects. (Should the option ever be bounded, this test needs another way to raise one.)
HUGE_TIMEOUT = 1e10
OVERFLOW = "unexpected error in tines.cases: OverflowError: timestamp out of range for platform time_t"
TRACEBACK = "Traceback (most recent call last)"
EMPTY_URL = (
    "tenant_url is empty and the TINES_TENANT_URL (or TINES_TENANT) environment variable is not set either "
    "(an empty option falls back to it): give the option a value or set the variable"
)
EMPTY_KEY = (
    "api_key is empty and the TINES_API_KEY environment variable is not set either "
    "(an empty option falls back to it): give the option a value or set the variable"
)
PASSWORD = "Hunter2pw"


def unexpected_playbook(lookup):
    credentials = {"tenant_url": "{{ tines_url }}", "api_key": "{{ tines_key }}", "timeout": HUGE_TIMEOUT}
    tasks = [task("module task", INFO, case_id=42, ignore_errors=True, **credentials)]
    if lookup:
        template = "{{ lookup('tines.cases.case_metadata', 7, tenant_url=tines_url, timeout=%s) }}" % HUGE_TIMEOUT
        tasks.append({"name": "lookup", "ansible.builtin.debug": {"msg": template}, "ignore_errors": True})
    return play(tasks, defaults=None)


def test_an_unexpected_exception_fails_with_its_type_and_text_and_no_traceback(sim, run_playbook, ansible_path):
    lookup = ansible_path == "inprocess"  # a lookup runs on the controller on either path: once is enough
    result = run_playbook(unexpected_playbook(lookup), path=ansible_path, env={"TINES_API_KEY": sim.api_key})
    assert result.rc == 0, str(result)
    failed = failure(result, "module task")
    assert failed["msg"] == OVERFLOW, failed
    assert "Task failed" not in failed["msg"]
    if lookup:
        assert OVERFLOW in failure(result, "lookup")["msg"]
    assert TRACEBACK not in result.stdout + result.stderr, "no traceback at the default verbosity"
    assert sim.log == [], "no request ever left"


def test_the_traceback_of_an_unexpected_exception_is_there_when_tracebacks_are_asked_for(
    sim, run_playbook, ansible_path
):
    """-vvv up to ansible-core 2.18, ANSIBLE_DISPLAY_TRACEBACK=error from 2.19 on: both are given."""
    result = run_playbook(
        unexpected_playbook(lookup=False),
        path=ansible_path,
        verbosity=3,
        env={"TINES_API_KEY": sim.api_key, "ANSIBLE_DISPLAY_TRACEBACK": "error"},
    )
    assert result.rc == 0, str(result)
    assert failure(result, "module task")["msg"] == OVERFLOW
    output = result.stdout + result.stderr
    assert TRACEBACK in output and "OverflowError" in output, output[-3000:]
    assert sim.api_key not in output


def test_a_local_task_that_becomes_runs_the_module_through_the_become_method(sim, run_playbook, ansible_path, tmp_path):
    trace = tmp_path / "become-trace"
    tag = {"triage": "done"}
    result = run_playbook(
        play(
            [task("tag as root", case_id=42, metadata=tag)],
            become=True,
            become_method="tines_test_trace",
        ),
        path=ansible_path,
        env={"TINES_TEST_BECOME_TRACE": trace, "ANSIBLE_BECOME_ALLOW_SAME_USER": "True"},
    )
    assert result.rc == 0, str(result)
    assert result.task("tag as root")["added"] == tag
    assert calls(sim, 42) == [("GET", 200), ("POST", 200)]
    assert trace.exists(), "the task never went through the become method"
    assert "AnsiballZ_tines_case_metadata.py" in trace.read_text(), trace.read_text()


def test_an_empty_option_falls_back_to_the_variable_or_says_it_is_empty(sim, run_playbook, ansible_path):
    tag = {"triage": "done"}
    unset = "{{ tines_unset | default('') }}"
    result = run_playbook(
        play(
            [
                task(
                    "empty url, variable set",
                    MD,
                    case_id=42,
                    metadata=tag,
                    tenant_url=unset,
                    api_key="{{ tines_key }}",
                    environment={"TINES_TENANT_URL": "{{ tines_url }}"},
                ),
                task(
                    "empty key, variable set",
                    MD,
                    case_id=7,
                    metadata=tag,
                    tenant_url="{{ tines_url }}",
                    api_key=unset,
                    environment={"TINES_API_KEY": "{{ tines_key }}"},
                ),
                task("empty url", INFO, case_id=42, tenant_url=unset, api_key="{{ tines_key }}", ignore_errors=True),
                task("empty key", INFO, case_id=42, tenant_url="{{ tines_url }}", api_key=unset, ignore_errors=True),
            ],
            defaults=None,
        ),
        path=ansible_path,
    )
    assert result.rc == 0, str(result)
    assert result.task("empty url, variable set")["added"] == tag
    assert result.task("empty key, variable set")["added"] == tag
    assert failure(result, "empty url")["msg"] == EMPTY_URL
    assert failure(result, "empty key")["msg"] == EMPTY_KEY
    assert calls(sim, 42) == [("GET", 200), ("POST", 200)] and calls(sim, 7) == [("GET", 200), ("POST", 200)]


def test_a_password_in_the_tenant_url_is_never_shown(sim, run_playbook, ansible_path):
    url = f"https://deploy:{PASSWORD}@acme.tines.com"
    result = run_playbook(
        play([task("password in the url", INFO, case_id=42, tenant_url=url, ignore_errors=True)]),
        path=ansible_path,
        verbosity=3,
        env={"ANSIBLE_INJECT_INVOCATION": "true"},
    )
    assert result.rc == 0, str(result)
    failed = failure(result, "password in the url")
    assert failed["msg"] == (
        "tenant_url 'https://********@acme.tines.com' must not hold a user name or password: "
        "Tines takes the API key (api_key) only"
    )
    assert failed["invocation"]["module_args"]["tenant_url"] == "https://********@acme.tines.com"
    assert PASSWORD not in result.stdout + result.stderr + json.dumps(result.results)
