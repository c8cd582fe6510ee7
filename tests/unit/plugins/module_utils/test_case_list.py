"""The pure decisions of tines_case_info: input checks, query encoding, paging, and which answers to believe."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from ansible_collections.tines.cases.plugins.module_utils._case_list import (
    MAX_PER_PAGE,
    Collected,
    FilterInputError,
    ListAnswerError,
    Paging,
    check_filters,
    check_limit,
    check_team_id,
    contradiction,
    count_of,
    count_pairs,
    first_contradiction,
    list_path,
    next_page,
    page_of,
    per_page_for,
    query_pairs,
    unchecked_names,
    unconfirmed,
    unconfirmed_message,
    undecided,
    verdict,
)
from ansible_collections.tines.cases.tests.simulator.tines_sim import (
    PRIORITIES,
    STATUSES,
    case_json,
    case_matches,
    case_record,
    parse_query,
)
from hypothesis import given
from hypothesis import strategies as st

CASE = {
    "case_id": 318,
    "name": "Beacon on host-44",
    "status": "OPEN",
    "priority": "HIGH",
    "team": {"id": 7, "name": "SecOps"},
    "tags": ["edr"],
    "metadata": {"source": "edr", "sev": "4"},
}


# --- input ------------------------------------------------------------------------


def test_check_filters_keeps_names_and_sends_values_as_text():
    assert check_filters(
        {
            "status": "OPEN",
            "priority": ["HIGH", "CRITICAL"],
            "unassigned": True,
            "case_ids": [318, "319", " 320 "],
            "metadata": {"source": "edr", "sev": 4, 7: False},
            "start_date": datetime.date(2026, 1, 31),
            "exclude_tags": "noise",
            "search": 2.5,
        }
    ) == {
        "status": "OPEN",
        "priority": ["HIGH", "CRITICAL"],
        "unassigned": "true",
        "case_ids": ["318", "319", "320"],
        "metadata": {"source": "edr", "sev": "4", "7": "false"},
        "start_date": "2026-01-31",
        "exclude_tags": ["noise"],
        "search": "2.5",
    }


def test_no_filters():
    assert check_filters(None) == {}


DOCUMENTED = (
    "and_tags, or_tags, tags, exclude_tags, assignees, and_assignees, exclude_assignees, authors, exclude_authors, "
    "case_ids, metadata, priority, records, search, status, sub_status_names, start_date, end_date, "
    "updated_at_start_date, updated_at_end_date, resolved_at_start_date, resolved_at_end_date, assignee_emails, "
    "author_emails, unassigned"
)


def test_a_filter_name_tines_does_not_document_is_refused_with_the_documented_names():
    with pytest.raises(FilterInputError) as one:
        check_filters({"metadata": {"source": "edr"}, "stauts": "OPEN"})
    assert str(one.value) == (
        "filters.stauts is not a filter Tines documents for its case list, and a tenant ignores a filter it does "
        "not know; use the documented names: " + DOCUMENTED
    )
    with pytest.raises(FilterInputError) as two:
        check_filters({"tag": ["x"], "status": "OPEN", "Status": "OPEN"})
    assert str(two.value).startswith("filters.tag, filters.Status are not filters Tines documents for its case list")


@pytest.mark.parametrize("name", ["assignee_emails", "author_emails", "unassigned", "updated_at_end_date", "records"])
def test_deprecated_and_rarer_documented_names_are_accepted(name):
    assert list(check_filters({name: "x"})) == [name]


def test_empty_filters_are_refused():
    with pytest.raises(FilterInputError) as empty:
        check_filters({})
    assert str(empty.value) == (
        "filters is empty: Tines would list every case; leave filters out to list every case on purpose"
    )


def test_a_single_case_number_is_sent_as_a_list_of_one():
    assert check_filters({"case_ids": 318}) == {"case_ids": ["318"]}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("status=OPEN", "filters must be a dictionary"),
        (["status"], "filters must be a dictionary"),
        ({"status": {"is": "OPEN"}}, "filters.status must be a single value or a list of single values, got a dict"),
        ({"tags": [{"name": "edr"}]}, r"filters.tags\[0\] must be a string, number, boolean or date, got a dict"),
        ({"tags": [["edr"]]}, r"filters.tags\[0\] must be a string, number, boolean or date, got a list"),
        ({"search": None}, r"filters.search has no value \(null\)"),
        ({"search": ""}, "filters.search is empty"),
        ({"search": "  "}, "filters.search is empty"),
        ({"tags": ["edr", ""]}, r"filters.tags\[1\] is empty"),
        ({"case_ids": []}, "filters.case_ids is an empty list.*list every case"),
        ({"or_tags": []}, "filters.or_tags is an empty list"),
        ({"case_ids": [318, 0]}, "filters.case_ids must hold positive case numbers, got 0"),
        ({"case_ids": [-3]}, "positive case numbers, got -3"),
        ({"case_ids": [True]}, "positive case numbers, got True"),
        ({"case_ids": ["318a"]}, "positive case numbers, got '318a'"),
        ({"case_ids": [3.0]}, "positive case numbers, got 3.0"),
        ({"case_ids": {"id": 3}}, "got a dictionary"),
        ({"metadata": "source=edr"}, "filters.metadata must be a dictionary of metadata keys"),
        ({"metadata": {}}, "filters.metadata is empty"),
        ({"metadata": {"source": {"is": "edr"}}}, "filters.metadata.source must be a string, number, boolean or date"),
        ({"metadata": {"source": ["edr", "siem"]}}, "filters.metadata.source must be a single value, got a list"),
        ({"metadata": {"source": None}}, "filters.metadata.source must be a string, number, boolean or date, got null"),
        ({"metadata": {"source": ""}}, "filters.metadata.source is empty"),
        ({"metadata": {"": "x"}}, "filters.metadata: metadata keys must not be empty"),
        ({"metadata": {1: "a", "1": "b"}}, "filters.metadata key '1' is given more than once"),
        ({"metadata": {"a[b]": "x"}}, r"filters.metadata key 'a\[b\]' cannot be sent: brackets"),
        ({"tags][": ["x"]}, r"filters.tags\]\[ is not a filter Tines documents"),
        ({"": "x"}, "filter names must be non-empty strings"),
        ({3: "x"}, "filter names must be non-empty strings, got 3"),
    ],
)
def test_check_filters_refuses_what_cannot_be_sent(filters, message):
    with pytest.raises(FilterInputError, match=message):
        check_filters(filters)


@pytest.mark.parametrize("team_id", [None, 1, 7])
def test_team_id_accepted(team_id):
    assert check_team_id(team_id) == team_id


@pytest.mark.parametrize("team_id", [0, -1, True, "7"])
def test_team_id_refused(team_id):
    with pytest.raises(FilterInputError, match="team_id must be a positive integer"):
        check_team_id(team_id)


@pytest.mark.parametrize("limit", [None, 1, 5000])
def test_limit_accepted(limit):
    assert check_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, -5, True, "5"])
def test_limit_refused(limit):
    with pytest.raises(FilterInputError, match="limit must be 1 or more"):
        check_limit(limit)


# --- requests ---------------------------------------------------------------------


def test_query_in_bracket_form():
    filters = check_filters({"status": "OPEN", "case_ids": [318, 319], "metadata": {"source": "edr"}})
    assert list_path(query_pairs(filters, team_id=7, order="CREATED_DESC", page=2, per_page=50)) == (
        "/api/v2/cases?page=2&per_page=50&team_id=7&order=CREATED_DESC&filters[status]=OPEN"
        "&filters[case_ids][]=318&filters[case_ids][]=319&filters[metadata][source]=edr"
    )


def test_query_without_anything_optional():
    assert list_path(query_pairs({})) == "/api/v2/cases?page=1&per_page=500"


def test_values_are_percent_encoded_but_brackets_stay_readable():
    path = list_path(query_pairs(check_filters({"search": "a&b=c d/é", "metadata": {"team name": "x+y"}})))
    assert path == (
        "/api/v2/cases?page=1&per_page=500&filters[search]=a%26b%3Dc+d%2F%C3%A9&filters[metadata][team+name]=x%2By"
    )
    assert parse_qsl(urlsplit(path).query)[2:] == [
        ("filters[search]", "a&b=c d/é"),
        ("filters[metadata][team name]", "x+y"),
    ]


def test_count_pairs_ask_for_one_case_of_the_same_team_and_filters_but_one():
    filters = {"status": "OPEN", "search": "x"}
    assert count_pairs({}) == [("page", "1"), ("per_page", "1")]
    assert count_pairs(filters, 7) == [
        ("page", "1"),
        ("per_page", "1"),
        ("team_id", "7"),
        ("filters[status]", "OPEN"),
        ("filters[search]", "x"),
    ]
    assert count_pairs(filters, 7, without="search") == [
        ("page", "1"),
        ("per_page", "1"),
        ("team_id", "7"),
        ("filters[status]", "OPEN"),
    ]
    assert count_pairs(filters, without="status") == [("page", "1"), ("per_page", "1"), ("filters[search]", "x")]


@pytest.mark.parametrize(("limit", "per_page"), [(None, 500), (1, 1), (5, 5), (500, 500), (501, 500), (1100, 500)])
def test_per_page_asks_for_no_more_than_the_limit_needs(limit, per_page):
    assert per_page_for(limit) == per_page
    assert MAX_PER_PAGE == 500


texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="[]"), min_size=1, max_size=12).filter(
    str.strip
)


@given(
    status=st.sampled_from(STATUSES),
    case_ids=st.lists(st.integers(1, 10**9), min_size=1, max_size=4),
    metadata=st.dictionaries(texts, texts, min_size=1, max_size=4),
    tags=st.lists(texts, min_size=1, max_size=3),
    search=texts,
)
def test_a_rack_style_parser_reads_back_exactly_the_filters_sent(status, case_ids, metadata, tags, search):
    filters = check_filters(
        {"status": status, "case_ids": case_ids, "metadata": metadata, "tags": tags, "search": search}
    )
    query = urlsplit(list_path(query_pairs(filters, team_id=3))).query
    parsed = parse_query(query)
    assert parsed["filters"] == filters
    assert (parsed["team_id"], parsed["page"], parsed["per_page"]) == ("3", "1", "500")


# --- answers ----------------------------------------------------------------------


def test_page_of():
    meta = {"next_page_number": None}
    assert page_of({"cases": [CASE], "meta": meta}) == ([CASE], meta)
    assert page_of({"cases": []}) == ([], None)
    assert page_of({"cases": [], "meta": "x"}) == ([], None)


@pytest.mark.parametrize(
    "answer", [None, [], {"data": []}, {"cases": None}, {"cases": {"318": CASE}}, {"cases": [318]}]
)
def test_page_of_refuses_other_shapes(answer):
    with pytest.raises(ListAnswerError, match="expected"):
        page_of(answer)


@pytest.mark.parametrize(
    ("meta", "count"),
    [
        ({"count": 0}, 0),
        ({"count": 1100}, 1100),
        ({"count": "3"}, None),
        ({"count": True}, None),
        ({}, None),
        (None, None),
    ],
)
def test_count_of(meta, count):
    assert count_of(meta) == count


@pytest.mark.parametrize(
    ("meta", "page", "received", "expected"),
    [
        ({"next_page": "https://t/api/v2/cases?page=2", "next_page_number": 2}, 1, 500, 2),
        ({"next_page": "https://elsewhere.example/steal?page=9", "next_page_number": 3}, 2, 50, 3),
        ({"next_page": None, "next_page_number": None}, 3, 100, None),
        ({"next_page": None, "next_page_number": 4}, 3, 500, None),
        ({"next_page": "https://t/x", "next_page_number": 0}, 3, 500, None),
        ({"next_page_number": None}, 1, 500, None),
        ({"next_page_number": "2"}, 1, 500, 2),
        ({"next_page": "https://t/api/v2/cases?page=5"}, 4, 50, 5),
        ({"next_page_number": 2}, 1, 0, None),
        (None, 1, 0, None),
        ({"next_page_number": 3, "pages": 3}, 2, 500, 3),
        ({"next_page_number": 2, "pages": "1"}, 1, 500, 2),
        ({"next_page_number": 2, "pages": 5}, 1, 0, None),
    ],
)
def test_next_page(meta, page, received, expected):
    assert next_page(meta, page, received) == expected


@pytest.mark.parametrize(
    ("meta", "page", "message"),
    [
        (None, 1, "no pagination meta"),
        ({"count": 3}, 1, "neither next_page_number nor next_page"),
        ({"next_page_number": 2}, 2, "on page 2 points back to page 2"),
        ({"next_page_number": 1}, 3, "points back to page 1"),
        ({"next_page_number": "two"}, 1, "next_page_number 'two', not a page number"),
        ({"next_page_number": True}, 1, "not a page number"),
        (
            {"next_page_number": 4, "pages": 3},
            3,
            "the pagination does not end: page 3 names page 4 next, but meta.pages says the list has 3. No cases",
        ),
        ({"next_page": "https://t/x", "pages": 0}, 1, "page 1 names page 2 next, but meta.pages says the list has 0"),
    ],
)
def test_next_page_refuses_pagination_that_goes_nowhere(meta, page, message):
    with pytest.raises(ListAnswerError, match=message):
        next_page(meta, page, 20)


def test_collected_keeps_each_case_once_and_stops_at_the_limit():
    found = Collected(limit=3)
    assert found.add([{"case_id": 1}, {"case_id": 2}]) is False
    assert found.add([{"case_id": 2}, {"name": "no id"}, {"case_id": 3}, {"case_id": 4}]) is True
    assert found.cases == [{"case_id": 1}, {"case_id": 2}, {"name": "no id"}]
    unlimited = Collected()
    assert unlimited.add([{"case_id": n} for n in range(1000)]) is False
    assert len(unlimited.cases) == 1000


def test_collected_tells_whether_a_page_brings_a_case_not_listed_before():
    found = Collected()
    assert found.unseen([{"case_id": 1}]) is True
    found.add([{"case_id": 1}, {"case_id": 2}])
    assert found.unseen([{"case_id": 2}, {"case_id": 1}]) is False
    assert found.unseen([{"case_id": 2}, {"case_id": "3"}]) is True
    assert found.unseen([{"name": "no id"}]) is True
    assert found.unseen([]) is False


def test_paging_follows_a_tenant_that_ends():
    paging = Paging()
    assert paging.advance({"next_page_number": 2, "pages": 3, "count": 1100}, 500, True) == 2
    assert paging.advance({"next_page_number": 3, "pages": 3, "count": 1100}, 500, True) == 3
    assert paging.advance({"next_page_number": None, "pages": 3, "count": 1100}, 100, True) is None
    assert (paging.page, paging.requests) == (3, 3)


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (
            [({"next_page": "https://t/next", "count": 40}, 20, True), ({"next_page": "https://t/next"}, 20, False)],
            "the pagination does not end: page 2 lists no case that an earlier page did not, yet names page 3 next "
            "(a tenant that ignores the page parameter answers this way). No cases are returned.",
        ),
        (
            [({"next_page_number": number + 1, "count": 41}, 20, True) for number in range(1, 5)],
            "the pagination does not end: after 4 requests it still names page 5 next, more than 41 cases in pages "
            "of 20 need. No cases are returned.",
        ),
        (
            [({"next_page_number": 2, "pages": 1, "count": 20}, 20, True)],
            "the pagination does not end: page 1 names page 2 next, but meta.pages says the list has 1.",
        ),
    ],
)
def test_paging_stops_pagination_that_does_not_end(pages, message):
    paging = Paging()
    *before, (meta, received, new) = pages
    for number, (earlier, earlier_received, earlier_new) in enumerate(before, start=2):
        assert paging.advance(earlier, earlier_received, earlier_new) == number
    with pytest.raises(ListAnswerError) as failure:
        paging.advance(meta, received, new)
    assert str(failure.value).startswith(message)


def test_paging_allows_two_pages_beyond_what_the_first_count_fills():
    paging = Paging()
    # 41 cases in pages of 20 fill 3 pages; a fourth is allowed for cases created while the pages are read.
    for number in range(2, 5):
        assert paging.advance({"next_page_number": number, "count": 41}, 20, True) == number
    assert paging.advance({"next_page_number": None}, 3, True) is None
    # A tenant that gives no count is bounded by its other signs only.
    endless = Paging()
    assert [endless.advance({"next_page": "https://t/next"}, 1, True) for _page in range(100)][-1] == 101


# --- verification -----------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "OPEN"},
        {"status": "open"},
        {"status": ["CLOSED", "OPEN"]},
        {"priority": "high"},
        {"case_ids": ["317", "318"]},
        {"metadata": {"source": "edr", "sev": "4"}},
        {"tags": ["edr"], "or_tags": ["edr", "other"], "and_tags": ["edr"], "exclude_tags": ["other"]},
        {"search": "anything", "assignees": ["a@example.com"]},
    ],
)
def test_a_case_that_matches_contradicts_nothing(filters):
    assert contradiction(filters, 7, CASE) is None


@pytest.mark.parametrize(
    ("filters", "team_id", "label", "detail"),
    [
        (
            {"status": "CLOSED"},
            None,
            "filters.status",
            "case 318 has status 'OPEN', which filters.status=CLOSED excludes",
        ),
        (
            {"priority": ["LOW", "INFO"]},
            None,
            "filters.priority",
            "priority 'HIGH', which filters.priority=[LOW, INFO]",
        ),
        ({"case_ids": ["319"]}, None, "filters.case_ids", "case 318 has case_id 318, which filters.case_ids=[319]"),
        ({"metadata": {"source": "siem"}}, None, "filters.metadata", "case 318 has metadata source='edr'"),
        (
            {"metadata": {"source": "EDR"}},
            None,
            "filters.metadata",
            "case 318 has metadata source='edr', which filters.metadata.source=EDR excludes (values are compared "
            "exactly)",
        ),
        ({"metadata": {"ticket": "OPS-1"}}, None, "filters.metadata", "case 318 has no metadata key 'ticket'"),
        ({"tags": ["phishing"]}, None, "filters.tags", "case 318 has tags ['edr'], which filters.tags=[phishing]"),
        ({"or_tags": ["a", "b"]}, None, "filters.or_tags", "case 318 has tags ['edr'], which filters.or_tags=[a, b]"),
        ({"and_tags": ["edr", "b"]}, None, "filters.and_tags", "which filters.and_tags=[edr, b] excludes"),
        ({"exclude_tags": ["edr"]}, None, "filters.exclude_tags", "which filters.exclude_tags=[edr] excludes"),
        ({"status": "OPEN"}, 3, "team_id", "case 318 belongs to team 7, not 3"),
    ],
)
def test_a_case_that_contradicts_a_filter_names_it(filters, team_id, label, detail):
    found = contradiction(filters, team_id, CASE)
    assert found is not None and found[0] == label
    assert detail in found[1]


def test_fields_the_case_does_not_show_cannot_contradict():
    bare = {"case_id": 5}
    assert contradiction({"status": "OPEN", "priority": "LOW", "metadata": {"a": "b"}, "tags": ["x"]}, 3, bare) is None
    # A list that shows metadata as null (or not as an object), or any field as null, does not show it.
    assert contradiction({"metadata": {"a": "b"}}, None, {"case_id": 5, "metadata": None}) is None
    assert contradiction({"metadata": {"a": "b"}}, None, {"case_id": 5, "metadata": ["a"]}) is None
    assert contradiction({"status": "OPEN", "case_ids": ["5"]}, None, {"case_id": None, "status": None}) is None
    assert contradiction({"tags": ["x"]}, None, {"case_id": 5, "tags": "x,y"}) is None
    assert contradiction({"tags": ["x"]}, None, {"case_id": 5, "tags": [{"name": "y"}]}) is None
    # The team from team_id when there is no team object.
    assert contradiction({}, 3, {"case_id": 5, "team_id": 4})[0] == "team_id"
    assert contradiction({}, 3, {"case_id": 5, "team_id": 3}) is None


def test_first_contradiction_explains_the_encoding_for_filters_only():
    cases = [CASE, {**CASE, "case_id": 319, "status": "CLOSED"}]
    message = first_contradiction({"status": "OPEN"}, None, cases)
    assert message.startswith("the tenant did not apply filters.status: case 319 has status 'CLOSED'")
    assert "No cases are returned" in message
    assert "filters[name]=value" in message
    team = first_contradiction({}, 3, cases)
    assert team.startswith("the tenant did not apply team_id: case 318 belongs to team 7, not 3. No cases")
    assert "filters[name]" not in team
    assert first_contradiction({"status": "OPEN"}, 7, [CASE]) is None


@pytest.mark.parametrize(
    ("name", "wanted", "tags", "expected"),
    [
        # tags: "any of them" or "all of them"; True only when both readings agree.
        ("tags", ["a"], ["a", "b"], True),
        ("tags", ["a", "b"], ["a", "b"], True),
        ("tags", ["a", "b"], ["a"], None),
        ("tags", ["a", "b"], ["c"], False),
        ("tags", ["a"], ["A"], None),
        ("tags", ["a"], [], False),
        # or_tags: at least one of them.
        ("or_tags", ["a", "b"], ["b"], True),
        ("or_tags", ["a", "b"], ["B"], None),
        ("or_tags", ["a", "b"], ["c"], False),
        # and_tags: all of them.
        ("and_tags", ["a", "b"], ["a", "b", "c"], True),
        ("and_tags", ["a", "b"], ["a", "B"], None),
        ("and_tags", ["a", "b"], ["a"], False),
        # exclude_tags: none of them.
        ("exclude_tags", ["a", "b"], ["c"], True),
        ("exclude_tags", ["a"], ["A"], None),
        ("exclude_tags", ["a", "b"], ["c", "b"], False),
        ("exclude_tags", ["a"], [], True),
    ],
)
def test_tag_filters_hold_only_under_every_reading(name, wanted, tags, expected):
    assert verdict(name, wanted, {"case_id": 1, "tags": tags}) is expected


@pytest.mark.parametrize(
    ("name", "wanted", "case", "expected"),
    [
        ("status", "open", {"status": "OPEN"}, True),
        ("status", ["CLOSED"], {"status": "OPEN"}, False),
        ("status", "OPEN", {"status": None}, None),
        ("priority", ["LOW", "HIGH"], {"priority": "high"}, True),
        ("case_ids", ["318"], {"case_id": 318}, True),
        ("case_ids", ["318"], {"case_id": 319}, False),
        ("metadata", {"source": "edr"}, {"metadata": {"source": "edr", "x": "y"}}, True),
        ("metadata", {"source": "edr"}, {"metadata": {"source": "Edr"}}, False),
        ("metadata", {"sev": "4"}, {"metadata": {"sev": 4}}, True),
        ("metadata", {"source": "edr"}, {"metadata": {}}, False),
        ("metadata", {"source": "edr"}, {}, None),
        ("search", "edr", CASE, None),
        ("assignees", ["a@example.com"], CASE, None),
    ],
)
def test_verdict(name, wanted, case, expected):
    assert verdict(name, wanted, case) is expected


def test_unchecked_names_are_the_filters_no_case_can_show():
    filters = {"status": "OPEN", "search": "x", "tags": ["a"], "start_date": "2026-01-01", "metadata": {"a": "b"}}
    assert unchecked_names(filters) == ["search", "start_date"]
    assert unchecked_names({"status": "OPEN"}) == []


def test_undecided_filters_are_checkable_ones_some_case_does_not_show():
    no_metadata = {key: value for key, value in CASE.items() if key != "metadata"}
    filters = {"status": "OPEN", "metadata": {"source": "edr"}, "search": "x", "tags": ["edr", "beacon"]}
    assert undecided(filters, [CASE]) == ["tags"]
    assert undecided(filters, [CASE, no_metadata]) == ["metadata", "tags"]
    assert undecided(filters, [{**CASE, "tags": ["edr", "beacon"]}]) == []
    assert undecided(filters, []) == []


@pytest.mark.parametrize(
    ("without", "count_with", "names"),
    [
        ({"search": 10, "tags": 4}, 3, []),
        ({"search": 1}, 0, []),
        ({"search": 10, "tags": 3}, 3, ["tags"]),
        ({"search": 10}, 11, ["search"]),
        ({"search": None, "tags": 9}, 3, ["search"]),
        ({"search": 10}, None, ["search"]),
        ({}, None, []),
    ],
)
def test_unconfirmed_filters_are_those_whose_removal_adds_no_case(without, count_with, names):
    assert unconfirmed(without, count_with) == names


def test_unconfirmed_message():
    one = unconfirmed_message(["search"], {"search": 12}, 12)
    assert one.startswith(
        "cannot confirm that the tenant applied filters.search: the listed cases cannot show it, and without it the "
        "list holds no more cases than with all the filters (12, against 12 with them). No cases are returned"
    )
    assert one.endswith(
        "If the filter really leaves no case out, drop it, or add a filter the module can check on every case "
        "(status, priority, case_ids, tags, and_tags, or_tags, exclude_tags or metadata)."
    )
    two = unconfirmed_message(["search", "tags"], {"search": 12, "tags": 13}, 13)
    assert two.startswith(
        "cannot confirm that the tenant applied filters.search, filters.tags: the listed cases cannot show them, and "
        "without each of them the list holds no more cases than with all the filters (12 without filters.search, 13 "
        "without filters.tags, against 13 with them)."
    )
    assert "If the filters really leave no case out, drop them" in two
    assert "give no count (meta.count) to compare the list with and without it" in unconfirmed_message(
        ["search"], {"search": None}, 3
    )


SOURCES = ["edr", "EDR", "siem", "mail"]
TAGS = ["edr", "EDR", "phishing", "beacon"]
records = st.builds(
    lambda case_id, status, priority, team, source, tags: case_json(
        case_record(
            case_id,
            {"status": status, "priority": priority, "team_id": team, "tags": tags, "metadata": {"source": source}},
        )
    ),
    case_id=st.integers(1, 50),
    status=st.sampled_from(STATUSES),
    priority=st.sampled_from(PRIORITIES),
    team=st.integers(1, 3),
    source=st.sampled_from(SOURCES),
    tags=st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
)
checkable_filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(STATUSES),
        "priority": st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=2),
        "case_ids": st.lists(st.integers(1, 50), min_size=1, max_size=5),
        "metadata": st.fixed_dictionaries({"source": st.sampled_from(SOURCES)}),
    },
).filter(bool)


@given(record=records, filters=checkable_filters)
def test_a_case_contradicts_the_filters_exactly_when_the_simulator_would_leave_it_out(record, filters):
    sent = check_filters(filters)
    assert (contradiction(sent, None, record) is None) == case_matches(record, sent)


@given(
    record=records,
    name=st.sampled_from(["tags", "and_tags", "or_tags", "exclude_tags"]),
    wanted=st.lists(st.sampled_from(TAGS), min_size=1, max_size=3),
)
def test_a_tag_verdict_agrees_with_the_simulator_whenever_it_decides(record, name, wanted):
    """The simulator reads `tags` as "all of them": a verdict must hold for that reading too."""
    found = verdict(name, wanted, record)
    if found is not None:
        assert found == case_matches(record, {name: wanted})
