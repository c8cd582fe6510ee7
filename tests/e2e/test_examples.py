"""Every EXAMPLES task of every module runs against the simulator and does what it says.

The EXAMPLES strings are read from the module files as text (no import of the
modules), changed only where they name the real world: `https://acme.tines.com`
becomes the simulator's URL, `tines_api_key` is given as an extra variable and
the tasks that rely on TINES_TENANT_URL / TINES_API_KEY get them from the
environment. Each module's examples run as one play, in their order; the
requests of every task are pinned below, so an example that stops working, or
starts doing something else, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.plays import DELETE, GET, LIST_PATH, POST, PUT, examples_of, page, play_data, playbook, queries

MODULES = Path(__file__).resolve().parents[2] / "plugins" / "modules"
EXAMPLE_URL = "https://acme.tines.com"

# The cases the examples name, as the simulator holds them before the play.
SEED = {318: {"source": "edr", "ticket": "OPS-1000", "owner": "blue-team"}, 319: {}, 320: {"source": "siem"}}
RUN = {"ansible_run": "manual"}  # ansible_run_id is not defined in the test run
# The cases the tines_case_info examples list, as records (status, priority, team, tags), after the cases above.
SECOPS = {"id": 7, "name": "SecOps"}
CASE_RECORDS = {
    321: {"name": "Phishing report from host-44", "priority": "HIGH", "team": SECOPS, "tags": ["phishing"]},
    322: {"name": "Beacon on host-12", "status": "CLOSED", "priority": "HIGH", "team": SECOPS, "tags": ["edr"]},
    323: {"name": "Impossible travel for j.doe", "priority": "LOW", "team": SECOPS, "metadata": {"source": "siem"}},
    324: {"name": "Malware on host-44", "priority": "HIGH", "team": {"id": 3, "name": "Fraud"}, "tags": ["edr"]},
    325: {"name": "Beacon on host-51", "team": SECOPS, "tags": ["edr"]},
    # An open phishing case that does not mention host-44: the search leaves it out, which is its evidence.
    326: {"name": "Phishing report from j.doe", "team": SECOPS, "tags": ["phishing"], "metadata": {}},
}
for _number in (321, 322, 324, 325):
    CASE_RECORDS[_number]["metadata"] = {"source": "edr"}
LIST = ("GET", LIST_PATH, None)
QUEUE = {"triage_queue": "tier-1"}

# Each example task's requests, in the order the examples run (state carries over from one to the next).
EXPECTED = {
    "tines_case_metadata_info": {
        "Read a case's metadata": [GET(318)],
        "Escalate only cases that came from the EDR": [],
    },
    "tines_case_metadata": {
        # ticket is kept (existing keys keep their value), source already matches: only priority is added.
        "Add metadata keys the case does not have yet (existing keys keep their value)": [
            GET(318),
            POST(318, {"priority": "3"}),
        ],
        "Set values, changing keys that differ (credentials from TINES_TENANT_URL and TINES_API_KEY)": [
            GET(318),
            POST(318, {"triaged": "true"}),
            PUT(318, {"ticket": "OPS-7790"}),
        ],
        "Make the case's metadata exactly this, removing every other key": [
            GET(318),
            DELETE(318, ["owner", "priority", "triaged"]),
        ],
        # Run after the one above, "triaged" is already gone; "source" still holds edr and goes.
        "Remove a key whatever its value, and another only while it still holds a given value": [
            GET(318),
            DELETE(318, ["source"]),
        ],
        "Record the playbook run on each case": [
            GET(318),
            POST(318, RUN),
            GET(319),
            POST(319, RUN),
            GET(320),
            POST(320, RUN),
        ],
    },
    # Runs last: by then case 318 has lost its source, and 42 (the harness's own case) came from the EDR.
    "tines_case_info": {
        "List the open cases of team 7 that came from the EDR": [LIST],
        "Show their numbers": [],
        "The two most recently created high-priority cases (credentials from TINES_TENANT_URL and TINES_API_KEY)": [
            LIST
        ],
        # The search is the filter no listed case can show: the count without it comes first.
        "Open cases tagged phishing that mention host-44": [LIST, LIST],
        "Find the open cases that came from the EDR": [LIST],
        "Queue each one for triage (keys already set are kept)": [
            call for case_id in (42, 321, 324, 325) for call in (GET(case_id), POST(case_id, QUEUE))
        ],
    },
    # Runs last; its writes go out several at once, so each task's requests are compared in any order.
    "tines_case_metadata_batch": {
        "Escalate every open case from the EDR, in one task": [LIST]
        + [POST(case_id, {"escalation": "tier-2"}) for case_id in (42, 321, 324, 325)],
        "Say how many were escalated": [],
        # 318 has another ticket: read afresh, then changed; 319 lacks one: added from the list.
        "Give each case its own ticket, and all of them the run (credentials from TINES_TENANT_URL and TINES_API_KEY)": [
            LIST,
            GET(318),
            PUT(318, {"ticket": "OPS-7800"}),
            POST(319, {"ticket": "OPS-7801"}),
        ],
        "Remove a key from several cases, whatever its value": [LIST]
        + [call for case_id in (318, 319, 320) for call in (GET(case_id), DELETE(case_id, ["ansible_run"]))],
    },
}
CONCURRENT = set(EXPECTED["tines_case_metadata_batch"])
# The query of each tines_case_info example's list request.
LIST_QUERIES = {
    "List the open cases of team 7 that came from the EDR": {
        "team_id": "7",
        "filters": {"status": "OPEN", "metadata": {"source": "edr"}},
    },
    "The two most recently created high-priority cases (credentials from TINES_TENANT_URL and TINES_API_KEY)": {
        "per_page": "2",
        "order": "CREATED_DESC",
        "filters": {"priority": "HIGH"},
    },
    "Open cases tagged phishing that mention host-44": {
        "filters": {"status": "OPEN", "tags": ["phishing"], "search": "host-44"}
    },
    "Find the open cases that came from the EDR": {"filters": {"status": "OPEN", "metadata": {"source": "edr"}}},
}


def examples(module):
    return examples_of(MODULES / f"{module}.py")


def task_names(tasks):
    for item in tasks:
        if "block" in item:
            yield from task_names(item["block"])
        else:
            yield item["name"]


def to_simulator(value, url):
    if isinstance(value, dict):
        return {key: to_simulator(item, url) for key, item in value.items()}
    if isinstance(value, list):
        return [to_simulator(item, url) for item in value]
    return url if value == EXAMPLE_URL else value


def test_every_module_has_examples_and_each_one_is_pinned():
    modules = sorted(path.stem for path in MODULES.glob("*.py") if path.stem != "__init__")
    assert modules == sorted(EXPECTED)
    for module in modules:
        assert list(task_names(examples(module))) == list(EXPECTED[module]), module


@pytest.mark.long_running
def test_examples_run_against_the_simulator(plays, sim):
    for case_id, metadata in SEED.items():
        sim.set_case(case_id, metadata)
    for case_id, record in CASE_RECORDS.items():
        sim.set_case(case_id, record)
    examples_plays = [
        play_data(to_simulator(examples(module), sim.url), defaults=None, name=f"EXAMPLES of {module}")
        for module in EXPECTED
    ]
    out = plays.run(
        playbook(*examples_plays),
        extra_vars={"tines_api_key": sim.api_key},
        env={"TINES_TENANT_URL": sim.url, "TINES_API_KEY": sim.api_key},
    )
    assert out.rc == 0, out
    for expected in EXPECTED.values():
        for name, calls in expected.items():
            assert out.status(name) in ("ok", "changed"), (name, out.task(name).get("msg"))
            if name in CONCURRENT:
                assert sorted(out.calls(name), key=repr) == sorted(calls, key=repr), (name, out)
            else:
                assert out.calls(name) == calls, (name, out)

    assert out.task("Escalate only cases that came from the EDR")["msg"] == "Case 318 came from edr"
    assert out.task("Read a case's metadata")["metadata"] == SEED[318]
    loop = out.task("Record the playbook run on each case")
    assert [(item["case_id"], item["added"]) for item in loop["results"]] == [(318, RUN), (319, RUN), (320, RUN)]
    # What the tines_case_metadata examples left, as the batch examples found it (they ran last).
    give = (
        "Give each case its own ticket, and all of them the run (credentials from TINES_TENANT_URL and TINES_API_KEY)"
    )
    assert [entry["updated"] for entry in out.task(give)["cases"]] == [{"ticket": "OPS-7800"}, {}]
    assert [entry["added"] for entry in out.task(give)["cases"]] == [{}, {"ticket": "OPS-7801"}]

    def listed(name):
        return [case["case_id"] for case in out.task(name)["cases"]]

    for name, query in LIST_QUERIES.items():
        assert queries(out, name)[-1] == page(1, **query), name
    assert listed("List the open cases of team 7 that came from the EDR") == [321, 325]
    assert out.task("Show their numbers")["msg"] == [321, 325]
    newest = "The two most recently created high-priority cases (credentials from TINES_TENANT_URL and TINES_API_KEY)"
    assert listed(newest) == [324, 322]
    assert listed("Open cases tagged phishing that mention host-44") == [321]
    assert listed("Find the open cases that came from the EDR") == [42, 321, 324, 325]
    for case_id in (42, 321, 324, 325):
        assert sim.get_case(case_id)["triage_queue"] == "tier-1", case_id
    assert "triage_queue" not in sim.get_case(322)

    assert out.task("Say how many were escalated")["msg"] == "4 of 4 case(s) escalated"
    assert [case_id for case_id, metadata in sim.cases.items() if metadata.get("escalation") == "tier-2"] == [
        42,
        321,
        324,
        325,
    ]
    assert sim.get_case(318) == {"ticket": "OPS-7800"}
    assert sim.get_case(319) == {"ticket": "OPS-7801"}
    assert sim.get_case(320) == {"source": "siem"}
