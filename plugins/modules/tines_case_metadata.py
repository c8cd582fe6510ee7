#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tines_case_metadata
short_description: Add, update and remove the metadata of a Tines case
version_added: 0.1.0
description:
  - Makes the metadata key/value pairs of a Tines case match what the task asks for, with as few requests as
    possible.
  - Reads the case's metadata once, works out the difference, then sends only what differs. A C(POST) adds the
    missing keys, a C(PUT) changes the keys whose value differs (only with O(overwrite=true)) and a C(DELETE)
    removes keys (with O(purge=true) or O(state=absent)); each is sent only when it has something to carry.
  - A run that changes nothing makes exactly one request. The resulting metadata is computed from that read and
    the writes, without reading again.
  - A case holds at most 100 metadata keys; a change that would leave more is refused before anything is
    written.
author:
  - Tines Cases contributors (@tines-cases)
options:
  case_id:
    description:
      - The case's number, as in V(https://acme.tines.com/cases/318). A positive integer.
    type: int
    required: true
  metadata:
    description:
      - Key/value pairs, as a dictionary.
      - With O(state=present), the pairs the case must have. Keys the case does not have are added. Keys it has
        keep their value unless O(overwrite=true).
      - With O(state=absent), the keys to remove. A key whose value is V(null) is removed whatever its value; a key
        given a value is removed only when the case holds exactly that value.
      - Tines stores strings. Strings are sent as they are, V(true)/V(false) as the strings C(true) and C(false),
        numbers in their plain decimal form (V(3) as C(3), V(2.5) as C(2.5)) and dates in ISO 8601 form
        (an unquoted V(2026-11-28) as C(2026-11-28)), so unquoted YAML values stay idempotent. Quote values whose
        exact text matters, such as C("1.10") or C("007").
      - Dictionaries, lists and (with O(state=present)) V(null) values are refused before any request.
      - Keys are case-sensitive and must not be empty.
    type: dict
    required: true
  state:
    description:
      - V(present) makes the pairs in O(metadata) present on the case.
      - V(absent) removes the keys in O(metadata) from the case. O(overwrite) has no effect then, and O(purge) is
        refused.
    type: str
    choices: [present, absent]
    default: present
  overwrite:
    description:
      - Whether keys the case already has with another value are changed to the value in O(metadata).
      - When V(false), such keys keep their value on the case and the task reports no change for them.
    type: bool
    default: false
  purge:
    description:
      - Whether keys on the case that are not in O(metadata) are removed, so that the case's metadata becomes
        exactly O(metadata) (together with O(overwrite=true)).
      - With O(metadata={}), removes every key of the case.
    type: bool
    default: false
extends_documentation_fragment:
  - tines.cases.connection
  - tines.cases.attributes
attributes:
  check_mode:
    description: Makes the one read, writes nothing, and returns exactly what a real run would.
    support: full
  diff_mode:
    description: Returns the case's metadata before and after.
    support: full
seealso:
  - module: tines.cases.tines_case_metadata_info
  - name: Tines API, case metadata
    description: The endpoints this module uses.
    link: https://www.tines.com/api/cases/metadata/list
"""

EXAMPLES = r"""
- name: Add metadata keys the case does not have yet (existing keys keep their value)
  tines.cases.tines_case_metadata:
    tenant_url: https://acme.tines.com
    api_key: "{{ tines_api_key }}"
    case_id: 318
    metadata:
      source: edr
      ticket: OPS-7781
      priority: 3

- name: Set values, changing keys that differ (credentials from TINES_TENANT_URL and TINES_API_KEY)
  tines.cases.tines_case_metadata:
    case_id: 318
    metadata:
      ticket: OPS-7790
      triaged: true
    overwrite: true

- name: Make the case's metadata exactly this, removing every other key
  tines.cases.tines_case_metadata:
    case_id: 318
    metadata:
      source: edr
      ticket: OPS-7790
    overwrite: true
    purge: true

- name: Remove a key whatever its value, and another only while it still holds a given value
  tines.cases.tines_case_metadata:
    case_id: 318
    state: absent
    metadata:
      triaged: null
      source: edr

- name: Tag many cases, with credentials set once for every tines.cases module
  module_defaults:
    group/tines.cases.tines:
      tenant_url: https://acme.tines.com
      api_key: "{{ tines_api_key }}"
  block:
    - name: Record the playbook run on each case
      tines.cases.tines_case_metadata:
        case_id: "{{ item }}"
        metadata:
          ansible_run: "{{ ansible_run_id | default('manual') }}"
      loop: [318, 319, 320]
"""

RETURN = r"""
case_id:
  description: The case's number.
  returned: success
  type: int
  sample: 318
metadata:
  description:
    - The case's metadata after the task (in check mode, what it would be), computed from the one read and the
      writes made.
  returned: success
  type: dict
  sample: {"source": "edr", "ticket": "OPS-7781", "priority": "3"}
added:
  description: The pairs added with C(POST) (in check mode, that would be added).
  returned: success
  type: dict
  sample: {"priority": "3"}
updated:
  description: The pairs changed with C(PUT), with their new values (in check mode, that would be changed).
  returned: success
  type: dict
  sample: {"ticket": "OPS-7790"}
removed:
  description: The keys removed with C(DELETE) (in check mode, that would be removed), sorted.
  returned: success
  type: list
  elements: str
  sample: ["triaged"]
status:
  description: The HTTP status of the request that failed, when the failure was an HTTP answer.
  returned: failure
  type: int
  sample: 404
"""

from ansible_collections.tines.cases.plugins.module_utils._arguments import METADATA_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import run_metadata
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import run_as_module


def main():
    run_as_module(METADATA_ARGUMENT_SPEC, run_metadata)


if __name__ == "__main__":
    main()
