"""The batch module's decisions: which cases, merged metadata, which reads can be spared, the summary and messages."""

from __future__ import annotations

import pytest
from ansible_collections.tines.cases.plugins.module_utils._arguments import BATCH_ARGUMENT_SPEC, check_batch_input
from ansible_collections.tines.cases.plugins.module_utils._batch_plan import (
    BatchCase,
    BatchInputError,
    case_diffs,
    case_entry,
    cases_from_ids,
    cases_from_items,
    failure_message,
    id_chunks,
    listed_metadata,
    metadata_gap,
    needs_fresh_read,
    progress_line,
    summary_of,
)
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import MetadataChanges


def params(**given):
    return {**{name: spec.get("default") for name, spec in BATCH_ARGUMENT_SPEC.items()}, **given}


def test_an_item_s_own_metadata_wins_over_the_common_pairs():
    chosen = cases_from_items(
        [{"case_id": 7, "metadata": {"ticket": "A-1", "rank": 2}}, {"case_id": "8"}, {"case_id": 9, "metadata": None}],
        {"ticket": "none", "team": "blue"},
    )
    assert chosen == [
        BatchCase(7, {"ticket": "A-1", "team": "blue", "rank": "2"}),
        BatchCase(8, {"ticket": "none", "team": "blue"}),
        BatchCase(9, {"ticket": "none", "team": "blue"}),
    ]


def test_state_absent_keeps_null_values_meaning_any_value():
    assert cases_from_ids([5], {"owner": None}, allow_null=True) == [BatchCase(5, {"owner": None})]
    with pytest.raises(BatchInputError, match="metadata value for key 'owner' must be"):
        cases_from_ids([5], {"owner": None})


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"case_id": 0}], "cases[0].case_id must be a positive case number, got 0"),
        ([{"case_id": True}], "cases[0].case_id must be a positive case number, got True"),
        ([{"case_id": "12a"}], "cases[0].case_id must be a positive case number, got '12a'"),
        ([{"case_id": 1}, {"case_id": 1}], "case 1 is chosen more than once; each case may appear once"),
        ([{"case_id": 1}, "2"], "cases[1] must be a dictionary with case_id and metadata, got '2'"),
        ([{"case_id": 1, "metadata": {"a": [1]}}], "cases[0].metadata: metadata value for key 'a' must be"),
    ],
)
def test_items_that_cannot_be_acted_on_are_refused(items, message):
    with pytest.raises(BatchInputError) as raised:
        cases_from_items(items, {})
    assert str(raised.value).startswith(message)


def test_ids_go_in_chunks_of_100():
    chunks = id_chunks(list(range(1, 251)))
    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    assert (chunks[0][0], chunks[1][0], chunks[2][-1]) == (1, 101, 250)
    assert id_chunks([]) == []


def test_only_cases_showing_their_metadata_stand_in_for_a_read():
    cases = [{"case_id": 1, "metadata": {"a": "b"}}, {"case_id": 2, "metadata": None}, {"case_id": 3}]
    assert listed_metadata(cases) == {1: {"a": "b"}}
    assert metadata_gap(cases) == "the tenant's case list does not show the cases' metadata"
    assert metadata_gap(cases[:1]) is None


def test_only_changes_and_removals_need_a_fresh_read():
    assert needs_fresh_read(MetadataChanges({"a": "1"}, {}, [])) is False
    assert needs_fresh_read(MetadataChanges({}, {"a": "1"}, [])) is True
    assert needs_fresh_read(MetadataChanges({}, {}, ["a"])) is True


def test_a_failed_case_counts_as_failed_only():
    done = MetadataChanges({"a": "1"}, {}, [])
    entries = [
        case_entry(1, {"a": "1"}, done, True),
        case_entry(2, {}, MetadataChanges({}, {}, []), False),
        case_entry(3, {"a": "1"}, done, True, "PUT failed"),
        case_entry(4, None, None, False, "GET failed"),
    ]
    assert summary_of(entries) == {"total": 4, "changed": 1, "unchanged": 1, "failed": 2}
    assert entries[3] == {
        "case_id": 4,
        "changed": False,
        "metadata": None,
        "added": {},
        "updated": {},
        "removed": [],
        "failed": True,
        "msg": "GET failed",
    }


def test_the_message_names_the_first_three_failures_and_counts_the_rest():
    entries = [case_entry(n, None, None, False, "HTTP 404") for n in (11, 12, 13, 14, 15)]
    entries.insert(1, case_entry(10, {}, None, False))
    assert failure_message(entries) == (
        "5 of 6 cases failed: case 11: HTTP 404; case 12: HTTP 404; case 13: HTTP 404 (and 2 more: see cases)"
    )
    assert failure_message(entries[:2]) == "1 of 2 cases failed: case 11: HTTP 404"


def test_one_diff_per_changed_case_headed_with_its_number():
    entries = [
        case_entry(1, {"a": "1"}, MetadataChanges({"a": "1"}, {}, []), True),
        case_entry(2, {}, MetadataChanges({}, {}, []), False),
    ]
    assert case_diffs(entries, {1: {}, 2: {}}) == [
        {"before_header": "case 1", "after_header": "case 1", "before": {}, "after": {"a": "1"}}
    ]


def test_progress_says_how_far_how_fast_and_how_long_still():
    assert progress_line(250, 1000, 240, 2, 500, 30.0) == (
        "250/1000 cases done, 240 changed, 2 failed, 1000 requests/min, about 90 s left"
    )
    assert (
        progress_line(0, 10, 0, 0, 1, 10.0) == "0/10 cases done, 0 changed, 0 failed, 6 requests/min, time left unknown"
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (dict(case_ids=[1], cases=[{"case_id": 1}]), "(got cases and case_ids)"),
        (dict(team_id=7, cases=[{"case_id": 1}]), "(got cases and filters/team_id)"),
        (dict(metadata={"a": "b"}), "(none given)"),
        (dict(team_id=7), "metadata is required with filters/team_id"),
        (dict(case_ids=[1], metadata={}, state="absent", purge=True), "purge applies to state=present only"),
        (dict(case_ids=[1], metadata={}, concurrency=0), "concurrency must be 1 or more, got 0"),
    ],
)
def test_the_task_input_is_checked_before_any_request(given, message):
    with pytest.raises(TinesError) as raised:
        check_batch_input(params(**given))
    assert message in str(raised.value)


def test_the_ways_to_choose():
    by_filters = check_batch_input(params(filters={"status": "OPEN"}, team_id=7, metadata={"a": 1}))
    assert (by_filters.chosen, by_filters.query.filters, by_filters.query.team_id) == (None, {"status": "OPEN"}, 7)
    assert (by_filters.desired, by_filters.concurrency) == ({"a": "1"}, 16)
    by_items = check_batch_input(params(cases=[{"case_id": 3}], concurrency=4))
    assert (by_items.chosen, by_items.query, by_items.desired, by_items.concurrency) == (
        [BatchCase(3, {})],
        None,
        {},
        4,
    )
    by_ids = check_batch_input(params(case_ids=["3", 4], metadata={"a": None}, state="absent"))
    assert by_ids.chosen == [BatchCase(3, {"a": None}), BatchCase(4, {"a": None})]
