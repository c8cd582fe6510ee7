#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tines_case_metadata_batch
short_description: Add, update and remove the metadata of many Tines cases in one task
version_added: 0.3.0
description:
  - Does for many cases at once what M(tines.cases.tines_case_metadata) does for one, with
    O(state), O(overwrite) and O(purge) meaning exactly what they mean there, applied to each case.
  - Reads the cases' metadata from the case list, 500 cases a request, instead of one request per case. A case
    that needs nothing costs no request of its own, and a case that only needs keys added costs one C(POST),
    decided from the list (Tines never overwrites a key on C(POST), and its answer says what the case holds). A
    case that needs a key changed or removed is read again just before, with its own C(GET), and the C(PUT) or
    C(DELETE) is decided from that fresh read, so that a value someone wrote a moment ago is not undone.
  - Sends up to O(concurrency) requests at once. They all draw from the host's rate budget (see O(rate_limit)),
    so thousands of cases take about as long as the tenant's rate limit allows.
  - Every case is attempted. A case that fails (not found, refused, the key limit, an error left after the
    retries) does not stop the others; the task then fails at the end, with a message that counts the failed
    cases and names the first few, and still returns RV(cases) and RV(summary).
author:
  - Tines Cases contributors (@tines-cases)
options:
  cases:
    description:
      - The cases to act on, each a dictionary with C(case_id) (a positive integer) and, optionally, C(metadata)
        (a dictionary of the pairs that case must have, merged over O(metadata); the case's own value wins for
        the same key).
      - Refused before any request when an item is not a dictionary, has no C(case_id), holds keys other than
        C(case_id) and C(metadata), or names a case another item names too.
      - One of O(cases), O(case_ids), or O(filters) and/or O(team_id) chooses the cases.
    type: list
    elements: raw
  case_ids:
    description:
      - The numbers of the cases to act on, each given O(metadata).
      - Their metadata is listed with C(filters[case_ids][]), 100 cases a request.
    type: list
    elements: raw
  filters:
    description:
      - Act on the cases that M(tines.cases.tines_case_info) lists for these filters, with the same names, the
        same encoding and the same check (a tenant whose answer shows that it ignored the filters fails the task
        before anything is written).
    type: dict
  team_id:
    description:
      - Act on the cases of this team (with O(filters), those of this team that match them), as
        M(tines.cases.tines_case_info) lists them.
    type: int
  metadata:
    description:
      - The key/value pairs every chosen case must have (O(state=present)) or the keys to remove from it
        (O(state=absent)), with the rules and value conversion of the O(tines.cases.tines_case_metadata#module:metadata)
        option of M(tines.cases.tines_case_metadata).
      - Required with O(case_ids), O(filters) and O(team_id). With O(cases), the pairs every case gets beside its
        own.
    type: dict
  state:
    description:
      - V(present) makes the pairs present on each case; V(absent) removes the keys, as
        M(tines.cases.tines_case_metadata) does.
    type: str
    choices: [present, absent]
    default: present
  overwrite:
    description:
      - Whether keys a case already has with another value are changed (with a fresh read of that case first).
    type: bool
    default: false
  purge:
    description:
      - Whether keys on a case that are not in its metadata are removed (with a fresh read of that case first).
    type: bool
    default: false
  concurrency:
    description:
      - How many requests may be in flight at once (1 or more). All of them share the rate budget, so
        O(rate_limit) holds whatever this is.
    type: int
    default: 16
extends_documentation_fragment:
  - tines.cases.connection
  - tines.cases.attributes
attributes:
  check_mode:
    description: Makes the same reads as a real run, writes nothing, and returns exactly the RV(cases) and
      RV(summary) a real run would.
    support: full
  diff_mode:
    description: Returns one before/after diff per changed case, headed with its case number.
    support: full
notes:
  - >-
    Requests: the list pages (one per 500 cases with O(filters) or O(team_id), one per 100 cases with O(cases) or
    O(case_ids)), then one C(POST) per case that needs keys added, and a C(GET) plus the C(PUT) and/or C(DELETE)
    per case that needs keys changed or removed. A run that changes nothing costs the list pages only.
  - >-
    When the list cannot stand in for reading each case (the tenant ignored C(filters[case_ids][]), or its list
    leaves the metadata out), each case is read with a C(GET) of its own instead, and the task warns why. A case
    that was not chosen is never written to.
  - >-
    In-process, at C(-v) and above, a long run prints a progress line about every ten seconds: cases done of the
    total, changed, failed, requests per minute and the time left.
seealso:
  - module: tines.cases.tines_case_metadata
  - module: tines.cases.tines_case_info
"""

EXAMPLES = r"""
- name: Escalate every open case from the EDR, in one task
  tines.cases.tines_case_metadata_batch:
    tenant_url: https://acme.tines.com
    api_key: "{{ tines_api_key }}"
    filters:
      status: OPEN
      metadata:
        source: edr
    metadata:
      escalation: tier-2
  register: escalated

- name: Say how many were escalated
  ansible.builtin.debug:
    msg: "{{ escalated.summary.changed }} of {{ escalated.summary.total }} case(s) escalated"

- name: Give each case its own ticket, and all of them the run (credentials from TINES_TENANT_URL and TINES_API_KEY)
  tines.cases.tines_case_metadata_batch:
    cases:
      - case_id: 318
        metadata:
          ticket: OPS-7800
      - case_id: 319
        metadata:
          ticket: OPS-7801
    metadata:
      ansible_run: "{{ ansible_run_id | default('manual') }}"
    overwrite: true

- name: Remove a key from several cases, whatever its value
  tines.cases.tines_case_metadata_batch:
    case_ids: [318, 319, 320]
    state: absent
    metadata:
      ansible_run: null
"""

RETURN = r"""
cases:
  description:
    - One dictionary per chosen case, in the order chosen (with O(filters) or O(team_id), the order of the list).
  returned: always
  type: list
  elements: dict
  contains:
    case_id:
      description: The case's number.
      returned: always
      type: int
      sample: 318
    changed:
      description: Whether the case changed (in check mode, would change).
      returned: always
      type: bool
      sample: true
    metadata:
      description:
        - The case's metadata after the task (in check mode, what it would be); for a failed case, what it is
          known to hold, or V(null) when it could not be read.
      returned: always
      type: dict
      sample: {"source": "edr", "triage_queue": "tier-1"}
    added:
      description: The pairs added with C(POST) (in check mode, that would be added).
      returned: always
      type: dict
      sample: {"triage_queue": "tier-1"}
    updated:
      description: The pairs changed with C(PUT), with their new values.
      returned: always
      type: dict
      sample: {}
    removed:
      description: The keys removed with C(DELETE), sorted.
      returned: always
      type: list
      elements: str
      sample: []
    failed:
      description: V(true) for a case that could not be done.
      returned: when the case failed
      type: bool
      sample: true
    msg:
      description: Why the case could not be done (the HTTP status and Tines' own message).
      returned: when the case failed
      type: str
      sample: "GET /api/v2/cases/999/metadata failed with HTTP 404: case not found or not visible to this API key"
summary:
  description: Counts over the chosen cases. A case that failed counts as failed only.
  returned: always
  type: dict
  contains:
    total:
      description: The number of chosen cases.
      returned: always
      type: int
      sample: 200
    changed:
      description: Cases changed (in check mode, that would change).
      returned: always
      type: int
      sample: 37
    unchanged:
      description: Cases that needed nothing.
      returned: always
      type: int
      sample: 163
    failed:
      description: Cases that could not be done.
      returned: always
      type: int
      sample: 0
status:
  description: The HTTP status of the request that failed, when the task as a whole failed on an HTTP answer (a list
    request, say).
  returned: failure
  type: int
  sample: 401
"""

from ansible_collections.tines.cases.plugins.module_utils._arguments import BATCH_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._batch_task import run_batch
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import run_as_module


def main():
    run_as_module(BATCH_ARGUMENT_SPEC, run_batch)


if __name__ == "__main__":
    main()
