"""The case_events source's pure decisions: what a poll emits, the watermark, what is forgotten, the state file."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.tines.cases.plugins.module_utils._case_events_plan import (
    CaseAnswerError,
    CaseEventsInputError,
    Watch,
    advance,
    check_interval,
    check_since,
    event_body,
    new_events,
    page_size,
    parse_time,
    reaches_watermark,
    remember,
    start_watch,
    state_document,
    state_identity,
    time_text,
    watch_from_document,
)

UTC = datetime.timezone.utc


def at(minute, second=0, micro=0):
    """A time on 2026-12-03 from 10:00 UTC."""
    return datetime.datetime(2026, 12, 3, 10, minute, second, micro, tzinfo=UTC)


def case(case_id, updated, created=None, **fields):
    """A listed case; times given as minutes (and seconds) after 10:00."""
    return {
        "case_id": case_id,
        "updated_at": "2026-12-03T10:%02d:%02d.000Z" % updated,
        "created_at": "2026-12-03T10:%02d:%02d.000Z" % (created or (0, 0)),
        **fields,
    }


def summary(events):
    return [(event.key, event.change) for event in events]


# --- times ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T10:05:00Z", at(5)),
        ("2026-12-03T10:05:00.123Z", at(5, 0, 123000)),
        ("2026-12-03T10:05:00.1234567Z", at(5, 0, 123456)),
        ("2026-12-03T11:05:00+01:00", at(5)),
        ("2026-12-03T09:35:00-0030", at(5)),
        ("2026-12-03T10:05:00+00", at(5)),
        ("2026-12-03 10:05", at(5)),
        ("2026-12-03T10:05:00", at(5)),
        ("2026-12-03", datetime.datetime(2026, 12, 3, tzinfo=UTC)),
        ("  2026-12-03T10:05:00z ", at(5)),
        (datetime.datetime(2026, 12, 3, 12, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))), at(5)),
        (datetime.datetime(2026, 12, 3, 10, 5), at(5)),
        (datetime.date(2026, 12, 3), datetime.datetime(2026, 12, 3, tzinfo=UTC)),
    ],
)
def test_times_read_as_utc(text, expected):
    parsed = parse_time(text, "since")
    assert parsed == expected
    assert parsed.utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "2026-12-03T25:00", "", None, 5])
def test_times_that_are_not_iso_8601_are_refused(text):
    with pytest.raises(ValueError, match="since"):
        parse_time(text, "since")


def test_time_text_is_utc_with_microseconds():
    moment = datetime.datetime(2026, 12, 3, 11, 5, 0, 120000, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert time_text(moment) == "2026-12-03T10:05:00.120000Z"


# --- options ----------------------------------------------------------------------


def test_since_defaults_to_now():
    assert check_since(None, at(7)) == at(7)
    assert check_since("  ", at(7)) == at(7)
    assert check_since("2026-12-03T10:01:00Z", at(7)) == at(1)


def test_since_that_is_not_a_time_is_refused():
    with pytest.raises(CaseEventsInputError, match="since must be an ISO 8601 time.*'last week'"):
        check_since("last week", at(7))


@pytest.mark.parametrize("interval", [0, -1, True, "60", None])
def test_interval_must_be_positive(interval):
    with pytest.raises(CaseEventsInputError, match="interval must be a positive number"):
        check_interval(interval)


def test_interval_may_be_a_fraction():
    assert check_interval(0.5) == 0.5


# --- what a poll emits ------------------------------------------------------------


def test_first_poll_reports_cases_updated_after_since():
    watch = start_watch(at(5))
    cases = [case(3, (6, 0), (5, 30)), case(2, (5, 10), (1, 0)), case(1, (5, 0), (0, 0)), case(4, (4, 0), (4, 0))]
    assert summary(new_events(watch, cases)) == [("2", "updated"), ("3", "new")]


def test_events_come_oldest_change_first_and_carry_the_case_as_listed():
    watch = start_watch(at(0))
    listed = case(9, (3, 0), (2, 0), metadata={"source": "edr"}, status="OPEN")
    events = new_events(watch, [case(10, (4, 0), (3, 0)), listed, case(8, (3, 0), (1, 0))])
    assert summary(events) == [("8", "new"), ("9", "new"), ("10", "new")]
    assert event_body(events[1]) == {"case": listed, "change": "new"}


def test_a_case_reported_before_is_reported_again_only_when_its_updated_at_moved():
    watch = Watch(at(0), at(0), at(5), {"1": at(5), "2": at(4)})
    cases = [case(2, (6, 0), (3, 0)), case(1, (5, 0), (3, 0))]
    assert summary(new_events(watch, cases)) == [("2", "updated")]


def test_a_listing_older_than_what_was_reported_is_ignored():
    watch = Watch(at(0), at(0), at(5), {"1": at(5)})
    assert new_events(watch, [case(1, (4, 0), (3, 0))]) == []


def test_a_case_listed_twice_in_one_poll_makes_one_event_with_its_latest_version():
    watch = start_watch(at(0))
    events = new_events(watch, [case(1, (2, 0), (1, 0), name="second"), case(1, (1, 30), (1, 0), name="first")])
    assert summary(events) == [("1", "new")]
    assert events[0].case["name"] == "second"


def test_new_means_created_after_the_watermark_and_not_reported_before():
    watch = Watch(at(0), at(3), at(4), {"5": at(4)})
    cases = [case(5, (6, 0), (3, 30)), case(6, (6, 0), (3, 30)), case(7, (6, 0), (3, 0)), case(8, (6, 0), (2, 0))]
    assert summary(new_events(watch, cases)) == [("5", "updated"), ("6", "new"), ("7", "updated"), ("8", "updated")]


def test_case_numbers_as_strings_are_one_case():
    watch = Watch(at(0), at(0), at(5), {"12": at(5)})
    assert new_events(watch, [case("12", (5, 0), (1, 0))]) == []


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ({"updated_at": "2026-12-03T10:00:00Z", "created_at": "2026-12-03T10:00:00Z"}, "case_id None"),
        ({"case_id": True, "updated_at": "2026-12-03T10:00:00Z"}, "case_id True"),
        ({"case_id": 3, "created_at": "2026-12-03T10:00:00Z"}, "case 3: updated_at must be an ISO 8601 time"),
        ({"case_id": 3, "updated_at": "2026-12-03T10:00:00Z", "created_at": "soon"}, "case 3: created_at"),
    ],
)
def test_a_case_without_its_number_or_times_is_an_answer_error(listed, message):
    with pytest.raises(CaseAnswerError, match=message):
        new_events(start_watch(at(0)), [listed])


# --- paging -----------------------------------------------------------------------


def test_a_page_reaches_the_watermark_with_a_case_updated_at_or_before_it():
    watch = Watch(at(0), at(5), None, {})
    assert reaches_watermark(watch, [case(1, (7, 0)), case(2, (5, 0))])
    assert not reaches_watermark(watch, [case(1, (7, 0)), case(2, (5, 1))])
    assert not reaches_watermark(watch, [])


def test_reaching_the_watermark_checks_every_case_of_the_page():
    watch = Watch(at(0), at(5), None, {})
    with pytest.raises(CaseAnswerError):
        reaches_watermark(watch, [case(1, (4, 0)), {"case_id": 2}])


def test_pages_hold_the_remembered_cases_and_twenty_more_up_to_500():
    assert page_size(start_watch(at(0))) == 20
    assert page_size(Watch(at(0), at(0), at(1), {str(n): at(1) for n in range(1, 8)})) == 27
    assert page_size(Watch(at(0), at(0), at(1), {str(n): at(1) for n in range(1, 600)})) == 500


# --- the watermark and what is forgotten --------------------------------------------


def test_remember_records_each_reported_version():
    watch = Watch(at(0), at(0), None, {"1": at(2)})
    events = new_events(watch, [case(1, (3, 0)), case(2, (2, 30))])
    assert remember(watch, events).seen == {"1": at(3), "2": at(2, 30)}
    assert watch.seen == {"1": at(2)}


def test_watermark_trails_the_poll_by_a_minute_and_forgets_what_it_passes():
    watch = Watch(at(0), at(0), at(2), {"1": at(2), "2": at(7, 30), "3": at(9)})
    after = advance(watch, [case(3, (9, 0)), case(2, (7, 30)), case(1, (2, 0))], poll_started=at(9, 30))
    assert after == Watch(at(0), at(8, 30), at(9), {"3": at(9)})


def test_watermark_never_passes_the_newest_update_the_tenant_showed():
    watch = Watch(at(0), at(0), None, {"1": at(2)})
    after = advance(watch, [case(1, (2, 0)), case(4, (1, 0))], poll_started=at(30))
    assert after == Watch(at(0), at(2), at(2), {})


def test_watermark_never_moves_back():
    watch = Watch(at(0), at(8), at(9), {"1": at(9)})
    after = advance(watch, [case(1, (9, 0))], poll_started=at(1))
    assert after.watermark == at(8)


def test_watermark_stays_at_since_until_updates_after_it():
    watch = start_watch(at(10))
    after = advance(watch, [case(1, (2, 0))], poll_started=at(40))
    assert after == Watch(at(10), at(10), at(2), {})


def test_an_empty_list_leaves_the_watermark():
    watch = start_watch(at(10))
    assert advance(watch, [], poll_started=at(40)) == watch


def test_memory_holds_about_a_minute_of_changes_however_many_were_reported():
    """50 changes a minute for an hour, polled every minute: only the changes of the last minute stay."""
    watch = start_watch(at(0))
    sizes = set()
    for minute in range(1, 60):
        cases = [case(minute * 100 + n, (minute - 1, n)) for n in range(0, 50)]
        watch = remember(watch, new_events(watch, cases))
        watch = advance(watch, cases, poll_started=at(minute))
        sizes.add(len(watch.seen))
    assert sizes == {49}
    assert watch.watermark == at(58)


# --- the state file ---------------------------------------------------------------

IDENTITY = state_identity("https://acme.tines.com", 7, {"status": "OPEN", "metadata": {"source": "edr"}})


def test_state_document_holds_the_identity_and_the_watch():
    watch = Watch(at(0), at(3), at(4, 30), {"12": at(4, 30), "9": at(4)})
    assert state_document(watch, IDENTITY) == {
        "source": "tines.cases.case_events",
        "version": 1,
        "tenant_url": "https://acme.tines.com",
        "team_id": 7,
        "filters": {"status": "OPEN", "metadata": {"source": "edr"}},
        "since": "2026-12-03T10:00:00.000000Z",
        "watermark": "2026-12-03T10:03:00.000000Z",
        "newest": "2026-12-03T10:04:30.000000Z",
        "seen": {"9": "2026-12-03T10:04:00.000000Z", "12": "2026-12-03T10:04:30.000000Z"},
    }


def test_state_document_reads_back_as_the_same_watch():
    watch = Watch(at(0), at(3), None, {"12": at(4, 30, 250)})
    assert watch_from_document(state_document(watch, IDENTITY), IDENTITY, "state.json") == watch


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tenant_url": "https://other.tines.com"}, "was written for tenant_url 'https://other.tines.com', not "),
        ({"team_id": None}, "was written for team_id \\(none\\), not 7"),
        ({"filters": {"status": "OPEN"}}, "was written for filters \\{'status': 'OPEN'\\}"),
    ],
)
def test_a_state_file_of_another_watch_is_refused(change, message):
    document = {**state_document(start_watch(at(0)), IDENTITY), **change}
    with pytest.raises(CaseEventsInputError, match="state_file s.json " + message):
        watch_from_document(document, IDENTITY, "s.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": "something.else"}, "is not a state file of tines.cases.case_events"),
        ({"version": 2}, "has version 2; this release reads version 1"),
        ({"watermark": "later"}, "cannot be read: watermark must be an ISO 8601 time"),
        ({"seen": {"x": "2026-12-03T10:00:00Z"}}, "cannot be read: seen must map case numbers to times"),
        ({"seen": ["1"]}, "cannot be read: seen must map case numbers to times"),
    ],
)
def test_a_state_file_that_is_not_readable_is_refused(change, message):
    document = {**state_document(start_watch(at(0)), IDENTITY), **change}
    with pytest.raises(CaseEventsInputError, match="state_file s.json " + message):
        watch_from_document(document, IDENTITY, "s.json")


def test_a_document_that_is_not_an_object_is_refused():
    with pytest.raises(CaseEventsInputError, match="is not a state file"):
        watch_from_document(["x"], IDENTITY, "s.json")
