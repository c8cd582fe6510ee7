# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Listing cases: every rule about which request to send and which answer to believe.

Pure functions only (no I/O), like _metadata_plan.py. Tines documents `filters` as an
object among the query parameters of GET /api/v2/cases but not how it travels;
we send it in bracket form (`filters[status]=OPEN`). A tenant that read it
another way would most likely ignore it and list every case, so each answer is
checked against the filters its cases can show, and a filter no case can show
is believed only with evidence that the tenant filtered at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import (
    MetadataInputError,
    canonical_key,
    canonical_value,
)

LIST_PATH = "/api/v2/cases"
MAX_PER_PAGE = 500
ORDERS = (
    "RECENTLY_EDITED",
    "LEAST_RECENTLY_EDITED",
    "PRIORITY_ASC",
    "PRIORITY_DESC",
    "OPENED_ASC",
    "OPENED_DESC",
    "CREATED_ASC",
    "CREATED_DESC",
)
# Filters Tines documents as arrays: a single value is sent as a list of one.
LIST_FILTERS = frozenset(("case_ids", "tags", "and_tags", "or_tags", "exclude_tags", "sub_status_names", "records"))
# Filters a listed case can contradict, and the case field each one is checked against.
CHECKABLE = {"status": "status", "priority": "priority", "case_ids": "case_id", "metadata": "metadata"}
CHECKABLE_HINT = "status, priority, case_ids, or metadata where the tenant's list shows it"
NOT_RETURNED = "No cases are returned: a list that ignores a filter could make a loop act on every case of the tenant."


class FilterInputError(ValueError):
    """The task's filters, team_id or limit cannot be sent; raised before any request."""


class ListAnswerError(ValueError):
    """A list answer that cannot be used: wrong shape, pagination that goes nowhere, or filters not applied."""


# --- input ------------------------------------------------------------------------


def check_filters(filters):
    """The task's filters with every value in the text form sent to Tines.

    Returns {name: text | [text, ...] | {key: text}}: names as given, values as
    strings (_metadata_plan.canonical_value: numbers in decimal, booleans true/false,
    dates in ISO 8601). Only `metadata` takes a dictionary.
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise FilterInputError("filters must be a dictionary of filter names and values")
    checked = {}
    for name, value in filters.items():
        if not isinstance(name, str) or not name.strip():
            raise FilterInputError("filter names must be non-empty strings, got %r" % (name,))
        _refuse_brackets(name, "filter name")
        label = "filters." + name
        if name == "metadata":
            checked[name] = _metadata_filter(value, label)
        elif name == "case_ids":
            checked[name] = [_case_id(item, label) for item in _items(value, label, as_list=True)]
        else:
            checked[name] = _plain_filter(value, label, name in LIST_FILTERS)
    return checked


def _refuse_brackets(text, what):
    if "[" in text or "]" in text:
        raise FilterInputError(
            "%s %r cannot be sent: brackets nest parameters in the query string that carries filters" % (what, text)
        )


def _items(value, label, as_list):
    """The value as a list of items (a single value too when `as_list`), or the single value itself."""
    if value is None:
        raise FilterInputError("%s has no value (null); leave the filter out instead" % label)
    if isinstance(value, Mapping):
        raise FilterInputError(
            "%s must be a single value or a list of single values, got a dictionary (only filters.metadata "
            "takes one)" % label
        )
    if isinstance(value, (list, tuple)):
        if not value:
            raise FilterInputError(
                "%s is an empty list: a query string cannot carry one, and Tines would take the filter as absent "
                "and list every case; leave the filter out, or skip the task when the list is empty" % label
            )
        return list(value)
    return [value] if as_list else value


def _plain_filter(value, label, as_list):
    items = _items(value, label, as_list)
    if not isinstance(items, list):
        return _text(items, label)
    return [_text(item, "%s[%d]" % (label, index)) for index, item in enumerate(items)]


def _text(value, label):
    try:
        text = canonical_value(value)
    except MetadataInputError as exc:
        raise FilterInputError("%s %s" % (label, exc)) from None
    if not text.strip():
        raise FilterInputError(
            "%s is empty: Tines would most likely take it as no filter and list every case; leave it out instead"
            % label
        )
    return text


def _case_id(value, label):
    """A case number as decimal text: a positive integer, or a string of digits."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number <= 0:
        raise FilterInputError("%s must hold positive case numbers, got %r" % (label, value))
    return str(number)


