"""The tines_case_info task over a fake client: which requests the listing sends, and which answers it believes.

The fake answers GET /api/v2/cases from a few case records the way a tenant would
(with the simulator's own filter rules), or ignores the filters, repeats pages,
hides fields, or gains a case after a given request; no HTTP is involved.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from ansible_collections.tines.cases.plugins.module_utils._arguments import CaseQuery
from ansible_collections.tines.cases.plugins.module_utils._case_list import check_filters
from ansible_collections.tines.cases.plugins.module_utils._case_list_task import list_cases, read_page
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.tests.simulator.tines_sim import (
    PRIORITIES,
    STATUSES,
    case_json,
    case_matches,
    case_record,
    parse_query,
)
from hypothesis import given, settings
from hypothesis import strategies as st

# The most requests any test here lets a listing send: the fake fails the test beyond that.
MOST_REQUESTS = 40


class RecordingClient:
    """A client that notes each path asked for, and fails the test once a listing asks too often."""

    def __init__(self):
        self.paths = []

    def request(self, method, path):
        assert method == "GET", method
        self.paths.append(unquote(path))
        if len(self.paths) > MOST_REQUESTS:
            raise AssertionError("the listing did not stop after %d requests" % MOST_REQUESTS)
        return self.answer(path)


class FakeTenant(RecordingClient):
    """A client whose list answers are computed from case records, with the simulator's filter rules.

    `ignore_filters`: answer as a tenant that does not read the bracket form. `hide`: fields left
    out of listed cases. `repeat`: ignore the page asked for and answer page 1 with a next link.
    `create_after`: request numbers after which a new OPEN case appears. `max_per_page`: the largest page.
    """

    def __init__(self, records, ignore_filters=False, hide=(), repeat=False, create_after=(), max_per_page=500):
        super().__init__()
        self.records = {case_id: case_record(case_id, value) for case_id, value in records.items()}
        self.ignore_filters = ignore_filters
        self.max_per_page = max_per_page
        self.hide = hide
        self.repeat = repeat
        self.create_after = create_after

    def answer(self, path):
        answer = self._page(parse_query(urlsplit(path).query))
        if len(self.paths) in self.create_after:
            case_id = max(self.records, default=0) + 1
            self.records[case_id] = case_record(case_id, {"status": "OPEN", "metadata": {}})
        return answer

    def _page(self, params):
        filters = {} if self.ignore_filters else params.get("filters", {})
        team_id = params.get("team_id")
        matching = [
            record
            for record in sorted(self.records.values(), key=lambda record: record["case_id"])
            if case_matches(record, filters) and (team_id is None or str(record["team"]["id"]) == team_id)
        ]
        page, per_page = int(params["page"]), min(int(params["per_page"]), self.max_per_page)
        if self.repeat:
            page = 1
        pages = -(-len(matching) // per_page)
        shown = [case_json(record) for record in matching[(page - 1) * per_page : page * per_page]]
        for case in shown:
            for field in self.hide:
                del case[field]
        more = self.repeat or page < pages
        meta = {"next_page": "https://t/next" if more else None, "per_page": per_page, "count": len(matching)}
        return {"cases": shown, "meta": meta}


class CannedClient(RecordingClient):
    """A client that answers each request with the next of `answers` (the last one again once they run out)."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)

    def answer(self, path):
        return self.answers[min(len(self.paths), len(self.answers)) - 1]


def query(filters=None, team_id=None, order=None, limit=None):
    return CaseQuery(check_filters(filters), team_id, order, limit)


def ids(cases):
    return [case["case_id"] for case in cases]


