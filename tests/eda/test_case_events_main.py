"""The event source's main(), as ansible-rulebook calls it: an asyncio.Queue, the simulator over real HTTP.

Each test runs main() as a task on its own event loop, changes cases in the simulator
(records, or metadata writes through the API, which move updated_at as any edit does)
and reads what the source put on the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat

import pytest
import yaml
from case_changes import created_now, edit, list_requests, record

SOURCE = "tines.cases.case_events"
SINCE = "2025-06-01T10:00:00Z"


def arguments(sim, **options):
    return {"tenant_url": sim.url, "api_key": sim.api_key, "interval": 0.1, **options}


async def polls(sim, count):
    """Wait until `count` more list requests reached the simulator (each poll makes at least one)."""
    target = len(list_requests(sim)) + count
    while len(list_requests(sim)) < target:
        await asyncio.sleep(0.02)


async def take(queue, count):
    return [(event["case"]["case_id"], event["change"]) for event in [await queue.get() for _number in range(count)]]


async def quiet_for(queue, sim, count=3):
    """Whatever the source emits during `count` more polls (nothing, when all is as it should be)."""
    await polls(sim, count + 1)
    extra = []
    while not queue.empty():
        extra.append(queue.get_nowait())
    return extra


@contextlib.asynccontextmanager
async def running(case_events, args, queue=None):
    """main() as a task; stopped (cancelled, as ansible-rulebook stops a source) on leaving."""
    queue = asyncio.Queue() if queue is None else queue
    task = asyncio.create_task(case_events["main"](queue, args))
    try:
        yield queue, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run(scenario, timeout=30):
    return asyncio.run(asyncio.wait_for(scenario, timeout))


def ended(case_events, args):
    """main() run to its end: the error it ended with."""
    with pytest.raises(Exception) as raised:
        run(case_events["main"](asyncio.Queue(), args))
    return raised.value


# --- what is emitted ------------------------------------------------------------------


def test_a_new_case_and_an_updated_case_each_make_one_event(case_events, sim):
    sim.set_case(1, record("OPEN", metadata={"source": "edr"}))
    sim.set_case(2, record("CLOSED"))

    async def scenario():
        async with running(case_events, arguments(sim, filters={"status": "OPEN"})) as (queue, _task):
            await polls(sim, 1)
            created_now(sim, 3, metadata={"source": "edr", "host": "host-44"})
            edit(sim, 1, ticket="OPS-1")
            edit(sim, 2, ticket="OPS-2")
            created_now(sim, 4, status="CLOSED")
            events = [await queue.get() for _number in range(2)]
            return events, await quiet_for(queue, sim)

    events, extra = run(scenario())
    assert [(event["case"]["case_id"], event["change"]) for event in events] == [(3, "new"), (1, "updated")]
    assert events[0]["case"]["metadata"] == {"source": "edr", "host": "host-44"}
    assert events[1]["case"]["metadata"] == {"source": "edr", "ticket": "OPS-1"}
    assert events[1]["case"]["status"] == "OPEN"
    assert extra == []


def test_since_reports_the_cases_updated_after_it_on_the_first_poll(case_events, sim):
    sim.set_case(1, record(updated="2025-06-01T09:30:00.000Z"))
    sim.set_case(2, record(updated="2025-06-01T10:30:00.000Z"))
    sim.set_case(3, record(created="2025-06-01T10:15:00.000Z"))

    async def scenario():
        async with running(case_events, arguments(sim, since=SINCE)) as (queue, _task):
            return await take(queue, 2), await quiet_for(queue, sim)

    assert run(scenario()) == ([(3, "new"), (2, "updated")], [])


def test_a_quiet_tenant_costs_one_request_per_poll_even_after_a_burst(case_events, sim):
    for case_id in range(1, 61):
        sim.set_case(case_id, record())

    async def scenario():
        async with running(case_events, arguments(sim)) as (queue, _task):
            await polls(sim, 1)
            for case_id in range(1, 31):
                edit(sim, case_id, seen="yes")
            events = await take(queue, 30)
            await polls(sim, 1)
            sim.clear_log()
            return events, await quiet_for(queue, sim, 5)

    events, extra = run(scenario())
    assert events == [(case_id, "updated") for case_id in range(1, 31)]
    assert extra == []
    assert sim.log and all(entry["path"] == "/api/v2/cases" for entry in sim.log)
    assert {(entry["query"]["page"], entry["query"]["per_page"]) for entry in sim.log} == {("1", "50")}


def test_a_case_missing_metadata_in_the_list_is_read_from_the_case(case_events, sim):
    sim.set_options(list_metadata=False)

    async def scenario():
        async with running(case_events, arguments(sim, filters={"status": "OPEN"})) as (queue, _task):
            await polls(sim, 1)
            created_now(sim, 5, metadata={"source": "edr"})
            event = await queue.get()
            return event, await quiet_for(queue, sim)

    event, extra = run(scenario())
    assert event["change"] == "new"
    assert event["case"]["metadata"] == {"source": "edr"}
    assert [entry["path"] for entry in sim.requests("GET", "/api/v2/cases/5")] == ["/api/v2/cases/5/metadata"]
    assert extra == []


def test_a_case_whose_metadata_is_not_found_is_tried_again_at_the_next_poll(case_events, sim):
    sim.set_options(list_metadata=False)
    sim.add_fault("GET", "/api/v2/cases/5/metadata", count=1, status=404)

    async def scenario():
        async with running(case_events, arguments(sim)) as (queue, _task):
            await polls(sim, 1)
            created_now(sim, 5, metadata={"source": "edr"})
            created_now(sim, 6)
            return await take(queue, 2), await quiet_for(queue, sim)

    assert run(scenario()) == ([(6, "new"), (5, "new")], [])
    assert len(sim.requests("GET", "/api/v2/cases/5/metadata")) == 2


def test_the_api_key_is_masked_in_events(case_events, sim):
    async def scenario():
        async with running(case_events, arguments(sim)) as (queue, _task):
            await polls(sim, 1)
            created_now(sim, 8, name="pasted %s by mistake" % sim.api_key, metadata={"note": sim.api_key})
            return await queue.get()

    event = run(scenario())
    assert event["case"]["name"] == "pasted ******** by mistake"
    assert event["case"]["metadata"] == {"note": "********"}


# --- the state file ---------------------------------------------------------------


def test_a_restart_with_state_file_reports_what_changed_meanwhile_and_nothing_twice(case_events, sim, tmp_path):
    state_file = tmp_path / "state.json"
    sim.set_case(1, record())
    args = arguments(sim, state_file=str(state_file), filters={"status": "OPEN"})

    async def first_run():
        async with running(case_events, args) as (queue, _task):
            await polls(sim, 1)
            created_now(sim, 2)
            edit(sim, 1, first="yes")
            return await take(queue, 2)

    async def second_run():
        # A since long ago would report every case; the state file has the last word.
        async with running(case_events, {**args, "since": "2020-01-01T00:00:00Z"}) as (queue, _task):
            return await take(queue, 3), await quiet_for(queue, sim)

    assert run(first_run()) == [(2, "new"), (1, "updated")]
    created_now(sim, 3)
    edit(sim, 1, second="yes")
    edit(sim, 2, second="yes")
    assert run(second_run()) == ([(3, "new"), (1, "updated"), (2, "updated")], [])

    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    text = state_file.read_text()
    assert sim.api_key not in text
    state = json.loads(text)
    assert (state["source"], state["tenant_url"], state["filters"]) == (SOURCE, sim.url, {"status": "OPEN"})
    assert sorted(state["seen"]) == ["1", "2", "3"]
    assert [name for name in os.listdir(tmp_path) if name != "runtime"] == ["state.json"]


def test_a_source_stopped_while_handing_over_a_poll_goes_on_where_it_stopped(case_events, sim, tmp_path):
    """The rulebook's queue is full: the source is stopped with two of three events not handed over."""
    for case_id, minute in ((1, 10), (2, 20), (3, 30)):
        sim.set_case(case_id, record(created="2025-06-01T10:%d:00.000Z" % minute))
    args = arguments(sim, since=SINCE, state_file=str(tmp_path / "state.json"))

    async def stopped_halfway():
        async with running(case_events, args, asyncio.Queue(maxsize=1)) as (queue, _task):
            await polls(sim, 1)
            await asyncio.sleep(0.3)
            return queue.qsize()

    async def restarted():
        async with running(case_events, args) as (queue, _task):
            return await take(queue, 2), await quiet_for(queue, sim)

    assert run(stopped_halfway()) == 1
    assert run(restarted()) == ([(2, "new"), (3, "new")], [])


