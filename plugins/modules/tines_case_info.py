#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tines_case_info
short_description: List Tines cases, filtered, ordered and limited
version_added: 0.2.0
description:
  - Lists the Tines cases that match the task's filters, with C(GET /api/v2/cases), and returns each case as the
    tenant gives it. Never changes anything.
  - Meant to feed loops, for example the C(loop) of M(tines.cases.tines_case_metadata) that tags every case found.
  - Asks for 500 cases per page, the most Tines allows (older tenants allow 50 and answer with fewer), and
    follows the pagination of each answer to the last page, so 1,100 matching cases cost 3 requests. The next
    page is requested from O(tenant_url) with its page number, never from a link in the answer.
  - Before it returns anything, it checks the listed cases against the filters they can show, and fails rather
    than return a list that shows signs of ignored filters (see the notes).
author:
  - Tines Cases contributors (@tines-cases)
options:
  filters:
    description:
      - The cases to list, by the filters Tines documents for its case list, under the names Tines gives them,
        for example V(status), V(priority), V(case_ids), V(metadata), V(tags), V(and_tags), V(or_tags),
        V(exclude_tags), V(search), V(assignees), V(start_date) and V(end_date). Names are sent as given, and
        several filters must all match.
      - A filter's value is a single value or a list of them. Strings are sent as they are, V(true)/V(false) as
        C(true) and C(false), numbers in decimal and dates in ISO 8601 form (an unquoted V(2026-11-28) as
        C(2026-11-28)).
      - >-
        V(metadata) is the one filter that takes a dictionary, of metadata keys and the single value each must
        hold, for example V({source: edr}).
      - V(case_ids) takes positive case numbers. A single value given to V(case_ids), V(tags), V(and_tags),
        V(or_tags), V(exclude_tags), V(sub_status_names) or V(records), which Tines documents as lists, is sent as
        a list of one.
      - Refused before any request, on every path, are a dictionary for any other filter, a list or dictionary
        inside V(metadata), a null value, an empty or blank value, an empty list or an empty V(metadata) (a query
        string cannot carry them, or Tines would most likely take them as no filter and list every case), and
        names or metadata keys holding V([) or V(]).
      - "How the filters travel is an assumption: Tines documents C(filters) as an object among the query
        parameters, without saying how it is encoded. The module sends the usual bracket form:
        C(filters[status]=OPEN), C(filters[case_ids][]=318&filters[case_ids][]=319),
        C(filters[metadata][source]=edr). What makes that safe is the check described in the notes: a tenant that
        does not read this form lists every case, and such an answer is refused instead of returned."
    type: dict
  team_id:
    description:
      - List only the cases of this team (a positive team id). Sent as Tines' C(team_id) parameter.
      - Every listed case that shows its team (C(team.id)) must belong to it, or the task fails.
    type: int
  order:
    description:
      - The order Tines lists the cases in. Without it, Tines' default order applies.
      - With O(limit), the order decides which cases are kept, for example the most recently created ones with
        V(CREATED_DESC).
    type: str
    choices:
      - RECENTLY_EDITED
      - LEAST_RECENTLY_EDITED
      - PRIORITY_ASC
      - PRIORITY_DESC
      - OPENED_ASC
      - OPENED_DESC
      - CREATED_ASC
      - CREATED_DESC
  limit:
    description:
      - Stop once this many cases are collected (1 or more). Without it, every matching case is listed.
      - Pages ask for no more cases than the limit needs, so V(5) costs one request for five cases.
    type: int
extends_documentation_fragment:
  - tines.cases.connection
  - tines.cases.attributes
  - tines.cases.attributes.info_module
notes:
  - >-
    The check against ignored filters: every listed case is compared with the filters its fields can show,
    C(status) and C(priority) (letter case ignored), C(case_ids) (the case's number), C(metadata) (when the list
    shows the case's metadata; letter case ignored) and O(team_id) (the case's C(team.id)). One case that
    contradicts one of them shows that the tenant did not apply it: the task fails with a message that names the
    filter, and returns no cases, so that a loop over the result never acts on every case of the tenant.
  - >-
    Filters that no listed case can contradict (such as C(search), the tag filters, C(assignees) and the date
    ranges, and C(metadata) when the list leaves metadata out) are believed when a filter of the same task is
    confirmed by a listed case that shows its field: the tenant then evidently read the bracket form. A task
    whose filters are all of that kind costs one more request, the same list without filters and with one case
    per page, and its filters are believed only if they left cases out, that is when the tenant counts more cases
    without them than with them (C(meta.count)). Otherwise the task fails and returns no cases, also when the
    filters really match every case the key can see; add a filter the module can check to such a task. A list
    that comes back empty is returned as it is. O(team_id) travels as a plain parameter, so it confirms nothing
    about the filters.
  - >-
    Filter names are not checked against a list: a misspelled name is a filter the tenant ignores. In a task
    whose only filters cannot be checked, the check above catches it; next to a confirmed filter, it is
    believed like the others.
  - >-
    A case that moves from one page to the next while the pages are read (for example one edited during a
    listing in V(RECENTLY_EDITED) order) is returned once.