def _metadata_filter(value, label):
    if not isinstance(value, Mapping):
        raise FilterInputError("%s must be a dictionary of metadata keys and the values to match" % label)
    if not value:
        raise FilterInputError(
            "%s is empty: a query string cannot carry it, and Tines would list every case; leave it out" % label
        )
    checked = {}
    for key, item in value.items():
        try:
            name = canonical_key(key)
        except MetadataInputError as exc:
            raise FilterInputError("%s: %s" % (label, exc)) from None
        _refuse_brackets(name, "%s key" % label)
        if name in checked:
            raise FilterInputError("%s key %r is given more than once" % (label, name))
        if isinstance(item, (list, tuple)):
            raise FilterInputError("%s.%s must be a single value, got a list" % (label, name))
        checked[name] = _text(item, "%s.%s" % (label, name))
    return checked


def check_team_id(team_id):
    if team_id is not None and (isinstance(team_id, bool) or not isinstance(team_id, int) or team_id <= 0):
        raise FilterInputError("team_id must be a positive integer, got %r" % (team_id,))
    return team_id


def check_limit(limit):
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise FilterInputError("limit must be 1 or more, got %r" % (limit,))
    return limit


# --- requests ---------------------------------------------------------------------


def per_page_for(limit):
    """One per_page for every page of a listing (pages are numbered in units of it): no more than `limit` needs."""
    return MAX_PER_PAGE if limit is None else min(MAX_PER_PAGE, limit)


def query_pairs(filters, team_id=None, order=None, page=1, per_page=MAX_PER_PAGE):
    """The query of one list request, as (name, text) pairs, filters in bracket form."""
    pairs = [("page", str(page)), ("per_page", str(per_page))]
    if team_id is not None:
        pairs.append(("team_id", str(team_id)))
    if order:
        pairs.append(("order", order))
    for name, value in filters.items():
        key = "filters[%s]" % name
        if isinstance(value, Mapping):
            pairs.extend(("%s[%s]" % (key, sub), text) for sub, text in value.items())
        elif isinstance(value, list):
            pairs.extend((key + "[]", text) for text in value)
        else:
            pairs.append((key, value))
    return pairs


def list_path(pairs):
    """The request path with its query; brackets stay readable, everything else is percent-encoded."""
    return LIST_PATH + "?" + urlencode(pairs, safe="[]")


def count_query(team_id=None):
    """The cheapest request for how many cases the list holds without filters (same team)."""
    return query_pairs({}, team_id, None, 1, 1)


# --- answers ----------------------------------------------------------------------


def page_of(answer):
    """(cases, meta) from one list answer; meta may be None."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("cases"), list):
        raise ListAnswerError("expected a JSON object with a cases list")
    cases = answer["cases"]
    if not all(isinstance(case, Mapping) for case in cases):
        raise ListAnswerError("expected every item of cases to be a case object")
    meta = answer.get("meta")
    return cases, meta if isinstance(meta, Mapping) else None


def count_of(meta):
    """The number of cases the whole list holds, from a page's meta, or None when it does not say."""
    count = meta.get("count") if isinstance(meta, Mapping) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return None
    return count


def next_page(meta, page, received):
    """The number of the page to ask for next, or None after the last one.

    Only the page number is taken from the answer: the request is built from
    tenant_url, never from the `next_page` link, which could name another host.
    The per_page the tenant used is the one its page numbers count in, and it
    applies again to the next request, whatever per_page was asked for.
    """
    if received == 0:
        return None
    if meta is None:
        raise ListAnswerError("the answer has no pagination meta, so whether more cases follow is unknown")
    if "next_page" in meta and meta["next_page"] is None:
        return None
    number = meta.get("next_page_number")
    if number is None:
        if "next_page_number" in meta:
            return None
        if meta.get("next_page"):
            return page + 1
        raise ListAnswerError("the pagination meta has neither next_page_number nor next_page")
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ListAnswerError("the pagination meta has next_page_number %r, not a page number" % (number,))
    if number == 0:
        return None
    if number <= page:
        raise ListAnswerError("the pagination meta on page %d points back to page %d" % (page, number))
    return number


class Collected:
    """The cases found so far: each case once (a case edited while pages are read can move to the next page)."""

    def __init__(self, limit=None):
        self.limit = limit
        self.cases = []
        self._seen = set()

    def add(self, cases):
        """Keep the new cases, up to the limit; True once the limit is reached."""
        for case in cases:
            if self.full():
                break
            key = _id_key(case.get("case_id"))
            if key is not None:
                if key in self._seen:
                    continue
                self._seen.add(key)
            self.cases.append(case)
        return self.full()

    def full(self):
        return self.limit is not None and len(self.cases) >= self.limit