def test_a_state_file_of_other_filters_ends_the_source(case_events, sim, tmp_path):
    state_file = tmp_path / "state.json"

    async def once(filters):
        async with running(case_events, arguments(sim, state_file=str(state_file), filters=filters)):
            await polls(sim, 1)

    run(once({"status": "OPEN"}))
    error = ended(case_events, arguments(sim, state_file=str(state_file), filters={"status": "CLOSED"}))
    assert str(error) == (
        "state_file %s was written for filters {'status': 'OPEN'}, not {'status': 'CLOSED'}; give each watch its "
        "own state_file (or delete this one to start again from since)" % state_file
    )


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": "blue"}, "Unsupported parameters for (tines.cases.case_events) event source: color"),
        ({"interval": 0}, "interval must be a positive number of seconds, got 0.0"),
        ({"interval": "often"}, "argument 'interval' is of type str"),
        ({"since": "last week"}, "since must be an ISO 8601 time such as 2026-12-01T09:30:00Z, got 'last week'"),
        ({"filters": {"status": []}}, "filters.status is an empty list"),
        ({"team_id": 0}, "team_id must be a positive integer, got 0"),
        ({"tenant_url": "http://tines.example.com"}, "uses plain HTTP to a non-loopback host"),
        ({"state_file": "/nonexistent-dir/state.json"}, "state_file /nonexistent-dir/state.json cannot be written"),
    ],
)
def test_bad_arguments_end_the_source_before_any_request(case_events, sim, options, message):
    error = ended(case_events, arguments(sim, **options))
    assert message in str(error)
    assert sim.log == []


