"""tines_case_metadata_batch on both paths: each way of choosing cases, which requests each case costs, failures.

The requests of each task are read from the simulator's log. Writes of different
cases run concurrently, so their order between cases is not pinned: each task's
requests are compared per case, in the order that case got them.
"""

from __future__ import annotations

import pytest
from helpers.plays import BATCH, DELETE, GET, LIST_PATH, POST, PUT, lifecycle, play, task
from tines_sim import parse_query  # on sys.path through conftest.py

OPEN_EDR = {case_id: {"status": "OPEN", "metadata": {"source": "edr"}} for case_id in range(101, 107)}
CLOSED_EDR = {case_id: {"status": "CLOSED", "metadata": {"source": "edr"}} for case_id in (107, 108)}
OPEN_SIEM = {case_id: {"status": "OPEN", "metadata": {"source": "siem"}} for case_id in (109, 110)}
SEED = {**OPEN_EDR, **CLOSED_EDR, **OPEN_SIEM}


def list_queries(out, name):
    """The decoded query of each list request the task sent."""
    return [parse_query(entry["query_string"]) for entry in out.requests(name) if entry["path"] == LIST_PATH]


def per_case(out, name):
    """{case_id: [(method, path, body), ...]} of the task's case requests, each case's in the order it sent them."""
    calls = {}
    for method, path, body in out.calls(name):
        if path != LIST_PATH:
            calls.setdefault(int(path.split("/")[4]), []).append((method, path, body))
    return calls


def entries(result):
    return {entry["case_id"]: entry for entry in result["cases"]}


def ok(out, name):
    result = out.task(name)
    assert result.get("failed") is not True, (name, result.get("msg"), out)
    return result


@pytest.fixture(autouse=True)
def seed(sim):
    sim.reset(cases=SEED)


def test_add_only_sweeps_cost_the_list_pages_and_one_post_per_case(plays, sim):
    by_filters = dict(filters={"status": "OPEN", "metadata": {"source": "edr"}}, metadata={"triage": "t1"})
    by_ids = dict(case_ids=[109, 110, 101], metadata={"owner": "blue"})
    by_items = dict(
        cases=[{"case_id": 107, "metadata": {"triage": "t9"}}, {"case_id": 108}],
        metadata={"triage": "t1", "owner": "red"},
    )
    out = plays.run(
        play(
            lifecycle("filters", BATCH, diff=False, **by_filters)
            + lifecycle("ids", BATCH, diff=False, **by_ids)
            + lifecycle("items", BATCH, diff=False, **by_items)
        )
    )
    assert out.rc == 0, out

    expected = {
        "filters": {case_id: {"triage": "t1"} for case_id in range(101, 107)},
        "ids": {109: {"owner": "blue"}, 110: {"owner": "blue"}, 101: {"owner": "blue"}},
        "items": {107: {"triage": "t9", "owner": "red"}, 108: {"triage": "t1", "owner": "red"}},
    }
    for prefix, added in expected.items():
        check, apply = ok(out, f"{prefix}: check"), ok(out, f"{prefix}: apply")
        assert [entry["case_id"] for entry in apply["cases"]] == list(added), prefix
        assert {case_id: entry["added"] for case_id, entry in entries(apply).items()} == added, prefix
        assert apply["summary"] == {"total": len(added), "changed": len(added), "unchanged": 0, "failed": 0}
        assert (check["cases"], check["summary"], check["changed"]) == (apply["cases"], apply["summary"], True)
        assert per_case(out, f"{prefix}: check") == {}, "check mode reads the list only"
        assert per_case(out, f"{prefix}: apply") == {
            case_id: [POST(case_id, pairs)] for case_id, pairs in added.items()
        }, "no per-case GET before an add-only POST"
        for step in ("check again", "apply again"):
            again = ok(out, f"{prefix}: {step}")
            assert again["changed"] is False and again["summary"]["unchanged"] == len(added), (prefix, step)
            assert [entry["added"] for entry in again["cases"]] == [{}] * len(added)
            assert per_case(out, f"{prefix}: {step}") == {}, "a second run costs the list pages only"
            assert len(list_queries(out, f"{prefix}: {step}")) == 1
    assert list_queries(out, "ids: apply") == [
        {"page": "1", "per_page": "500", "filters": {"case_ids": ["109", "110", "101"]}}
    ]
    assert list_queries(out, "filters: apply") == [
        {"page": "1", "per_page": "500", "filters": {"status": "OPEN", "metadata": {"source": "edr"}}}
    ]
    assert sim.get_case(101) == {"source": "edr", "triage": "t1", "owner": "blue"}
    assert sim.get_case(107) == {"source": "edr", "triage": "t9", "owner": "red"}
    assert sim.get_case(110) == {"source": "siem", "owner": "blue"}


