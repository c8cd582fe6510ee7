"""The end-to-end harness itself: run_playbook runs real ansible-playbook against the simulator and records results."""

from __future__ import annotations

KEY = "test-api-key"
MD = "/api/v2/cases/42/metadata"

URI_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: read metadata
      ansible.builtin.uri:
        url: "{{ tines_url }}/api/v2/cases/42/metadata"
        headers:
          Authorization: "Bearer {{ tines_key }}"
        return_content: true
    - name: loop
      ansible.builtin.debug:
        msg: "{{ item }}"
      loop: [1, 2]
"""


def test_run_playbook_records_results(sim, run_playbook, ansible_path):
    result = run_playbook(URI_PLAYBOOK, path=ansible_path)
    assert result.rc == 0, result
    read = result.task("read metadata")
    assert read["status"] == 200
    assert read["json"] == {"case_id": 42, "metadata": {"source": "edr", "ticket": "OPS-1"}}
    assert result.record("read metadata")["status"] == "ok"
    assert [item["msg"] for item in result.task("loop")["results"]] == [1, 2]
    (entry,) = sim.log
    assert entry["method"] == "GET" and entry["path"] == MD and entry["status"] == 200
    assert entry["headers"]["authorization"] == f"Bearer {KEY}"


ENV_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: show
      ansible.builtin.debug:
        msg:
          inherited: "{{ lookup('env', 'TINES_INHERITED') }}"
          given: "{{ lookup('env', 'TINES_GIVEN') }}"
          check_mode: "{{ ansible_check_mode }}"
          extra: "{{ extra }}"
          url: "{{ tines_url }}"
"""


def test_run_playbook_environment_and_flags(sim, run_playbook, monkeypatch):
    monkeypatch.setenv("TINES_INHERITED", "leaked")
    result = run_playbook(ENV_PLAYBOOK, extra_vars={"extra": "x"}, env={"TINES_GIVEN": "yes"}, check=True)
    assert result.rc == 0, result
    assert result.task("show")["msg"] == {
        "inherited": "",
        "given": "yes",
        "check_mode": True,
        "extra": "x",
        "url": sim.url,
    }