def test_an_unreadable_state_file_ends_the_source(case_events, sim, tmp_path):
    state_file = tmp_path / "state.json"
    state_file.write_text("{half a file")
    error = ended(case_events, arguments(sim, state_file=str(state_file)))
    assert str(error).startswith("state_file %s cannot be read: " % state_file)
    assert state_file.read_text() == "{half a file"


def test_a_refused_key_ends_the_source_at_start(case_events, sim):
    error = ended(case_events, arguments(sim, api_key="wrong-key-4242"))
    assert "HTTP 401: the API key is missing, wrong or revoked" in str(error)
    assert "wrong-key-4242" not in str(error)
    assert len(sim.log) == 1


def test_the_api_key_is_masked_in_errors_at_start(case_events, sim):
    error = ended(case_events, arguments(sim, api_key="secret-key-4242", tenant_url=sim.url + "/secret-key-4242"))
    assert "must be the tenant's base URL only" in str(error)
    assert "secret-key-4242" not in str(error) and "********" in str(error)


def test_a_tenant_ignoring_the_filters_ends_the_source(case_events, sim):
    sim.set_options(ignore_filters=True)
    sim.set_case(1, record("OPEN"))
    sim.set_case(2, record("CLOSED"))
    error = ended(case_events, arguments(sim, filters={"status": "OPEN"}))
    assert "the tenant did not apply filters.status: case 2 has status 'CLOSED'" in str(error)


