"""What the user guide's "Watch what YAML does" says about unquoted values is what the module sends.

The playbook is written as text, so YAML reads each value as a user's playbook would.
"""

from __future__ import annotations

from helpers.plays import bodies

PLAYBOOK = """
- name: unquoted values
  hosts: localhost
  gather_facts: false
  tasks:
    - name: tag with unquoted values
      tines.cases.tines_case_metadata:
        tenant_url: "{{ tines_url }}"
        api_key: "{{ tines_key }}"
        case_id: 7
        metadata:
          exponent: 1e20
          float_exponent: 1.0e+20
          clock: 10:20:30
          version: 1.10
          padded: 007
          answer: yes
"""
# As the guide's table and "Watch what YAML does" say, value by value.
SENT = {
    "exponent": "1e20",  # no dot: YAML reads a string
    "float_exponent": "1e+20",  # a float, in Python's str() form
    "clock": "37230",  # YAML 1.1 sexagesimal: 10*3600 + 20*60 + 30
    "version": "1.1",
    "padded": "7",
    "answer": "true",
}


def test_unquoted_values_are_sent_as_the_guide_says(sim, run_playbook, ansible_path):
    result = run_playbook(PLAYBOOK, path=ansible_path)
    assert result.rc == 0, str(result)
    assert bodies(sim, 7, "POST") == [{"metadata": SENT}]
    assert result.task("tag with unquoted values")["added"] == SENT
