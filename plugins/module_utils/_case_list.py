# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Listing cases: every rule about which request to send and which answer to believe.

Pure functions only (no I/O), like _metadata_plan.py. Tines documents `filters` as an
object among the query parameters of GET /api/v2/cases but not how it travels;
we send it in bracket form (`filters[status]=OPEN`). A tenant that read it
another way would most likely ignore it and list every case, so no answer is
believed on trust: each filter is either checked on every listed case, or needs
evidence of its own, a count of the list without it that is higher than the
count with every filter (taken in that order, so a case created in between
makes the evidence fail, never pass).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import (
    MetadataInputError,
    canonical_key,
    canonical_value,
    case_number,
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
# Every filter name Tines documents for its case list; the last three are deprecated but still documented.
DOCUMENTED_FILTERS = (
    "and_tags",
    "or_tags",
    "tags",
    "exclude_tags",
    "assignees",
    "and_assignees",
    "exclude_assignees",
    "authors",
    "exclude_authors",
    "case_ids",
    "metadata",
    "priority",
    "records",
    "search",
    "status",
    "sub_status_names",
    "start_date",
    "end_date",
    "updated_at_start_date",
    "updated_at_end_date",
    "resolved_at_start_date",
    "resolved_at_end_date",
    "assignee_emails",
    "author_emails",
    "unassigned",
)
# Filters Tines documents as arrays: a single value is sent as a list of one.
LIST_FILTERS = frozenset(("case_ids", "tags", "and_tags", "or_tags", "exclude_tags", "sub_status_names", "records"))
# Filters a listed case can confirm or contradict, and the case field each one is checked against.
CHECKABLE = {
    "status": "status",
    "priority": "priority",
    "case_ids": "case_id",
    "metadata": "metadata",
    "tags": "tags",
    "and_tags": "tags",
    "or_tags": "tags",
    "exclude_tags": "tags",
}
CHECKABLE_HINT = "status, priority, case_ids, tags, and_tags, or_tags, exclude_tags or metadata"
NO_CASES = "No cases are returned."
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
    if not filters:
        raise FilterInputError(
            "filters is empty: Tines would list every case; leave filters out to list every case on purpose"
        )
    _refuse_undocumented(filters)
    checked = {}
    for name, value in filters.items():
        label = "filters." + name
        if name == "metadata":
            checked[name] = _metadata_filter(value, label)
        elif name == "case_ids":
            checked[name] = [_case_id(item, label) for item in _items(value, label, as_list=True)]
        else:
            checked[name] = _plain_filter(value, label, name in LIST_FILTERS)
    return checked


def _refuse_undocumented(filters):
    """A misspelt name is a filter the tenant ignores: it would widen the list, so refuse it by name."""
    for name in filters:
        if not isinstance(name, str) or not name.strip():
            raise FilterInputError("filter names must be non-empty strings, got %r" % (name,))
    unknown = [name for name in filters if name not in DOCUMENTED_FILTERS]
    if unknown:
        raise FilterInputError(
            "%s %s not %s Tines documents for its case list, and a tenant ignores a filter it does not know; "
            "use the documented names: %s"
            % (
                ", ".join("filters." + name for name in unknown),
                "is" if len(unknown) == 1 else "are",
                "a filter" if len(unknown) == 1 else "filters",
                ", ".join(DOCUMENTED_FILTERS),
            )
        )


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
    number = case_number(value)
    if number is None:
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


def count_pairs(filters, team_id=None, without=None):
    """The cheapest request for how many cases the list holds: one case per page, filter `without` left out."""
    kept = {name: value for name, value in filters.items() if name != without}
    return query_pairs(kept, team_id, None, 1, 1)


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
        if not meta.get("next_page"):
            raise ListAnswerError("the pagination meta has neither next_page_number nor next_page")
        number = page + 1
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ListAnswerError("the pagination meta has next_page_number %r, not a page number" % (number,))
    if number == 0:
        return None
    if number <= page:
        raise ListAnswerError("the pagination meta on page %d points back to page %d" % (page, number))
    pages = meta.get("pages")
    if isinstance(pages, int) and not isinstance(pages, bool) and number > pages:
        raise ListAnswerError(
            "the pagination does not end: page %d names page %d next, but meta.pages says the list has %d. %s"
            % (page, number, pages, NO_CASES)
        )
    return number


class Paging:
    """The page to ask for next, and the signs of pagination that never ends, each of which stops the listing.

    A tenant that ignores `page` and answers page 1 again with a next link, or one whose
    next_page_number is always one higher, would otherwise be asked forever. The count on the
    first page allows count // (cases on that page) + 2 requests: one spare page for the
    remainder and one for cases created while the pages are read.
    """

    def __init__(self):
        self.page = 1
        self.requests = 0
        self._count = None
        self._size = None

    def advance(self, meta, received, new):
        """The next page number after a page of `received` cases (`new`: any not listed before), or None."""
        self.requests += 1
        if self.requests == 1:
            self._count, self._size = count_of(meta), received
        number = next_page(meta, self.page, received)
        if number is None:
            return None
        if not new:
            raise ListAnswerError(
                "the pagination does not end: page %d lists no case that an earlier page did not, yet names page %d "
                "next (a tenant that ignores the page parameter answers this way). %s" % (self.page, number, NO_CASES)
            )
        if self._count is not None and self.requests >= self._count // self._size + 2:
            raise ListAnswerError(
                "the pagination does not end: after %d requests it still names page %d next, more than %d cases "
                "in pages of %d need. %s" % (self.requests, number, self._count, self._size, NO_CASES)
            )
        self.page = number
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

    def unseen(self, cases):
        """Whether any of `cases` was not listed before (a case without case_id always counts as new)."""
        return any(_id_key(case.get("case_id")) not in self._seen for case in cases)


def _id_key(value):
    if isinstance(value, bool) or value is None:
        return None
    return str(value)


# --- verification -----------------------------------------------------------------


def _text_of(actual):
    try:
        return canonical_value(actual)
    except MetadataInputError:
        return None


def _same_ignoring_case(actual, wanted):
    """Status and priority: Tines' docs write them in both cases ("open" is OPEN)."""
    text = _text_of(actual)
    return text is not None and text.casefold() == wanted.casefold()


def _same_exactly(actual, wanted):
    """Metadata values: case-sensitive strings, so "EDR" is not "edr"."""
    return _text_of(actual) == wanted


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


def verdict(name, wanted, case):
    """Whether the case passes filter `name`: True under every plausible reading, False under none, None unknown.

    None when the case does not show the field (a null field, metadata that is not an
    object, tags that are not a list of strings), when the filter is not checkable on a
    case at all, or when the readings differ for this case. A list may leave out what it
    does not hold rather than mean "none", so an absent field never counts either way.
    """
    field = CHECKABLE.get(name)
    value = None if field is None else case.get(field)
    if value is None:
        return None
    if name == "metadata":
        if not isinstance(value, Mapping):
            return None
        return all(key in value and _same_exactly(value[key], text) for key, text in wanted.items())
    if field == "tags":
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            return None
        return _tags_verdict(name, _as_list(wanted), value)
    return any(_same_ignoring_case(value, text) for text in _as_list(wanted))


def _tags_verdict(name, wanted, tags):
    """Tag filters read in every plausible way: `tags` as "any of" or "all of", each tag exactly or ignoring case.

    `or_tags` is "at least one of them", `and_tags` "all of them", `exclude_tags` "none of them".
    """
    exact = [tag in tags for tag in wanted]
    folded_tags = {tag.casefold() for tag in tags}
    folded = [tag.casefold() in folded_tags for tag in wanted]
    if name == "exclude_tags":
        if any(exact):
            return False
        return None if any(folded) else True
    if name == "and_tags":
        if not all(folded):
            return False
        return True if all(exact) else None
    if not any(folded):
        return False
    held = any(exact) if name == "or_tags" else all(exact)
    return True if held else None


def contradiction(filters, team_id, case):
    """(what was not applied, how the case shows it) for the first filter the case contradicts, else None."""
    shown_team = case_team_id(case)
    if team_id is not None and shown_team is not None and str(shown_team) != str(team_id):
        return "team_id", "%s belongs to team %s, not %s" % (_name_of(case), shown_team, team_id)
    for name, wanted in filters.items():
        if verdict(name, wanted, case) is not False:
            continue
        label = "filters." + name
        if name == "metadata":
            return label, _metadata_contradiction(wanted, case)
        field = CHECKABLE[name]
        return label, "%s has %s %r, which %s=%s excludes" % (_name_of(case), field, case[field], label, _shown(wanted))
    return None


def _metadata_contradiction(wanted, case):
    metadata = case["metadata"]
    for key, text in wanted.items():
        if key not in metadata:
            return "%s has no metadata key %r, which filters.metadata.%s=%s requires" % (_name_of(case), key, key, text)
        if not _same_exactly(metadata[key], text):
            return "%s has metadata %s=%r, which filters.metadata.%s=%s excludes (values are compared exactly)" % (
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


# --- evidence ---------------------------------------------------------------------


def unchecked_names(filters):
    """The filters no listed case can show (search, assignees, dates, ...): each needs evidence of its own."""
    return [name for name in filters if name not in CHECKABLE]


def undecided(filters, cases):
    """The checkable filters that some listed case could neither confirm nor contradict: they need evidence too."""
    return [
        name
        for name in filters
        if name in CHECKABLE and any(verdict(name, filters[name], case) is None for case in cases)
    ]


def unconfirmed(counts_without, count_with):
    """The filters without evidence: the list without one of them (the others the same) must hold more cases.

    `counts_without` must have been requested before `count_with`: a case created in between
    then raises count_with, which can only make the evidence fail.
    """
    return [
        name
        for name, count_without in counts_without.items()
        if count_with is None or count_without is None or count_without <= count_with
    ]


def unconfirmed_message(names, counts_without, count_with):
    one = len(names) == 1
    them = "it" if one else "them"
    if count_with is None or any(counts_without.get(name) is None for name in names):
        evidence = "the tenant's answers give no count (meta.count) to compare the list with and without %s" % them
    else:
        without = ", ".join(
            str(counts_without[name]) if one else "%d without filters.%s" % (counts_without[name], name)
            for name in names
        )
        evidence = "without %s the list holds no more cases than with all the filters (%s, against %d with them)" % (
            them if one else "each of them",
            without,
            count_with,
        )
    return (
        "cannot confirm that the tenant applied %s: the listed cases cannot show %s, and %s. %s If the %s really "
        "leave%s no case out, drop %s, or add a filter the module can check on every case (%s)."
        % (
            ", ".join("filters." + name for name in names),
            them,
            evidence,
            NOT_RETURNED,
            "filter" if one else "filters",
            "s" if one else "",
            them,
            CHECKABLE_HINT,
        )
    )
