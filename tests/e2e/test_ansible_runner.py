"""The module under ansible-runner, the engine AWX and Automation Platform run playbooks with."""

from __future__ import annotations

import os

import ansible_runner
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


def run_job(sim, ansible_tree, tmp_path, name):
    """One job as AWX would launch it: credentials injected as environment variables, extra vars from the survey."""
    private = tmp_path / name
    (private / "project").mkdir(parents=True)
    (private / "project" / "tag.yml").write_text(PLAYBOOK)
    return ansible_runner.run(
        private_data_dir=str(private),
        playbook="tag.yml",
        inventory="localhost ansible_connection=local",
        extravars={"awx_job_id": "1234"},
        envvars={
            "ANSIBLE_COLLECTIONS_PATH": str(ansible_tree["root"]),
            "ANSIBLE_CONFIG": str(ansible_tree["config"]),
            "PATH": os.pathsep.join((os.path.dirname(ANSIBLE_PLAYBOOK), os.environ.get("PATH", ""))),
            "TINES_TENANT_URL": sim.url,
            "TINES_API_KEY": sim.api_key,
        },
        quiet=True,
    )


def task_result(runner, task):
    events = [
        event["event_data"]
        for event in runner.events
        if event.get("event") == "runner_on_ok" and event.get("event_data", {}).get("task") == task
    ]
    assert len(events) == 1, [event.get("event") for event in runner.events]
    return events[0]["res"]


def test_job_adds_missing_keys_then_changes_nothing(sim, ansible_tree, tmp_path):
    first = run_job(sim, ansible_tree, tmp_path, "first")
    assert (first.status, first.rc) == ("successful", 0), first.stdout.read()
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
    assert (second.status, second.rc) == ("successful", 0), second.stdout.read()
    assert task_result(second, "Add the job's keys")["changed"] is False
    assert [entry["method"] for entry in sim.log] == ["GET"]
    assert sim.api_key not in second.stdout.read()
