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
    check_filters,
    check_limit,
    check_team_id,
    contradiction,
    count_of,
    count_query,
    filtering_shown,
    first_contradiction,
    list_path,
    next_page,
    page_of,
    per_page_for,
    query_pairs,
    shows_filter,
    unconfirmed_filters,
    unconfirmed_message,
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
            "assigned_to_me": True,
            "case_ids": [318, "319", " 320 "],
            "metadata": {"source": "edr", "sev": 4, 7: False},
            "start_date": datetime.date(2026, 1, 31),
            "exclude_tags": "noise",
            "custom_future_filter": 2.5,
        }
    ) == {
        "status": "OPEN",
        "priority": ["HIGH", "CRITICAL"],
        "assigned_to_me": "true",
        "case_ids": ["318", "319", "320"],
        "metadata": {"source": "edr", "sev": "4", "7": "false"},
        "start_date": "2026-01-31",
        "exclude_tags": ["noise"],
        "custom_future_filter": "2.5",
    }


@pytest.mark.parametrize("absent", [None, {}])
def test_no_filters(absent):
    assert check_filters(absent) == {}


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
        ({"tags][": ["x"]}, r"filter name 'tags\]\[' cannot be sent"),
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


def test_count_query_asks_for_one_case_of_the_same_team_without_filters():
    assert count_query() == [("page", "1"), ("per_page", "1")]
    assert count_query(7) == [("page", "1"), ("per_page", "1"), ("team_id", "7")]


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
        {"metadata": {"source": "EDR", "sev": "4"}},
        {"search": "anything", "tags": ["other"]},
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
        ({"metadata": {"ticket": "OPS-1"}}, None, "filters.metadata", "case 318 has no metadata key 'ticket'"),
        ({"status": "OPEN"}, 3, "team_id", "case 318 belongs to team 7, not 3"),
    ],
)
def test_a_case_that_contradicts_a_filter_names_it(filters, team_id, label, detail):
    found = contradiction(filters, team_id, CASE)
    assert found is not None and found[0] == label
    assert detail in found[1]


def test_fields_the_case_does_not_show_cannot_contradict():
    bare = {"case_id": 5}
    assert contradiction({"status": "OPEN", "priority": "LOW", "metadata": {"a": "b"}}, 3, bare) is None
    # A list that shows metadata as null (or not as an object), or any field as null, does not show it.
    assert contradiction({"metadata": {"a": "b"}}, None, {"case_id": 5, "metadata": None}) is None
    assert contradiction({"metadata": {"a": "b"}}, None, {"case_id": 5, "metadata": ["a"]}) is None
    assert contradiction({"status": "OPEN", "case_ids": ["5"]}, None, {"case_id": None, "status": None}) is None
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


def test_shows_filter():
    assert shows_filter("status", CASE)
    assert shows_filter("case_ids", {"case_id": 1})
    assert shows_filter("metadata", {"metadata": {}})
    assert not shows_filter("metadata", {"metadata": None})
    assert not shows_filter("status", {"case_id": 1})
    assert not shows_filter("status", {"status": None})
    assert not shows_filter("case_ids", {"case_id": None})
    assert not shows_filter("search", CASE)
    assert not shows_filter("tags", CASE)


def test_unconfirmed_filters():
    no_metadata = {key: value for key, value in CASE.items() if key != "metadata"}
    # Nothing to believe: no filters, or nothing listed.
    assert unconfirmed_filters({}, [CASE]) == []
    assert unconfirmed_filters({"search": "x"}, []) == []
    # A checkable filter that a listed case shows confirms the others.
    assert unconfirmed_filters({"search": "x", "status": "OPEN"}, [CASE]) == []
    assert unconfirmed_filters({"tags": ["a"], "metadata": {"source": "edr"}}, [CASE]) == []
    # Filters no case can show all need other evidence.
    assert unconfirmed_filters({"search": "x", "tags": ["a"]}, [CASE]) == ["search", "tags"]
    assert unconfirmed_filters({"metadata": {"source": "edr"}}, [no_metadata]) == ["metadata"]
    assert unconfirmed_filters({"status": "OPEN", "search": "x"}, [{"case_id": 1}]) == ["status", "search"]


@pytest.mark.parametrize(
    ("filtered", "unfiltered", "shown"),
    [(3, 10, True), (0, 1, True), (10, 10, False), (11, 10, False), (None, 10, False), (3, None, False)],
)
def test_filtering_shown_only_when_cases_were_left_out(filtered, unfiltered, shown):
    assert filtering_shown(filtered, unfiltered) is shown


def test_unconfirmed_message():
    message = unconfirmed_message(["search", "tags"], 12, 12)
    assert message.startswith("cannot confirm that the tenant applied filters.search, filters.tags: ")
    assert "holds no more cases (12, against 12 with them)" in message
    assert "No cases are returned" in message
    assert "add one the module can check (status, priority, case_ids, or metadata" in message
    assert "gives no count" in unconfirmed_message(["search"], None, None)


records = st.builds(
    lambda case_id, status, priority, team, source: case_json(
        case_record(
            case_id,
            {"status": status, "priority": priority, "team_id": team, "metadata": {"source": source}},
        )
    ),
    case_id=st.integers(1, 50),
    status=st.sampled_from(STATUSES),
    priority=st.sampled_from(PRIORITIES),
    team=st.integers(1, 3),
    source=st.sampled_from(["edr", "siem", "mail"]),
)
checkable_filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(STATUSES),
        "priority": st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=2),
        "case_ids": st.lists(st.integers(1, 50), min_size=1, max_size=5),
        "metadata": st.fixed_dictionaries({"source": st.sampled_from(["edr", "siem", "mail"])}),
    },
)


@given(record=records, filters=checkable_filters)
def test_a_case_contradicts_the_filters_exactly_when_the_simulator_would_leave_it_out(record, filters):
    sent = check_filters(filters)
    assert (contradiction(sent, None, record) is None) == case_matches(record, sent)