def test_changes_and_removals_are_decided_from_a_fresh_read(plays, sim):
    sim.reset(cases={301: {"a": "1", "b": "2"}, 302: {"a": "9"}, 303: {}})
    overwrite = dict(case_ids=[301, 302, 303], metadata={"a": 1, "c": "3"}, overwrite=True)
    purge = dict(cases=[{"case_id": 301, "metadata": {"a": "1"}}], purge=True)
    absent = dict(case_ids=[302, 303], state="absent", metadata={"c": None})
    tasks = []
    for prefix, arguments in (("overwrite", overwrite), ("purge", purge), ("absent", absent)):
        tasks += [
            task(f"{prefix}: check", BATCH, check_mode=True, diff=True, **arguments),
            task(f"{prefix}: apply", BATCH, diff=True, **arguments),
            task(f"{prefix}: apply again", BATCH, **arguments),
        ]
    out = plays.run(play(tasks))
    assert out.rc == 0, out

    assert per_case(out, "overwrite: apply") == {
        301: [POST(301, {"c": "3"})],
        302: [GET(302), POST(302, {"c": "3"}), PUT(302, {"a": "1"})],
        303: [POST(303, {"a": "1", "c": "3"})],
    }
    assert per_case(out, "overwrite: check") == {302: [GET(302)]}, "the reads a real run makes, no write"
    assert entries(ok(out, "overwrite: apply"))[302]["updated"] == {"a": "1"}
    assert per_case(out, "purge: apply") == {301: [GET(301), DELETE(301, ["b", "c"])]}
    assert per_case(out, "absent: apply") == {302: [GET(302), DELETE(302, ["c"])], 303: [GET(303), DELETE(303, ["c"])]}
    for prefix in ("overwrite", "purge", "absent"):
        check, apply = ok(out, f"{prefix}: check"), ok(out, f"{prefix}: apply")
        assert (check["cases"], check["summary"]) == (apply["cases"], apply["summary"]), prefix
        assert check["diff"] == apply["diff"], prefix
        again = ok(out, f"{prefix}: apply again")
        assert again["changed"] is False, prefix
    assert ok(out, "purge: apply")["diff"] == [
        {
            "before_header": "case 301",
            "after_header": "case 301",
            "before": {"a": "1", "b": "2", "c": "3"},
            "after": {"a": "1"},
        }
    ]
    assert ok(out, "absent: apply")["summary"] == {"total": 2, "changed": 2, "unchanged": 0, "failed": 0}
    assert sim.cases == {301: {"a": "1"}, 302: {"a": "1"}, 303: {"a": "1"}}


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        ("ignore_filters", "the tenant's case list did not apply filters[case_ids][]; each case is read"),
        ("list_metadata", "the tenant's case list does not show the cases' metadata"),
    ],
)
def test_a_list_that_cannot_be_trusted_falls_back_to_one_read_per_case(plays, sim, option, reason):
    sim.set_options(**{option: option == "ignore_filters"})
    out = plays.run(play([task("tag two cases", BATCH, case_ids=[110, 109], metadata={"owner": "blue"})]))
    assert out.rc == 0, out
    result = ok(out, "tag two cases")
    assert any(warning.startswith(reason) for warning in result.get("warnings", [])), result.get("warnings")
    assert per_case(out, "tag two cases") == {
        110: [GET(110), POST(110, {"owner": "blue"})],
        109: [GET(109), POST(109, {"owner": "blue"})],
    }
    assert {case_id for case_id, metadata in sim.cases.items() if "owner" in metadata} == {109, 110}


def test_failed_cases_fail_the_task_after_every_other_case_is_done(plays, sim):
    sim.add_fault(method="PUT", path_contains="/cases/109/", status=422)
    out = plays.run(
        play(
            [
                task("tag four", BATCH, case_ids=[101, 999, 102, 998], metadata={"owner": "blue"}, ignore_errors=True),
                task(
                    "a refused change after an add",
                    BATCH,
                    case_ids=[109, 110],
                    metadata={"source": "edr", "owner": "red"},
                    overwrite=True,
                    ignore_errors=True,
                ),
            ]
        )
    )
    assert out.status("tag four") == "failed", out
    result = out.task("tag four")
    assert result["msg"].startswith(
        "2 of 4 cases failed: case 999: GET /api/v2/cases/999/metadata failed with HTTP 404"
    )
    assert "; case 998: GET /api/v2/cases/998/metadata failed with HTTP 404" in result["msg"]
    assert result["summary"] == {"total": 4, "changed": 2, "unchanged": 0, "failed": 2}
    assert [(entry["case_id"], entry["changed"], entry.get("failed", False)) for entry in result["cases"]] == [
        (101, True, False),
        (999, False, True),
        (102, True, False),
        (998, False, True),
    ]
    assert entries(result)[999]["metadata"] is None
    assert sim.get_case(101)["owner"] == sim.get_case(102)["owner"] == "blue"

    assert out.status("a refused change after an add") == "failed", out
    partly = out.task("a refused change after an add")
    assert partly["changed"] is True, "the add went through"
    assert partly["summary"] == {"total": 2, "changed": 1, "unchanged": 0, "failed": 1}
    refused = entries(partly)[109]
    assert (refused["changed"], refused["failed"], refused["added"], refused["updated"]) == (
        True,
        True,
        {"owner": "red"},
        {},
    )
    assert refused["metadata"] == {"source": "siem", "owner": "red"} == sim.get_case(109)
    assert refused["msg"].startswith("PUT /api/v2/cases/109/metadata failed with HTTP 422")