def test_filters_without_evidence_end_the_source(case_events, sim):
    sim.set_options(ignore_filters=True)
    sim.set_case(1, record(name="Beacon on host-44"))
    sim.set_case(2, record(name="Phishing report"))
    error = ended(case_events, arguments(sim, filters={"search": "beacon"}))
    assert "cannot confirm that the tenant applied filters.search" in str(error)


def test_filters_with_evidence_are_believed_once(case_events, sim):
    sim.set_case(1, record(name="Beacon on host-44"))
    sim.set_case(2, record(name="Phishing report"))

    async def scenario():
        async with running(case_events, arguments(sim, filters={"search": "beacon"})) as (queue, _task):
            await polls(sim, 1)
            edit(sim, 1, seen="yes")
            edit(sim, 2, seen="yes")
            return await take(queue, 1), await quiet_for(queue, sim)

    assert run(scenario()) == ([(1, "updated")], [])
    counts = [entry for entry in list_requests(sim) if entry["query"]["per_page"] == "1"]
    assert len(counts) == 2


def test_faults_that_may_pass_are_logged_and_the_source_keeps_polling(case_events, sim, caplog):
    caplog.set_level(logging.WARNING, logger=SOURCE)
    sim.add_fault("GET", "/api/v2/cases", count=1, status=503)
    sim.add_fault("GET", "/api/v2/cases", count=1, status=429)
    args = arguments(sim, max_retries=0, rate_limit_timeout=0, rate_limit=0)

    async def scenario():
        async with running(case_events, args) as (queue, task):
            await polls(sim, 3)
            created_now(sim, 6)
            return await take(queue, 1), task.done()

    assert run(scenario()) == ([(6, "new")], False)
    warnings = [entry.getMessage() for entry in caplog.records if entry.name == SOURCE]
    assert len(warnings) == 2
    assert "failed with HTTP 503: server error" in warnings[0] and warnings[0].endswith("; polling again in 0.1 s")
    assert "failed with HTTP 429: rate limit hit" in warnings[1]


def test_what_the_modules_warn_about_is_logged(case_events, sim, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger=SOURCE)
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(not_a_directory))
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_directory))
    args = arguments(sim, validate_certs=False, rate_limit=4999)

    async def scenario():
        async with running(case_events, args):
            await polls(sim, 2)

    run(scenario())
    warnings = [entry.getMessage() for entry in caplog.records if entry.name == SOURCE]
    assert warnings[0] == "validate_certs is false: the tenant's TLS certificate is not verified"
    assert warnings[1].startswith("rate_limit is paced for this process only")
    assert len(warnings) == 2


def test_an_unreachable_tenant_is_retried_every_interval(case_events, private_runtime, caplog):
    caplog.set_level(logging.WARNING, logger=SOURCE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = {"tenant_url": "http://127.0.0.1:%d" % port, "api_key": "k", "interval": 0.05, "max_retries": 0}

    async def scenario():
        async with running(case_events, args) as (_queue, task):
            while len([entry for entry in caplog.records if entry.name == SOURCE]) < 3:
                await asyncio.sleep(0.02)
            return task.done()

    assert run(scenario()) is False
    assert "connection to http://127.0.0.1:%d failed" % port in caplog.records[0].getMessage()


# --- documentation --------------------------------------------------------------------


def test_documentation_lists_every_option_as_the_argument_spec_has_it(case_events):
    documented = yaml.safe_load(case_events["DOCUMENTATION"])["options"]
    spec = case_events["ARGUMENT_SPEC"]
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("choices") == option.get("choices"), name
        for variable in option.get("fallback", (None, []))[1]:
            assert "E(%s)" % variable in " ".join(doc["description"]), name


def test_examples_are_a_rulebook_using_the_source(case_events):
    rulebook = yaml.safe_load(case_events["EXAMPLES"])
    source = rulebook[0]["sources"][0][SOURCE]
    assert set(source) <= set(case_events["ARGUMENT_SPEC"])
