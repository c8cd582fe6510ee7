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
    Paging,
    count_of,
    count_pairs,
    first_contradiction,
    list_path,
    page_of,
    per_page_for,
    query_pairs,
    unchecked_names,
    unconfirmed,
    unconfirmed_message,
    undecided,
)
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import client_from_params, with_warnings


class FiltersNotApplied(TinesError):
    """The tenant's answer shows that it did not apply a filter, or gives no evidence that it did."""


def read_page(client, pairs):
    """(cases, meta) of one list request."""
    path = list_path(pairs)
    try:
        return page_of(client.request("GET", path))
    except ListAnswerError as exc:
        raise TinesError("GET %s: %s" % (path, exc)) from None


def _count(client, pairs):
    return count_of(read_page(client, pairs)[1])


def counts_without(client, query, names):
    """{name: the count of the list without that filter, the others and team_id the same}, one request each."""
    return {name: _count(client, count_pairs(query.filters, query.team_id, without=name)) for name in names}


def _require_evidence(without, count_with):
    names = unconfirmed(without, count_with)
    if names:
        raise FiltersNotApplied(unconfirmed_message(names, without, count_with))


def confirm_filters(client, query, names=None):
    """Evidence that the tenant applied each of `names` (default: the filters no case can show), else TinesError.

    Asks for the count without each filter first and the count with all of them last, so
    that a case created in between can only make the evidence fail. Costs len(names) + 1
    requests; none when there is nothing to confirm.
    """
    names = unchecked_names(query.filters) if names is None else list(names)
    if names:
        without = counts_without(client, query, names)
        _require_evidence(without, _count(client, count_pairs(query.filters, query.team_id)))


def list_cases(client, query):
    """Every case the query matches (up to its limit), returned only with evidence that each filter was applied.

    Filters a case can show are checked on every listed case. The others are counted
    without, one by one, before the listing, whose first page gives the count with them;
    a checkable filter that some listed case does not show is confirmed after the listing.
    """
    without = counts_without(client, query, unchecked_names(query.filters))
    found = Collected(query.limit)
    paging = Paging()
    per_page = per_page_for(query.limit)
    to_confirm = []
    while True:
        pairs = query_pairs(query.filters, query.team_id, query.order, paging.page, per_page)
        cases, meta = read_page(client, pairs)
        problem = first_contradiction(query.filters, query.team_id, cases)
        if problem:
            raise FiltersNotApplied(problem)
        if paging.requests == 0 and cases:
            _require_evidence(without, count_of(meta))
        to_confirm.extend(name for name in undecided(query.filters, cases) if name not in to_confirm)
        new = found.unseen(cases)
        if found.add(cases) or _next_page(paging, meta, len(cases), new, pairs) is None:
            break
    if found.cases:
        confirm_filters(client, query, to_confirm)
    return found.cases


def _next_page(paging, meta, received, new, pairs):
    try:
        return paging.advance(meta, received, new)
    except ListAnswerError as exc:
        raise TinesError("GET %s: %s" % (list_path(pairs), exc)) from None


def run_case_info(params, check_mode=False, diff_mode=False, environment=None):  # pylint: disable=unused-argument
    """List the cases the task's filters match; never writes, so check mode changes nothing."""
    query = check_case_info_input(params)
    client = client_from_params(params, environment)
    return with_warnings(dict(changed=False, cases=list_cases(client, query)), client)
