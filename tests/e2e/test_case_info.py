"""tines_case_info on both paths: paging, limit, every kind of filter, the ignored-filter guard, bad input, a pipeline.

Each list request is decoded from the simulator's log with the simulator's own
query parser, so a test states which pages were asked for with which filters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.plays import CI, GET, LIST_PATH, POST, listed, page, play, queries, refused_listing, task
from tines_sim import Simulator, parse_query  # on sys.path through conftest.py

LIST = ("GET", LIST_PATH, None)
FIND_AND_TAG = Path(__file__).resolve().parents[2] / "examples" / "find_and_tag.yml"

SECOPS = {"id": 7, "name": "SecOps"}
FRAUD = {"id": 3, "name": "Fraud"}
RECORDS = {
    318: {
        "name": "Beacon on host-44",
        "status": "OPEN",
        "priority": "HIGH",
        "team": SECOPS,
        "tags": ["edr", "beacon"],
        "metadata": {"source": "edr", "ticket": "OPS-7781"},
    },
    319: {
        "name": "Phishing report from j.doe",
        "priority": "MEDIUM",
        "team": SECOPS,
        "tags": ["phishing"],
        "metadata": {"source": "mail"},
    },
    320: {"name": "Beacon on host-12", "status": "CLOSED", "priority": "HIGH", "team": SECOPS, "tags": ["edr"]},
    321: {"name": "Impossible travel", "priority": "LOW", "team": FRAUD, "metadata": {"source": "siem"}},
    322: {
        "name": "Malware on host-44",
        "priority": "CRITICAL",
        "team": FRAUD,
        "tags": ["edr", "malware"],
        "metadata": {"source": "edr"},
    },
    323: {"name": "Old phishing wave", "status": "CLOSED", "priority": "INFO", "team": SECOPS, "tags": ["phishing"]},
}
RECORDS[320]["metadata"] = {"source": "edr"}
RECORDS[323]["metadata"] = {}
# 1,100 cases: three pages of 500.
MANY = {n: {"name": f"Alert {n}", "status": "CLOSED" if n % 4 == 0 else "OPEN", "metadata": {}} for n in range(1, 1101)}


def test_pages_of_500_and_the_limit(plays, sim):
    sim.reset(cases=MANY)
    out = plays.run(
        play(
            [
                task("every case", CI),
                task("five cases", CI, limit=5),
                task("700 cases", CI, limit=700),
                task("open cases in check mode", CI, filters={"status": "OPEN"}, check_mode=True),
            ]
        )
    )
    assert out.rc == 0, out
    assert listed(out, "every case") == list(range(1, 1101))
    # Every case exactly as the tenant lists it, nothing left out or added.
    assert out.task("every case")["cases"] == [sim.get_case_record(n) for n in range(1, 1101)]
    assert queries(out, "every case") == [page(1), page(2), page(3)]
    assert listed(out, "five cases") == [1, 2, 3, 4, 5]
    assert queries(out, "five cases") == [page(1, 5)]
    assert listed(out, "700 cases") == list(range(1, 701))
    assert queries(out, "700 cases") == [page(1), page(2)]
    assert listed(out, "open cases in check mode") == [n for n in range(1, 1101) if n % 4]
    assert queries(out, "open cases in check mode") == [page(n, filters={"status": "OPEN"}) for n in (1, 2)], (
        "825 open cases: two pages, and no other request"
    )
    assert {entry["method"] for entry in sim.log} == {"GET"}


def test_an_older_tenant_with_50_per_page(plays, sim):
    sim.reset(cases=MANY)
    sim.set_options(max_per_page=50)
    out = plays.run(play([task("every case", CI), task("120 cases", CI, limit=120)]))
    assert out.rc == 0, out
    assert listed(out, "every case") == list(range(1, 1101))
    assert queries(out, "every case") == [page(n) for n in range(1, 23)]
    assert listed(out, "120 cases") == list(range(1, 121))
    assert queries(out, "120 cases") == [page(n, 120) for n in (1, 2, 3)]


@pytest.mark.long_running
def test_each_filter(plays, sim):
    sim.reset(cases=RECORDS)
    out = plays.run(
        play(
            [
                task("status", CI, filters={"status": "OPEN"}),
                task("status in lower case", CI, filters={"status": "closed"}),
                task("case_ids", CI, filters={"case_ids": [318, 322]}),
                task("one case id", CI, filters={"case_ids": 320}),
                task("metadata", CI, filters={"metadata": {"source": "edr"}}),
                task("team_id", CI, team_id=3),
                task("priority", CI, filters={"priority": "HIGH"}),
                task("tags", CI, filters={"tags": ["phishing"]}),
                task("search", CI, filters={"search": "host-44"}),
                task(
                    "together",
                    CI,
                    team_id=7,
                    filters={"status": "OPEN", "or_tags": ["edr", "phishing"], "search": "beacon"},
                ),
                task("ordered and limited", CI, order="PRIORITY_DESC", limit=2),
                task("nothing matches", CI, filters={"metadata": {"source": "nowhere"}}),
                task("nothing matches a search", CI, filters={"search": "no such case"}),
                task("in check mode", CI, filters={"status": "OPEN"}, check_mode=True),
                task("with a read-only key", CI, filters={"case_ids": [319]}, api_key="{{ tines_read_only_key }}"),
                task("a tag filter that matches every case", CI, filters={"exclude_tags": ["never-used"]}),
                task("a search that matches every case", CI, filters={"search": "3"}, ignore_errors=True),
            ]
        )
    )
    assert out.rc == 0, out
    for name, cases, query in (
        ("status", [318, 319, 321, 322], page(1, filters={"status": "OPEN"})),
        ("status in lower case", [320, 323], page(1, filters={"status": "closed"})),
        ("case_ids", [318, 322], page(1, filters={"case_ids": ["318", "322"]})),
        ("one case id", [320], page(1, filters={"case_ids": ["320"]})),
        ("metadata", [318, 320, 322], page(1, filters={"metadata": {"source": "edr"}})),
        ("team_id", [321, 322], page(1, team_id="3")),
        ("priority", [318, 320], page(1, filters={"priority": "HIGH"})),
        ("tags", [319, 323], page(1, filters={"tags": ["phishing"]})),
        ("a tag filter that matches every case", sorted(RECORDS), page(1, filters={"exclude_tags": ["never-used"]})),
        ("ordered and limited", [322, 318], page(1, 2, order="PRIORITY_DESC")),
        ("nothing matches", [], page(1, filters={"metadata": {"source": "nowhere"}})),
        ("in check mode", [318, 319, 321, 322], page(1, filters={"status": "OPEN"})),
        ("with a read-only key", [319], page(1, filters={"case_ids": ["319"]})),
    ):
        assert listed(out, name) == cases, name
        assert queries(out, name) == [query], name
    assert out.task("status")["cases"] == [sim.get_case_record(n) for n in (318, 319, 321, 322)]

    # No listed case can show search: one more request first, the count of the list without it, the others the same.
    assert listed(out, "search") == [318, 322]
    assert queries(out, "search") == [page(1, 1), page(1, filters={"search": "host-44"})]
    # An empty list needs no evidence, but the count came first.
    assert listed(out, "nothing matches a search") == []
    assert queries(out, "nothing matches a search") == [page(1, 1), page(1, filters={"search": "no such case"})]
    together = {"status": "OPEN", "or_tags": ["edr", "phishing"]}
    assert listed(out, "together") == [318]
    assert queries(out, "together") == [
        page(1, 1, team_id="7", filters=together),
        page(1, team_id="7", filters={**together, "search": "beacon"}),
    ]

    # A filter no case can show that matches every case cannot be told from one the tenant ignored.
    assert refused_listing(out, "a search that matches every case").startswith(
        "cannot confirm that the tenant applied filters.search: the listed cases cannot show it, and without it the "
        "list holds no more cases than with all the filters (6, against 6 with them)."
    )
    assert {entry["method"] for entry in sim.log} == {"GET"}


def test_ignored_filters_fail_and_return_no_cases(plays, sim):
    sim.reset(cases=RECORDS)
    sim.set_options(ignore_filters=True, max_per_page=2)
    other_team = {**sim.get_case_record(321)}
    sim.add_fault(
        method="GET",
        path_contains="/api/v2/cases",
        status=200,
        body={"cases": [other_team], "meta": {"next_page": None, "next_page_number": None, "count": 1}},
    )
    out = plays.run(
        play(
            [
                task("team_id ignored", CI, team_id=7, ignore_errors=True),
                task("status ignored", CI, filters={"status": "OPEN"}, ignore_errors=True),
                task("metadata ignored", CI, filters={"metadata": {"source": "edr"}}, ignore_errors=True),
                task("case_ids ignored", CI, filters={"case_ids": [318]}, ignore_errors=True),
                task("priority ignored", CI, filters={"priority": "HIGH"}, ignore_errors=True),
                task(
                    "status ignored within a team",
                    CI,
                    team_id=7,
                    filters={"status": "CLOSED", "search": "x"},
                    ignore_errors=True,
                ),
                task("tags ignored", CI, filters={"tags": ["phishing"]}, ignore_errors=True),
                task("search ignored", CI, filters={"search": "host-44"}, ignore_errors=True),
                task("no filters at all", CI),
            ]
        )
    )
    assert out.rc == 0, out
    encoding = " The module sends filters in the query string as filters[name]=value"
    for name, message in (
        (
            "team_id ignored",
            "the tenant did not apply team_id: case 321 belongs to team 3, not 7. No cases are returned",
        ),
        ("status ignored", "the tenant did not apply filters.status: case 320 has status 'CLOSED', which"),
        ("metadata ignored", "the tenant did not apply filters.metadata: case 319 has metadata source='mail', which"),
        ("case_ids ignored", "the tenant did not apply filters.case_ids: case 319 has case_id 319, which"),
        ("priority ignored", "the tenant did not apply filters.priority: case 319 has priority 'MEDIUM', which"),
        ("status ignored within a team", "the tenant did not apply filters.status: case 318 has status 'OPEN', which"),
        ("tags ignored", "the tenant did not apply filters.tags: case 318 has tags ['edr', 'beacon'], which"),
        ("search ignored", "cannot confirm that the tenant applied filters.search: "),
    ):
        msg = refused_listing(out, name)
        assert msg.startswith(message), (name, msg)
        assert "No cases are returned" in msg, name
        assert (encoding in msg) is (name not in ("team_id ignored", "search ignored")), name
    # The check stops at the first page that shows an ignored filter (page 1 holds cases 318 and 319); a filter no
    # case can show costs one count request, before the listing.
    for name, requests in (
        ("team_id ignored", [page(1, team_id="7")]),
        ("status ignored", [page(1, filters={"status": "OPEN"}), page(2, filters={"status": "OPEN"})]),
        ("metadata ignored", [page(1, filters={"metadata": {"source": "edr"}})]),
        ("case_ids ignored", [page(1, filters={"case_ids": ["318"]})]),
        ("tags ignored", [page(1, filters={"tags": ["phishing"]})]),
        ("search ignored", [page(1, 1), page(1, filters={"search": "host-44"})]),
    ):
        assert queries(out, name) == requests, name
    assert "(6, against 6 with them)" in out.task("search ignored")["msg"]
    assert listed(out, "no filters at all") == sorted(RECORDS)
    assert queries(out, "no filters at all") == [page(n, 500) for n in (1, 2, 3)]


def test_list_without_metadata(plays, sim):
    sim.reset(cases=RECORDS)
    sim.set_options(list_metadata=False)
    tasks = [
        task("metadata only", CI, filters={"metadata": {"source": "edr"}}, ignore_errors=True),
        task("metadata and status", CI, filters={"metadata": {"source": "edr"}, "status": "OPEN"}, ignore_errors=True),
    ]
    out = plays.run(play(tasks))
    assert out.rc == 0, out
    # The metadata filter cannot be checked on the cases: after the listing, the count without it and then the
    # count with every filter again show it left cases out.
    only = {"metadata": {"source": "edr"}}
    assert listed(out, "metadata only") == [318, 320, 322]
    assert all("metadata" not in case for case in out.task("metadata only")["cases"])
    assert queries(out, "metadata only") == [page(1, filters=only), page(1, 1), page(1, 1, filters=only)]
    # A status that holds on every case is no evidence for metadata: it needs its own counts.
    both = {"metadata": {"source": "edr"}, "status": "OPEN"}
    assert listed(out, "metadata and status") == [318, 322]
    assert queries(out, "metadata and status") == [
        page(1, filters=both),
        page(1, 1, filters={"status": "OPEN"}),
        page(1, 1, filters=both),
    ]

    sim.set_options(ignore_filters=True)
    out = plays.run(play(tasks))
    assert out.rc == 0, out
    assert refused_listing(out, "metadata only").startswith(
        "cannot confirm that the tenant applied filters.metadata: the listed cases cannot show it, and without it the "
        "list holds no more cases than with all the filters (6, against 6 with them). No cases are returned"
    )
    assert out.status("metadata and status") == "failed"
    assert out.task("metadata and status")["msg"].startswith("the tenant did not apply filters.status: case 320")


# (task name, module options, the exact message, or for Ansible's own checks words it must hold)
BAD_INPUTS = [
    ("limit 0", {"limit": 0}, "limit must be 1 or more, got 0"),
    ("limit true", {"limit": True}, "limit must be 1 or more, got True"),
    ("unknown order", {"order": "NEWEST"}, ("order", "must be one of", "CREATED_DESC", "NEWEST")),
    ("team_id not an int", {"team_id": "seven"}, ("team_id", "int")),
    ("team_id 0", {"team_id": 0}, "team_id must be a positive integer, got 0"),
    ("filters a list", {"filters": ["status", "OPEN"]}, ("filters", "dict")),
    (
        "nested dict",
        {"filters": {"status": {"is": "OPEN"}}},
        "filters.status must be a single value or a list of single values, got a dictionary (only filters.metadata "
        "takes one)",
    ),
    (
        "list of dicts",
        {"filters": {"tags": [{"name": "edr"}]}},
        "filters.tags[0] must be a string, number, boolean or date, got a dictionary",
    ),
    (
        "empty case_ids",
        {"filters": {"case_ids": []}},
        "filters.case_ids is an empty list: a query string cannot carry one, and Tines would take the filter as "
        "absent and list every case; leave the filter out, or skip the task when the list is empty",
    ),
    ("case id 0", {"filters": {"case_ids": [318, 0]}}, "filters.case_ids must hold positive case numbers, got 0"),
    (
        "metadata list",
        {"filters": {"metadata": {"source": ["edr", "siem"]}}},
        "filters.metadata.source must be a single value, got a list",
    ),
    ("null filter", {"filters": {"search": None}}, "filters.search has no value (null); leave the filter out instead"),
]


def test_bad_input_is_refused_before_any_request(plays, sim):
    sim.reset(cases=RECORDS)
    out = plays.run(play([task(name, CI, **options, ignore_errors=True) for name, options, _message in BAD_INPUTS]))
    assert out.rc == 0, out
    for name, _options, message in BAD_INPUTS:
        msg = refused_listing(out, name)
        if isinstance(message, tuple):
            assert all(word in msg for word in message), (name, msg)
        else:
            assert msg == message, name
        assert out.requests(name) == [], name
    assert sim.log == []


def test_http_errors_and_odd_answers(plays, sim):
    sim.reset(cases=RECORDS)
    sim.add_fault(method="GET", path_contains="/api/v2/cases", status=200, body={"data": []})
    sim.add_fault(
        method="GET",
        path_contains="/api/v2/cases",
        status=200,
        body={"cases": [sim.get_case_record(318)], "meta": {"next_page": None}},
    )
    sim.add_fault(
        method="GET",
        path_contains="/api/v2/cases",
        status=200,
        body={"cases": [sim.get_case_record(318)], "meta": {"next_page_number": 1, "next_page": "x"}},
    )
    out = plays.run(
        play(
            [
                task("not a list", CI, filters={"status": "OPEN"}, ignore_errors=True),
                task("a last page without next_page_number", CI),
                task("a page that points back", CI, limit=3, ignore_errors=True),
                task("a wrong key", CI, api_key="wrong-key-123", filters={"status": "OPEN"}, ignore_errors=True),
            ]
        )
    )
    assert out.rc == 0, out
    assert out.task("not a list")["msg"] == (
        "GET /api/v2/cases?page=1&per_page=500&filters[status]=OPEN: expected a JSON object with a cases list"
    )
    assert listed(out, "a last page without next_page_number") == [318]
    assert out.task("a page that points back")["msg"] == (
        "GET /api/v2/cases?page=1&per_page=3: the pagination meta on page 1 points back to page 1"
    )
    wrong = out.task("a wrong key")
    assert wrong["status"] == 401
    assert wrong["msg"].startswith(
        "GET /api/v2/cases?page=1&per_page=500&filters[status]=OPEN failed with HTTP 401: the API key is missing, "
        "wrong or revoked (Tines said: "
    )
    assert "wrong-key-123" not in out.stdout + out.result.stderr + repr(out.result.results)


def test_a_next_page_link_to_another_host_is_never_followed(plays, sim):
    sim.reset(cases=RECORDS)
    with Simulator(api_key=sim.api_key) as elsewhere:
        link = f"{elsewhere.url}/api/v2/cases?page=2&per_page=2"
        sim.add_fault(
            method="GET",
            path_contains="/api/v2/cases",
            status=200,
            body={"cases": [sim.get_case_record(318)], "meta": {"next_page": link, "next_page_number": 2}},
        )
        out = plays.run(play([task("two cases", CI, limit=2)]))
        assert out.rc == 0, out
        # Page 2 comes from tenant_url with the page number from the answer; the other host hears nothing.
        assert listed(out, "two cases") == [318, 320]
        assert queries(out, "two cases") == [page(1, 2), page(2, 2)]
        assert elsewhere.log == []


@pytest.mark.long_running
def test_find_and_tag_pipeline(run_playbook, sim, ansible_path):
    sim.reset(cases=RECORDS)
    env = {"TINES_TENANT_URL": sim.url, "TINES_API_KEY": sim.api_key}
    find = "Find the open cases that came from the EDR, oldest first"
    tag = "Queue each one for triage (a queue already set on a case is kept)"
    before = sim.cases
    tagged = {"triage_queue": "tier-1"}

    def run(**options):
        seen = len(sim.log)
        result = run_playbook(FIND_AND_TAG, env=env, path=ansible_path, **options)
        assert result.rc == 0, result
        calls = [(entry["method"], entry["path"], entry["body"]) for entry in sim.log[seen:]]
        return result, calls

    # Check mode: the listing runs, the loop predicts the tags, nothing is written.
    result, calls = run(check=True)
    assert [case["case_id"] for case in result.task(find)["cases"]] == [318, 322]
    assert result.record(tag)["status"] == "changed"
    assert [item["added"] for item in result.task(tag)["results"]] == [tagged, tagged]
    assert calls == [LIST, GET(318), GET(322)]
    assert sim.cases == before

    result, calls = run()
    assert result.record(tag)["status"] == "changed"
    assert calls == [LIST, GET(318), POST(318, tagged), GET(322), POST(322, tagged)]
    assert sim.get_case(318) == {**RECORDS[318]["metadata"], **tagged}
    assert sim.get_case(322) == {**RECORDS[322]["metadata"], **tagged}
    assert {n: sim.get_case(n) for n in (319, 320, 321, 323)} == {n: before[n] for n in (319, 320, 321, 323)}
    assert result.task("Report the cases found")["msg"] == "2 open EDR case(s): 318, 322"
    listing = [entry for entry in sim.log if entry["path"] == "/api/v2/cases"][-1]
    assert parse_query(listing["query_string"]) == page(
        1, 200, order="CREATED_ASC", filters={"status": "OPEN", "metadata": {"source": "edr"}}
    )

    for check in (False, True):
        result, calls = run(check=check)
        assert result.record(tag)["status"] == "ok", check
        assert calls == [LIST, GET(318), GET(322)], check
