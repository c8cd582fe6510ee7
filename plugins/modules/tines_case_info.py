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
  - Before it returns anything, it checks the listed cases against the filters they can show, asks the tenant for
    evidence of the others, and fails rather than return a list it has no evidence was filtered (see the notes).
author:
  - Tines Cases contributors (@tines-cases)
options:
  filters:
    description:
      - The cases to list, by the filters Tines documents for its case list, under the names Tines gives them,
        which are V(status), V(priority), V(case_ids), V(metadata), V(tags), V(and_tags), V(or_tags),
        V(exclude_tags), V(search), V(assignees), V(and_assignees), V(exclude_assignees), V(authors),
        V(exclude_authors), V(records), V(sub_status_names), the date ranges V(start_date), V(end_date),
        V(updated_at_start_date), V(updated_at_end_date), V(resolved_at_start_date) and V(resolved_at_end_date), and
        the deprecated V(assignee_emails), V(author_emails) and V(unassigned). Several filters must all match.
      - Any other name (a typo such as V(stauts), or a filter Tines does not document) is refused before any
        request, with the documented names in the message, because a tenant would ignore it and list cases it was
        meant to leave out.
      - Leave O(filters) out to list every case; an empty V({}) is refused like the other empty filters below.
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
        metadata keys holding V([) or V(]).
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
    The check against ignored filters, on every listed case: C(status) and C(priority) (letter case ignored),
    C(case_ids) (the case's number), C(metadata) (values compared exactly, letter case included, as Tines stores
    them), O(team_id) (the case's C(team.id)), and the tag filters when the list shows the case's C(tags):
    C(tags) and C(or_tags) need at least one of their tags on the case, C(and_tags) all of them, C(exclude_tags)
    none of them. One case that contradicts a filter shows that the tenant did not apply it: the task fails with
    a message that names the filter, and returns no cases, so that a loop over the result never acts on every
    case of the tenant.
  - >-
    Evidence for the other filters. A filter no listed case can show (C(search), the assignee and author filters,
    C(records), C(sub_status_names), C(unassigned), the date ranges), and a checkable filter that some listed case
    cannot settle (C(metadata) when the list leaves metadata out, a tag that differs only in letter case, or
    C(tags) with several tags on a case that carries some of them, which Tines may read as "any" or "all"), is
    believed only with evidence of its own: the same list without that filter, the others and O(team_id) the
    same, must hold more cases than the list with every filter (each count is C(meta.count) of a request for one
    case per page). The count without the filter is always requested first, so a case created in between makes
    the check fail, never pass.
  - >-
    What the evidence costs a tenant that applies the filters: nothing when every filter is checked on the
    listed cases (for example C(status) with C(metadata)); one request per filter the cases cannot show (one for
    the usual task with one C(search)), made before the listing, whose first page gives the count with every
    filter; and for checkable filters that some listed case cannot settle, one request each after the listing
    plus one more for the count with every filter. A filter that leaves no case out (it matches every case the
    other filters select) cannot be told from an ignored one: the task fails and returns no cases; drop such a
    filter. A list that comes back empty needs no evidence and is returned as it is.
  - >-
    Pagination that does not end is refused: the task fails with a message that names the pagination, and
    returns no cases, when a page lists no case that an earlier page did not yet names a next page (a tenant
    that ignores the page number), when the next page named is past C(meta.pages), or when the pages go on after
    the number of requests the first page's C(meta.count) allows (the count divided by that page's size, plus
    two).
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