def test_requests_in_flight_share_the_rate_budget(plays, sim):
    sim.reset(cases={case_id: {} for case_id in range(1, 151)})
    sim.set_options(rate_limit=30, rate_window=2.0)
    out = plays.run(
        play(
            [
                task(
                    "tag 150 cases",
                    BATCH,
                    filters={"case_ids": list(range(1, 151))},
                    metadata={"owner": "blue"},
                    concurrency=16,
                    rate_limit=30,
                    rate_limit_window=2.0,
                )
            ]
        )
    )
    assert out.rc == 0, out
    assert ok(out, "tag 150 cases")["summary"] == {"total": 150, "changed": 150, "unchanged": 0, "failed": 0}
    stats = sim.rate_stats()[sim.api_key]
    assert stats["accepted"] == 151, stats
    # A budget that does not pace gets more than 150 of them refused.
    assert stats["refused"] <= 3, f"at most 2 % of 151 requests refused: {stats}"


def test_bad_input_is_refused_before_any_request(plays, sim):
    refusals = {
        "two ways to choose": dict(case_ids=[101], filters={"status": "OPEN"}, metadata={"a": "b"}),
        "no way to choose": dict(metadata={"a": "b"}),
        "an item without case_id": dict(cases=[{"case_id": 101}, {"metadata": {"a": "b"}}]),
        "a case twice": dict(case_ids=[101, 102, 101], metadata={"a": "b"}),
        "an item that is not a dictionary": dict(cases=[101]),
        "an item with other keys": dict(cases=[{"case_id": 101, "name": "x"}]),
        "metadata missing": dict(case_ids=[101]),
        "no concurrency": dict(case_ids=[101], metadata={"a": "b"}, concurrency=0),
        "a nested value": dict(case_ids=[101], metadata={"a": {"b": "c"}}),
    }
    out = plays.run(play([task(name, BATCH, ignore_errors=True, **arguments) for name, arguments in refusals.items()]))
    messages = {name: out.task(name)["msg"] for name in refusals}
    assert messages == {
        "two ways to choose": "choose the cases in exactly one way: cases, case_ids, or filters and/or team_id "
        "(got case_ids and filters/team_id)",
        "no way to choose": "choose the cases in exactly one way: cases, case_ids, or filters and/or team_id "
        "(none given)",
        "an item without case_id": "cases[1] has no case_id",
        "a case twice": "case 101 is chosen more than once; each case may appear once",
        "an item that is not a dictionary": "cases[0] must be a dictionary with case_id and metadata, got 101",
        "an item with other keys": "cases[0] holds name besides case_id and metadata; to act on listed cases, "
        "choose them with case_ids or filters",
        "metadata missing": "metadata is required with case_ids: the pairs every chosen case must have",
        "no concurrency": "concurrency must be 1 or more, got 0",
        "a nested value": "metadata value for key 'a' must be a string, number, boolean or date, got a dictionary",
    }
    assert sim.log == [], "no request at all"


def test_diff_output_and_no_key_anywhere(plays, sim):
    out = plays.run(
        play(
            [
                task("tag", BATCH, case_ids=[101, 102], metadata={"owner": "blue"}),
                task(
                    "tag with a missing case",
                    BATCH,
                    case_ids=[103, 999],
                    metadata={"owner": "blue"},
                    ignore_errors=True,
                ),
            ]
        ),
        diff=True,
        verbosity=3,
    )
    assert out.status("tag") == "changed" and out.status("tag with a missing case") == "failed", out
    for case_id in (101, 102):
        assert f"--- before: case {case_id}\n+++ after: case {case_id}\n" in out.stdout, out
    assert "before: case 999" not in out.stdout, "a case that failed before any write has no diff"
    assert sim.api_key not in out.stdout + out.result.stderr


@pytest.mark.long_running
def test_a_long_run_reports_its_progress_at_v(plays, sim, ansible_path):
    if ansible_path != "inprocess":
        pytest.skip("a module cannot print while it runs: progress is shown in-process only")
    sim.reset(cases={case_id: {} for case_id in range(1, 61)})
    sim.set_options(latency=0.2)
    out = plays.run(
        play([task("tag slowly", BATCH, case_ids=list(range(1, 61)), metadata={"owner": "blue"}, concurrency=1)]),
        verbosity=1,
    )
    assert out.rc == 0, out
    lines = [line for line in out.stdout.splitlines() if line.startswith(f"{BATCH}: ")]
    assert lines, out
    assert lines[0].endswith(" s left") and " cases done, " in lines[0] and "/60 cases done" in lines[0], lines