# Ten cases: 1-5 OPEN and tagged edr from the EDR, 6-10 the rest; 7 and 9 are tagged phishing.
RECORDS = {
    1: {"status": "OPEN", "tags": ["edr"], "metadata": {"source": "edr"}},
    2: {"status": "OPEN", "tags": ["edr"], "metadata": {"source": "edr"}},
    3: {"status": "OPEN", "tags": ["edr"], "metadata": {"source": "edr"}},
    4: {"status": "OPEN", "tags": ["edr"], "metadata": {"source": "edr"}},
    5: {"status": "OPEN", "tags": ["edr"], "metadata": {"source": "edr"}},
    6: {"status": "CLOSED", "tags": [], "metadata": {"source": "mail"}},
    7: {"status": "OPEN", "name": "Phishing on host-7", "tags": ["phishing"], "metadata": {"source": "mail"}},
    8: {"status": "CLOSED", "tags": ["edr"], "metadata": {"source": "EDR"}},
    9: {"status": "OPEN", "name": "Phishing on host-9", "tags": ["phishing", "edr"], "metadata": {}},
    10: {"status": "CLOSED", "tags": [], "metadata": {}},
}


# --- a tenant that ignores the filters -----------------------------------------------


def test_a_limit_over_cases_that_happen_to_pass_one_filter_still_checks_the_others():
    tenant = FakeTenant(RECORDS, ignore_filters=True)
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query({"status": "OPEN", "tags": ["phishing"]}, limit=5))
    assert str(failure.value).startswith(
        "the tenant did not apply filters.tags: case 1 has tags ['edr'], which filters.tags=[phishing] excludes."
    )
    assert tenant.paths == ["/api/v2/cases?page=1&per_page=5&filters[status]=OPEN&filters[tags][]=phishing"]


def test_a_limit_over_cases_that_do_not_show_a_filter_needs_evidence_for_it():
    tenant = FakeTenant(RECORDS, ignore_filters=True, hide=("tags",))
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query({"status": "OPEN", "tags": ["phishing"]}, limit=5))
    assert str(failure.value).startswith(
        "cannot confirm that the tenant applied filters.tags: the listed cases cannot show it, and without it the "
        "list holds no more cases than with all the filters (10, against 10 with them). No cases are returned"
    )
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=5&filters[status]=OPEN&filters[tags][]=phishing",
        "/api/v2/cases?page=1&per_page=1&filters[status]=OPEN",
        "/api/v2/cases?page=1&per_page=1&filters[status]=OPEN&filters[tags][]=phishing",
    ]


def test_a_case_created_between_the_counts_makes_the_evidence_fail():
    tenant = FakeTenant(RECORDS, ignore_filters=True, create_after=(1,))
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query({"search": "host"}))
    assert "(10, against 11 with them)" in str(failure.value)
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=1",
        "/api/v2/cases?page=1&per_page=500&filters[search]=host",
    ]


def test_a_case_created_between_the_counts_of_a_field_left_out_makes_the_evidence_fail():
    tenant = FakeTenant(RECORDS, ignore_filters=True, hide=("metadata",), create_after=(2,))
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query({"metadata": {"source": "edr"}}))
    assert "(10, against 11 with them)" in str(failure.value)
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=500&filters[metadata][source]=edr",
        "/api/v2/cases?page=1&per_page=1",
        "/api/v2/cases?page=1&per_page=1&filters[metadata][source]=edr",
    ]


def test_an_empty_answer_needs_no_evidence():
    tenant = FakeTenant({}, ignore_filters=True)
    assert list_cases(tenant, query({"search": "host", "status": "OPEN"})) == []
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=1&filters[status]=OPEN",
        "/api/v2/cases?page=1&per_page=500&filters[search]=host&filters[status]=OPEN",
    ]


# --- a tenant that applies the filters -------------------------------------------------


def test_filters_every_case_shows_cost_no_extra_request():
    tenant = FakeTenant(RECORDS)
    assert ids(list_cases(tenant, query({"status": "OPEN", "tags": ["edr"], "metadata": {"source": "edr"}}))) == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=500&filters[status]=OPEN&filters[tags][]=edr&filters[metadata][source]=edr"
    ]