def _id_key(value):
    if isinstance(value, bool) or value is None:
        return None
    return str(value)


# --- verification -----------------------------------------------------------------


def _same(actual, wanted):
    """Whether a case's value is the filter's text, ignoring letter case (status "open" is OPEN)."""
    try:
        text = canonical_value(actual)
    except MetadataInputError:
        return False
    return text.casefold() == wanted.casefold()


def _as_list(value):
    return value if isinstance(value, list) else [value]


def case_team_id(case):
    """The id of the case's team: team.id, else team_id; None when the case does not show it."""
    team = case.get("team")
    if isinstance(team, Mapping) and team.get("id") is not None:
        return team["id"]
    return case.get("team_id")


def _name_of(case):
    return "case %s" % (case.get("case_id", "(no case_id)"),)


def contradiction(filters, team_id, case):
    """(what was not applied, how the case shows it) for the first filter the case contradicts, else None."""
    shown_team = case_team_id(case)
    if team_id is not None and shown_team is not None and str(shown_team) != str(team_id):
        return "team_id", "%s belongs to team %s, not %s" % (_name_of(case), shown_team, team_id)
    for name, wanted in filters.items():
        if not shows_filter(name, case):
            continue
        field = CHECKABLE[name]
        label = "filters." + name
        if name == "metadata":
            problem = _metadata_contradiction(wanted, case)
            if problem:
                return label, problem
        elif not any(_same(case[field], text) for text in _as_list(wanted)):
            return label, "%s has %s %r, which %s=%s excludes" % (
                _name_of(case),
                field,
                case[field],
                label,
                _shown(wanted),
            )
    return None


def _metadata_contradiction(wanted, case):
    metadata = case["metadata"]
    for key, text in wanted.items():
        if key not in metadata:
            return "%s has no metadata key %r, which filters.metadata.%s=%s requires" % (
                _name_of(case),
                key,
                key,
                text,
            )
        if not _same(metadata[key], text):
            return "%s has metadata %s=%r, which filters.metadata.%s=%s excludes" % (
                _name_of(case),
                key,
                metadata[key],
                key,
                text,
            )
    return None


def _shown(wanted):
    return "[%s]" % ", ".join(wanted) if isinstance(wanted, list) else wanted


def first_contradiction(filters, team_id, cases):
    """The message for the first case that shows a filter or team_id was not applied, else None."""
    for case in cases:
        found = contradiction(filters, team_id, case)
        if found is not None:
            label, detail = found
            return ignored_message(label, detail)
    return None


def ignored_message(label, detail):
    message = "the tenant did not apply %s: %s. %s" % (label, detail, NOT_RETURNED)
    if label != "team_id":
        message += (
            " The module sends filters in the query string as filters[name]=value, a form Tines does not "
            "document; a tenant that does not read that form lists every case."
        )
    return message


def shows_filter(name, case):
    """Whether the case carries the field that can confirm or contradict filter `name`.

    A null field shows nothing, and metadata only as an object: a list may
    leave out what it does not hold rather than mean "none".
    """
    field = CHECKABLE.get(name)
    if field is None or case.get(field) is None:
        return False
    return name != "metadata" or isinstance(case[field], Mapping)


def unconfirmed_filters(filters, cases):
    """The filters still to be believed after the cases contradicted none: all of them, unless one is confirmed.

    A filter is confirmed when at least one listed case shows the field it
    checks. One confirmed filter shows the tenant read the bracket form, so
    the others in the same query are believed too; team_id travels as a plain
    parameter and confirms nothing about filters. An empty list needs no belief.
    """
    if not filters or not cases:
        return []
    if any(shows_filter(name, case) for name in filters for case in cases):
        return []
    return list(filters)


def filtering_shown(filtered_count, unfiltered_count):
    """Whether the filters left cases out: the filtered list holds fewer cases than the same list without them."""
    return filtered_count is not None and unfiltered_count is not None and filtered_count < unfiltered_count


def unconfirmed_message(names, filtered_count, unfiltered_count):
    labels = ", ".join("filters." + name for name in names)
    if filtered_count is None or unfiltered_count is None:
        evidence = "the tenant's answer gives no count to compare with the same list without filters"
    else:
        evidence = "the same list without filters holds no more cases (%d, against %d with them)" % (
            unfiltered_count,
            filtered_count,
        )
    return (
        "cannot confirm that the tenant applied %s: no listed case shows a field that could contradict %s, and %s. "
        "%s If the filters really match every case, add one the module can check (%s)."
        % (labels, "it" if len(names) == 1 else "them", evidence, NOT_RETURNED, CHECKABLE_HINT)
    )
