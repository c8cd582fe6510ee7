"""An API key pasted with whitespace works, a key no header can carry is refused, and no form of it is ever shown.

`echo key | ansible-vault encrypt_string` and a pasted environment variable keep a
trailing newline; the key must still work, and neither the key nor its escaped
forms (`\\n`, JSON, percent-encoded) may reach the screen, at default verbosity or
at -vvvv, or any registered result, on either path. The collection masks the key
itself, so this holds whatever the ansible-core release masks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
import tines_sim
from helpers.plays import assert_nowhere, async_tasks, calls, failure, fault_path, play, task

SECRET = "tk-ALPHA7f3-BRAVO9c1"
# Halves of every key used here: a leak of any form of any of them holds one of these.
FRAGMENTS = ("ALPHA7f3", "BRAVO9c1", "CHARLIE4e8", "DELTA2b6")
UNSENDABLE = {
    "a line break inside": "tk-CHARLIE4e8\nDELTA2b6",
    "a space inside": "tk-CHARLIE4e8 DELTA2b6",
    "a character outside Latin-1": "tk-CHARLIE4e8\u20acDELTA2b6",
    "a non-ASCII Latin-1 character": "tk-CHARLIE4e8\u00e9DELTA2b6",
}
REGISTERED = ("newline", "crlf", "vault", "task_env", "echo", "echo_escaped", *(f"refused_{i}" for i in range(4)))


@pytest.fixture
def sim():
    """The tenant accepts only the key without its whitespace."""
    with tines_sim.Simulator(api_key=SECRET, cases={case_id: {} for case_id in range(61, 70)}) as simulator:
        yield simulator


def vault_vars(tmp_path):
    """A vars file holding the key as `echo key | ansible-vault encrypt_string --stdin-name` stores it."""
    password = tmp_path / "vault-password"
    password.write_text("correct horse battery staple\n")
    vault = os.path.join(os.path.dirname(sys.executable), "ansible-vault")
    encrypted = subprocess.run(
        [vault, "encrypt_string", "--vault-password-file", str(password), "--stdin-name", "vault_key"],
        input=SECRET + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = tmp_path / "vault.yml"
    path.write_text(encrypted)
    return path, password


def key_playbook(tmp_path, registered_file):
    plain = tmp_path / "keys.yml"
    plain.write_text(
        json.dumps(
            {
                "key_newline": SECRET + "\n",
                "key_crlf": "  " + SECRET + "\r\n",
                "key_tab": "\t" + SECRET + "\n",
                **{f"bad_{i}": k for i, k in enumerate(UNSENDABLE.values())},
            }
        )
    )
    vault_file, password = vault_vars(tmp_path)
    tag = {"triage": "done"}
    tasks = [
        task(
            "key with a newline, from a vars file",
            case_id=61,
            metadata=tag,
            api_key="{{ key_newline }}",
            register="newline",
        ),
        task(
            "key with spaces and CRLF, from a vars file",
            case_id=62,
            metadata=tag,
            api_key="{{ key_crlf }}",
            register="crlf",
        ),
        task(
            "key from ansible-vault encrypt_string",
            case_id=63,
            metadata=tag,
            api_key="{{ vault_key }}",
            register="vault",
        ),
        task("key with a newline, from the environment", case_id=64, metadata=tag),
        task(
            "key with a tab and a newline, from the task environment",
            case_id=65,
            metadata=tag,
            environment={"TINES_API_KEY": "{{ key_tab }}"},
            register="task_env",
        ),
        task(
            "server echoes the key",
            case_id=66,
            metadata=tag,
            api_key="{{ key_newline }}",
            register="echo",
            ignore_errors=True,
        ),
        task(
            "server echoes the key escaped",
            case_id=67,
            metadata=tag,
            api_key="{{ key_crlf }}",
            register="echo_escaped",
            ignore_errors=True,
        ),
    ]
    for index, reason in enumerate(UNSENDABLE):
        tasks.append(
            task(
                f"key with {reason}",
                case_id=68,
                metadata=tag,
                api_key="{{ bad_%d }}" % index,
                register=f"refused_{index}",
                ignore_errors=True,
            )
        )
    tasks.append(
        task(
            "save what was registered",
            module="ansible.builtin.copy",
            dest=str(registered_file),
            content="{{ [%s] | to_nice_json }}" % ", ".join(REGISTERED),
        )
    )
    return play(tasks, defaults={"tenant_url": "{{ tines_url }}"}, vars_files=[plain, vault_file]), password


# At the default verbosity the screen shows the same results on both paths (only "Module failed" reads "Action
# failed" in-process), and -vvvv shows all of it and more: the module path runs at -vvvv only.
@pytest.mark.long_running
@pytest.mark.parametrize(("ansible_path", "verbosity"), [("inprocess", 0), ("inprocess", 4), ("module", 4)])
def test_a_key_with_whitespace_works_and_no_form_of_any_key_is_shown(
    sim, run_playbook, ansible_path, tmp_path, verbosity
):
    echo = f"upstream rejected Authorization: Bearer {SECRET}\n"
    sim.add_fault(path_contains=fault_path(66), status=400, body={"errors": [{"message": echo}]})
    escaped = json.dumps(SECRET + "\r\n")[1:-1] + " " + quote(SECRET + "\n", safe="") + " " + repr(SECRET + "\n")
    sim.add_fault(path_contains=fault_path(67), status=400, body=f"bad token {escaped}")
    registered_file = tmp_path / "registered.json"
    text, password = key_playbook(tmp_path, registered_file)
    result = run_playbook(
        text,
        path=ansible_path,
        verbosity=verbosity,
        diff=True,
        extra_vars={"tines_key": "unused", "tines_read_only_key": "unused"},
        env={"TINES_API_KEY": SECRET + "\n", "ANSIBLE_VAULT_PASSWORD_FILE": password},
    )
    assert result.rc == 0, result

    # The key, stripped, was really sent by each working task, so its absence below means something.
    for case_id in range(61, 66):
        assert calls(sim, case_id) == [("GET", 200), ("POST", 200)], case_id
        assert sim.get_case(case_id) == {"triage": "done"}
    for entry in sim.log:
        assert entry["headers"]["authorization"] == f"Bearer {SECRET}"
    assert result.task("key with a newline, from a vars file")["added"] == {"triage": "done"}

    assert (
        "(Tines said: upstream rejected Authorization: Bearer ********"
        in failure(result, "server echoes the key")["msg"]
    )
    masked = failure(result, "server echoes the key escaped")["msg"]
    assert masked.count("********") >= 3, masked

    assert calls(sim, 68) == [], "keys no header can carry are refused before any request"
    for reason in UNSENDABLE:
        message = failure(result, f"key with {reason}")["msg"]
        assert "api_key" in message and "cannot carry" in message, message

    registered = json.loads(registered_file.read_text())
    assert len(registered) == len(REGISTERED)
    assert_nowhere(FRAGMENTS, result, registered_results=registered_file.read_text())


def test_a_key_in_an_async_tasks_environment_stays_off_every_command_line(sim, run_playbook, ansible_path):
    """At -vvv Ansible prints each command it runs, async_status polls included; none carries the key.

    ansible-core builds the poll of an async task from the task's `environment`; the key
    moves from there into the module's no_log option before the job starts.
    """
    tag = {"triage": "done"}
    environment = {"TINES_API_KEY": SECRET, "TINES_TENANT_URL": "{{ tines_url }}"}
    result = run_playbook(
        play(async_tasks((61, 62), tag, environment=environment), defaults=None),
        path=ansible_path,
        verbosity=3,
        extra_vars={"tines_key": "unused", "tines_read_only_key": "unused"},
    )
    assert result.rc == 0, result
    assert result.task("async, polled")["added"] == tag
    assert result.task("wait for the job")["added"] == tag
    for case_id in (61, 62):
        assert calls(sim, case_id) == [("GET", 200), ("POST", 200)], case_id
    assert "AnsiballZ_async_status.py" in result.stdout, "the -vvv output shows the polls"
    assert_nowhere(FRAGMENTS, result)