def test_one_filter_no_case_shows_costs_one_count_before_the_listing():
    tenant = FakeTenant(RECORDS)
    assert ids(list_cases(tenant, query({"status": "OPEN", "search": "host"}, team_id=1))) == [7, 9]
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=1&team_id=1&filters[status]=OPEN",
        "/api/v2/cases?page=1&per_page=500&team_id=1&filters[status]=OPEN&filters[search]=host",
    ]


def test_a_field_the_list_leaves_out_costs_its_count_and_the_count_with_every_filter():
    tenant = FakeTenant(RECORDS, hide=("metadata",))
    assert ids(list_cases(tenant, query({"status": "OPEN", "metadata": {"source": "edr"}}, limit=3))) == [1, 2, 3]
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=3&filters[status]=OPEN&filters[metadata][source]=edr",
        "/api/v2/cases?page=1&per_page=1&filters[status]=OPEN",
        "/api/v2/cases?page=1&per_page=1&filters[status]=OPEN&filters[metadata][source]=edr",
    ]


def test_a_filter_that_leaves_no_case_out_cannot_be_told_from_an_ignored_one():
    tenant = FakeTenant(RECORDS)
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query({"search": "7", "assignees": ["a@example.com"], "tags": "phishing"}))
    assert str(failure.value).startswith(
        "cannot confirm that the tenant applied filters.assignees: the listed cases cannot show it, and without it "
        "the list holds no more cases than with all the filters (1, against 1 with them)."
    )
    assert tenant.paths == [
        "/api/v2/cases?page=1&per_page=1&filters[assignees][]=a@example.com&filters[tags][]=phishing",
        "/api/v2/cases?page=1&per_page=1&filters[search]=7&filters[tags][]=phishing",
        "/api/v2/cases?page=1&per_page=500&filters[search]=7&filters[assignees][]=a@example.com"
        "&filters[tags][]=phishing",
    ]


def test_metadata_values_are_compared_exactly():
    """Case 8 holds source EDR: a tenant that listed it for source=edr did not apply the filter as Tines does."""
    tenant = CannedClient(
        [{"cases": [case_json(case_record(n, RECORDS[n])) for n in (1, 8)], "meta": {"next_page": None, "count": 2}}]
    )
    with pytest.raises(TinesError, match="case 8 has metadata source='EDR', which filters.metadata.source=edr"):
        list_cases(tenant, query({"metadata": {"source": "edr"}}))


# --- pagination that never ends ------------------------------------------------------


def test_a_tenant_that_repeats_page_one_stops_with_a_pagination_error():
    tenant = FakeTenant(RECORDS, repeat=True)
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query(limit=20))
    assert str(failure.value) == (
        "GET /api/v2/cases?page=2&per_page=20: the pagination does not end: page 2 lists no case that an earlier "
        "page did not, yet names page 3 next (a tenant that ignores the page parameter answers this way). No cases "
        "are returned."
    )
    assert len(tenant.paths) == 2


def fresh_page(number, **meta):
    """A page of one case never listed before, naming the next page."""
    return {"cases": [{"case_id": number}], "meta": {"next_page_number": number + 1, **meta}}


def test_a_next_page_past_meta_pages_stops_the_listing():
    tenant = CannedClient([fresh_page(n, pages=2, count=2) for n in range(1, 30)])
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query())
    assert str(failure.value) == (
        "GET /api/v2/cases?page=2&per_page=500: the pagination does not end: page 2 names page 3 next, but "
        "meta.pages says the list has 2. No cases are returned."
    )


def test_pages_beyond_what_the_count_fills_stop_the_listing():
    tenant = CannedClient([fresh_page(n, count=3) for n in range(1, 30)])
    with pytest.raises(TinesError) as failure:
        list_cases(tenant, query())
    assert str(failure.value) == (
        "GET /api/v2/cases?page=5&per_page=500: the pagination does not end: after 5 requests it still names page 6 "
        "next, more than 3 cases in pages of 1 need. No cases are returned."
    )
    assert len(tenant.paths) == 5


