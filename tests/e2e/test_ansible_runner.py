"""The module under ansible-runner, the engine AWX and Automation Platform run playbooks with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from helpers.ansible_env import ANSIBLE_PLAYBOOK

PLAYBOOK = """
- name: Tag a case from a job template
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add the job's keys
      tines.cases.tines_case_metadata:
        case_id: 42
        metadata:
          awx_job: "{{ awx_job_id }}"
          source: siem
      register: tagged

    - name: Show what was added
      ansible.builtin.debug:
        var: tagged.added
"""


@dataclass
class Job:
    """What ansible-runner left in the job's artifacts directory."""

    status: str
    rc: int
    stdout: str
    events: list

    @property
    def stats(self):
        (stats,) = [event["event_data"] for event in self.events if event.get("event") == "playbook_on_stats"]
        return stats


def run_job(sim, ansible_tree, tmp_path, name):
    """One job as AWX launches it: ansible-runner in a process of its own over a private data directory,
    credentials injected as environment variables, extra vars from the survey.

    A process, not ansible_runner.run() in this one: pytest's process runs the simulator in a thread, and
    forking a threaded process for the playbook's pseudo-terminal may deadlock the child.
    """
    private = tmp_path / name
    for folder in ("project", "env", "inventory"):
        (private / folder).mkdir(parents=True)
    (private / "project" / "tag.yml").write_text(PLAYBOOK)
    (private / "inventory" / "hosts").write_text("localhost ansible_connection=local\n")
    (private / "env" / "extravars").write_text(json.dumps({"awx_job_id": "1234"}))
    envvars = {
        "ANSIBLE_COLLECTIONS_PATH": str(ansible_tree["root"]),
        "ANSIBLE_CONFIG": str(ansible_tree["config"]),
        "PATH": os.pathsep.join((os.path.dirname(ANSIBLE_PLAYBOOK), os.environ.get("PATH", ""))),
        "TINES_TENANT_URL": sim.url,
        "TINES_API_KEY": sim.api_key,
    }
    (private / "env" / "envvars").write_text(json.dumps(envvars))
    command = [sys.executable, "-m", "ansible_runner", "run", str(private), "-p", "tag.yml", "--ident", "job"]
    runner = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    artifacts = private / "artifacts" / "job"
    assert (artifacts / "status").is_file(), f"ansible-runner rc={runner.returncode}\n{runner.stdout}\n{runner.stderr}"
    events = sorted((artifacts / "job_events").glob("*.json"), key=lambda path: int(path.name.split("-", 1)[0]))
    return Job(
        status=(artifacts / "status").read_text().strip(),
        rc=int((artifacts / "rc").read_text()),
        stdout=(artifacts / "stdout").read_text(),
        events=[json.loads(path.read_text()) for path in events],
    )


def task_result(job, task):
    events = [
        event["event_data"]
        for event in job.events
        if event.get("event") == "runner_on_ok" and event.get("event_data", {}).get("task") == task
    ]
    assert len(events) == 1, [event.get("event") for event in job.events]
    return events[0]["res"]


def test_job_adds_missing_keys_then_changes_nothing(sim, ansible_tree, tmp_path):
    first = run_job(sim, ansible_tree, tmp_path, "first")
    assert (first.status, first.rc) == ("successful", 0), first.stdout
    result = task_result(first, "Add the job's keys")
    assert result["changed"] is True
    assert result["added"] == {"awx_job": "1234"}
    assert result["metadata"] == {"source": "edr", "ticket": "OPS-1", "awx_job": "1234"}
    assert [(entry["method"], entry["body"]) for entry in sim.log] == [
        ("GET", None),
        ("POST", {"metadata": {"awx_job": "1234"}}),
    ]
    assert first.stats["changed"] == {"localhost": 1}

    sim.clear_log()
    second = run_job(sim, ansible_tree, tmp_path, "second")
    assert (second.status, second.rc) == ("successful", 0), second.stdout
    assert task_result(second, "Add the job's keys")["changed"] is False
    assert [entry["method"] for entry in sim.log] == ["GET"]
    assert sim.api_key not in second.stdout