seealso:
  - module: tines.cases.tines_case_metadata
  - module: tines.cases.tines_case_metadata_info
  - name: Tines API, list cases
    description: The endpoint this module uses, and every filter it documents.
    link: https://www.tines.com/api/cases/list
"""

EXAMPLES = r"""
- name: List the open cases of team 7 that came from the EDR
  tines.cases.tines_case_info:
    tenant_url: https://acme.tines.com
    api_key: "{{ tines_api_key }}"
    team_id: 7
    filters:
      status: OPEN
      metadata:
        source: edr
  register: edr_cases

- name: Show their numbers
  ansible.builtin.debug:
    msg: "{{ edr_cases.cases | map(attribute='case_id') | list }}"

- name: The two most recently created high-priority cases (credentials from TINES_TENANT_URL and TINES_API_KEY)
  tines.cases.tines_case_info:
    filters:
      priority: HIGH
    order: CREATED_DESC
    limit: 2
  register: newest

- name: Open cases tagged phishing that mention host-44
  tines.cases.tines_case_info:
    filters:
      status: OPEN
      tags: [phishing]
      search: host-44
  register: phishing

- name: Tag every open EDR case, with credentials set once for every tines.cases module
  module_defaults:
    group/tines.cases.tines:
      tenant_url: https://acme.tines.com
      api_key: "{{ tines_api_key }}"
  block:
    - name: Find the open cases that came from the EDR
      tines.cases.tines_case_info:
        filters:
          status: OPEN
          metadata:
            source: edr
      register: found

    - name: Queue each one for triage (keys already set are kept)
      tines.cases.tines_case_metadata:
        case_id: "{{ item.case_id }}"
        metadata:
          triage_queue: tier-1
      loop: "{{ found.cases }}"
      loop_control:
        label: "case {{ item.case_id }}"
"""

RETURN = r"""
cases:
  description:
    - The cases that match, in the order Tines lists them (see O(order)), at most O(limit) of them; empty when none
      match.
    - Each case is the object the tenant's list gives, unchanged, with every field it holds; the ones below are
      the fields Tines documents for a case.
  returned: success
  type: list
  elements: dict
  contains:
    case_id:
      description: The case's number.
      returned: always
      type: int
      sample: 318
    name:
      description: The case's name.
      returned: always
      type: str
      sample: Beacon on host-44
    status:
      description: V(OPEN) or V(CLOSED).
      returned: always
      type: str
      sample: OPEN
    priority:
      description: V(CRITICAL), V(HIGH), V(MEDIUM), V(LOW) or V(INFO).
      returned: always
      type: str
      sample: HIGH
    team:
      description: The team the case belongs to.
      returned: always
      type: dict
      sample: {"id": 7, "name": "SecOps"}
    tags:
      description: The case's tags.
      returned: when the tenant's list gives them
      type: list
      sample: ["edr"]
    metadata:
      description: The case's metadata key/value pairs.
      returned: when the tenant's list gives them
      type: dict
      sample: {"source": "edr", "ticket": "OPS-7781"}
  sample:
    - case_id: 318
      name: Beacon on host-44
      description: ""
      status: OPEN
      priority: HIGH
      team: {"id": 7, "name": "SecOps"}
      tags: ["edr"]
      created_at: "2025-03-01T10:00:00Z"
      opened_at: "2025-03-01T10:00:00Z"
      updated_at: "2025-03-02T08:15:00Z"
      metadata: {"source": "edr", "ticket": "OPS-7781"}
status:
  description: The HTTP status of the request that failed, when the failure was an HTTP answer.
  returned: failure
  type: int
  sample: 401
"""

from ansible_collections.tines.cases.plugins.module_utils._arguments import CASE_INFO_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._case_list_task import run_case_info
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import run_as_module


def main():
    run_as_module(CASE_INFO_ARGUMENT_SPEC, run_case_info)


if __name__ == "__main__":
    main()