def test_pages_a_correct_tenant_gives_are_all_read():
    tenant = FakeTenant({n: {"metadata": {}} for n in range(1, 12)}, max_per_page=2)
    assert ids(list_cases(tenant, query())) == list(range(1, 12))
    assert [path[-20:] for path in tenant.paths] == ["?page=%d&per_page=500" % n for n in range(1, 7)]
    tenant = CannedClient(
        [fresh_page(1, pages=3, count=3), fresh_page(2, pages=3, count=3), {"cases": [{"case_id": 3}], "meta": {}}]
    )
    with pytest.raises(TinesError, match="neither next_page_number nor next_page"):
        list_cases(tenant, query())
    tenant = CannedClient(
        [
            fresh_page(1, pages=3, count=3),
            fresh_page(2, pages=3, count=3),
            {"cases": [{"case_id": 3}], "meta": {"next_page_number": None}},
        ]
    )
    assert ids(list_cases(tenant, query())) == [1, 2, 3]


def test_read_page():
    tenant = CannedClient([{"cases": [{"case_id": 3}], "meta": {"count": 1}}, {"data": []}])
    assert read_page(tenant, [("page", "1"), ("per_page", "1")]) == ([{"case_id": 3}], {"count": 1})
    with pytest.raises(TinesError, match=r"^GET /api/v2/cases\?page=1: expected a JSON object with a cases list$"):
        read_page(tenant, [("page", "1")])


# --- properties ------------------------------------------------------------------------

tag_names = st.sampled_from(["edr", "EDR", "phishing", "beacon"])
records = st.dictionaries(
    st.integers(1, 30),
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(STATUSES),
            "priority": st.sampled_from(PRIORITIES),
            "name": st.sampled_from(["Beacon on host-1", "Phishing wave"]),
            "tags": st.lists(tag_names, unique=True, max_size=3),
            "metadata": st.fixed_dictionaries({}, optional={"source": st.sampled_from(["edr", "EDR", "mail"])}),
        }
    ),
    max_size=12,
)
filter_sets = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(STATUSES),
        "priority": st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=2),
        "tags": st.lists(tag_names, min_size=1, max_size=2),
        "and_tags": st.lists(tag_names, min_size=1, max_size=2),
        "or_tags": st.lists(tag_names, min_size=1, max_size=2),
        "exclude_tags": st.lists(tag_names, min_size=1, max_size=2),
        "metadata": st.fixed_dictionaries({"source": st.sampled_from(["edr", "EDR", "mail"])}),
        "search": st.sampled_from(["host", "wave"]),
    },
).filter(bool)
tenants = st.fixed_dictionaries(
    {
        "hide": st.sampled_from([(), ("tags",), ("metadata",), ("tags", "metadata")]),
        "create_after": st.lists(st.integers(1, 6), max_size=3),
    }
)


@settings(max_examples=300, deadline=None)
@given(seed=records, filters=filter_sets, limit=st.one_of(st.none(), st.integers(1, 6)), options=tenants)
def test_a_tenant_that_ignores_the_filters_never_yields_a_case_they_exclude(seed, filters, limit, options):
    tenant = FakeTenant(seed, ignore_filters=True, **options)
    sent = check_filters(filters)
    try:
        cases = list_cases(tenant, query(filters, limit=limit))
    except TinesError:
        return
    assert all(case_matches(tenant.records[case["case_id"]], sent) for case in cases)
    if "search" in filters:
        assert cases == []


@settings(max_examples=200, deadline=None)
@given(seed=records, filters=filter_sets, limit=st.one_of(st.none(), st.integers(1, 6)), options=tenants)
def test_a_tenant_that_applies_the_filters_is_never_said_to_ignore_them(seed, filters, limit, options):
    tenant = FakeTenant(seed, hide=options["hide"])
    sent = check_filters(filters)
    expected = [case_id for case_id in sorted(tenant.records) if case_matches(tenant.records[case_id], sent)]
    try:
        cases = list_cases(tenant, query(filters, limit=limit))
    except TinesError as exc:
        assert str(exc).startswith("cannot confirm that the tenant applied"), str(exc)
        return
    assert ids(cases) == expected[:limit]
