# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The tines_case_info task: options -> list requests, page by page -> checked cases.

Shared by the module and the action plugin, like _metadata_task.py; the decisions
(query, paging, which answer to believe) are in _case_list.py.
"""

from __future__ import annotations

from ansible_collections.tines.cases.plugins.module_utils._arguments import check_case_info_input
from ansible_collections.tines.cases.plugins.module_utils._case_list import (
    Collected,
    ListAnswerError,
    count_of,
    count_query,
    filtering_shown,
    first_contradiction,
    list_path,
    next_page,
    page_of,
    per_page_for,
    query_pairs,
    unconfirmed_filters,
    unconfirmed_message,
)
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import client_from_params, with_warnings


def read_page(client, pairs):
    """(cases, meta) of one list request."""
    path = list_path(pairs)
    try:
        return page_of(client.request("GET", path))
    except ListAnswerError as exc:
        raise TinesError("GET %s: %s" % (path, exc)) from None


def confirm_filters(client, query, names, meta):
    """Believe filters no listed case can contradict only if they left cases out; else TinesError."""
    filtered = count_of(meta)
    unfiltered = None
    if filtered is not None:
        _cases, unfiltered_meta = read_page(client, count_query(query.team_id))
        unfiltered = count_of(unfiltered_meta)
    if not filtering_shown(filtered, unfiltered):
        raise TinesError(unconfirmed_message(names, filtered, unfiltered))


def list_cases(client, query):
    """Every case the query matches (up to its limit), each checked against the filters it can show."""
    per_page = per_page_for(query.limit)
    found = Collected(query.limit)
    page = 1
    believed = False
    while True:
        pairs = query_pairs(query.filters, query.team_id, query.order, page, per_page)
        cases, meta = read_page(client, pairs)
        problem = first_contradiction(query.filters, query.team_id, cases)
        if problem:
            raise TinesError(problem)
        if cases and not believed:
            names = unconfirmed_filters(query.filters, cases)
            if names:
                confirm_filters(client, query, names, meta)
            believed = True
        if found.add(cases):
            return found.cases
        try:
            page = next_page(meta, page, len(cases))
        except ListAnswerError as exc:
            raise TinesError("GET %s: %s" % (list_path(pairs), exc)) from None
        if page is None:
            return found.cases


def run_case_info(params, check_mode=False, diff_mode=False, environment=None):  # pylint: disable=unused-argument
    """List the cases the task's filters match; never writes, so check mode changes nothing."""
    query = check_case_info_input(params)
    client = client_from_params(params, environment)
    return with_warnings(dict(changed=False, cases=list_cases(client, query)), client)
