"""Playbooks for the tines.cases integration tests, with each task's requests picked out of the simulator's log.

An ansible-playbook run costs about two seconds, so a test puts several tasks in
one playbook. The simulator cannot be told where one task ends, but it stamps
every request it logs with its arrival time, and the test callback
``tines_record`` notes when each task starts: a request belongs to the last
task that started before it arrived. ``Outcome.calls(task)`` then gives exactly
that task's requests.

Requests are compared as ``(method, path, body)`` tuples built by ``GET``,
``POST``, ``PUT`` and ``DELETE`` below, so an assertion states the whole
conversation of a task: which requests, in which order, carrying what.
"""

from __future__ import annotations

import bisect
import json

import yaml

MD = "tines.cases.tines_case_metadata"
INFO = "tines.cases.tines_case_metadata_info"
GROUP = "group/tines.cases.tines"
CREDENTIALS = {"tenant_url": "{{ tines_url }}", "api_key": "{{ tines_key }}"}
STARTS_ENV = "TINES_TEST_TASK_STARTS_FILE"

# Task keywords (as opposed to module options) that md() and info() accept among their keyword arguments.
TASK_KEYWORDS = frozenset(
    ("check_mode", "diff", "ignore_errors", "environment", "loop", "register", "when", "module_defaults", "vars")
)


def md_path(case_id):
    return f"/api/v2/cases/{case_id}/metadata"


def GET(case_id):  # noqa: N802 - reads like the request it stands for
    return ("GET", md_path(case_id), None)


def POST(case_id, pairs):  # noqa: N802
    return ("POST", md_path(case_id), {"metadata": pairs})


def PUT(case_id, pairs):  # noqa: N802
    return ("PUT", md_path(case_id), {"metadata": pairs})


def DELETE(case_id, keys):  # noqa: N802
    return ("DELETE", md_path(case_id), {"metadata": keys})


def task(name, module, **arguments):
    """One task: keyword arguments named in TASK_KEYWORDS are task keywords, the rest module options."""
    options = {key: value for key, value in arguments.items() if key not in TASK_KEYWORDS}
    keywords = {key: value for key, value in arguments.items() if key in TASK_KEYWORDS}
    return {"name": name, module: options, **keywords}


def md(name, **arguments):
    return task(name, MD, **arguments)


def info(name, **arguments):
    return task(name, INFO, **arguments)


def play(tasks, *, credentials=True, **keywords):
    """A one-play playbook on localhost; `credentials` sets tenant_url/api_key through the action group."""
    body = {"name": "tines.cases integration test", "hosts": "localhost", "gather_facts": False}
    if credentials:
        body["module_defaults"] = {GROUP: dict(CREDENTIALS)}
    body.update(keywords)
    body["tasks"] = list(tasks)
    return playbook(body)


def playbook(*plays):
    names = [t["name"] for p in plays for t in _all_tasks(p.get("tasks", []))]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"task names must be unique within a playbook to tell their requests apart: {duplicates}")
    return yaml.safe_dump(list(plays), sort_keys=False, default_flow_style=False, width=1000)


def _all_tasks(tasks):
    for item in tasks:
        yield item
        yield from _all_tasks(item.get("block", []))


def lifecycle(prefix, **arguments):
    """The check -> apply -> check again -> apply again sequence of one task, with diff on."""
    steps = [("check", True), ("apply", False), ("check again", True), ("apply again", False)]
    return [md(f"{prefix}: {step}", check_mode=check, diff=True, **arguments) for step, check in steps]


class Plays:
    """Runs playbooks on one path (in-process or module) and returns an Outcome for each."""

    def __init__(self, run_playbook, sim, path, tmp_path):
        self.run_playbook = run_playbook
        self.sim = sim
        self.path = path
        self.tmp_path = tmp_path
        self.runs = 0

    def run(self, playbook_text, *, env=None, **options):
        self.runs += 1
        starts = self.tmp_path / f"task-starts-{self.runs}.jsonl"
        seen = len(self.sim.log)
        result = self.run_playbook(
            playbook_text,
            env={STARTS_ENV: str(starts), **(env or {})},
            path=self.path,
            **options,
        )
        lines = starts.read_text().splitlines() if starts.exists() else []
        return Outcome(result, self.sim.log[seen:], [json.loads(line) for line in lines if line.strip()])


class Outcome:
    """One playbook run: its recorded task results and the simulator's requests, per task."""

    def __init__(self, result, log, starts):
        self.result = result
        self.log = log
        self.starts = starts
        self.rc = result.rc
        self.stdout = result.stdout
        self.by_task = {}
        times = [start["time"] for start in starts]
        for entry in log:
            index = bisect.bisect_right(times, entry["time"]) - 1
            owner = starts[index]["task"] if index >= 0 else "(before the first task)"
            self.by_task.setdefault(owner, []).append(entry)

    def __str__(self):
        lines = [str(self.result), "--- requests by task ---"]
        for start in self.starts:
            lines.append(f"[{start['task']}]")
            lines.extend(f"    {describe(entry)}" for entry in self.by_task.get(start["task"], []))
        return "\n".join(lines)

    __repr__ = __str__  # pytest shows the repr of an assertion message that is not a string

    def task(self, name):
        """The task's Ansible result dict."""
        return self.result.task(name)

    def status(self, name):
        """ok, changed, failed, skipped or unreachable."""
        return self.result.record(name)["status"]

    def requests(self, name):
        """The simulator's log entries for the requests the task sent."""
        started = [start["task"] for start in self.starts]
        if name not in started:
            raise AssertionError(f"task {name!r} never started; started: {started}\n{self}")
        return self.by_task.get(name, [])

    def calls(self, name):
        """The task's requests as (method, path, body) tuples, in the order the simulator got them."""
        return [(entry["method"], entry["path"], entry["body"]) for entry in self.requests(name)]

    def statuses(self, name):
        """The HTTP statuses the simulator answered the task's requests with."""
        return [entry["status"] for entry in self.requests(name)]


def describe(entry):
    body = "" if entry["body"] is None else " " + json.dumps(entry["body"], sort_keys=True)
    return f"{entry['method']} {entry['path']} -> {entry['status']}{body}"


def assert_unchanged(result, metadata):
    """A run that found nothing to do: changed false, empty change sets, the metadata as it is."""
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert (result["added"], result["updated"], result["removed"]) == ({}, {}, [])
    assert result["metadata"] == metadata


def assert_json_headers(entry, key="test-api-key"):
    """What every API request carries: JSON both ways, our User-Agent and the key as a Bearer token."""
    headers = entry["headers"]
    assert headers.get("content-type") == "application/json", describe(entry)
    assert headers.get("accept") == "application/json", describe(entry)
    assert headers.get("user-agent", "").startswith("tines.cases-ansible/"), describe(entry)
    assert headers.get("authorization") == f"Bearer {key}", describe(entry)
    assert "x-user-token" not in headers, describe(entry)
    if entry["body"] is not None:
        assert int(headers.get("content-length", 0)) > 0, describe(entry)


def assert_lifecycle(out, prefix, case_id, before, after, writes=(), added=None, updated=None, removed=None):
    """Check the four tasks of lifecycle(prefix): the check run predicts the real run exactly, then nothing is left.

    `writes` are the requests expected after the one GET of the real run; the check runs and the
    second real run must send the GET only.
    """
    expected = {
        "changed": bool(writes),
        "case_id": case_id,
        "metadata": after,
        "added": added or {},
        "updated": updated or {},
        "removed": removed or [],
        "diff": {"before": before, "after": after},
    }
    for step, calls in (("check", [GET(case_id)]), ("apply", [GET(case_id), *writes])):
        name = f"{prefix}: {step}"
        result = out.task(name)
        assert result.get("failed") is not True, f"{name}: {result.get('msg')}"
        assert {key: result.get(key) for key in expected} == expected, name
        assert out.status(name) == ("changed" if writes else "ok"), name
        assert out.calls(name) == calls, f"{name}\n{out}"
    for step in ("check again", "apply again"):
        name = f"{prefix}: {step}"
        result = out.task(name)
        assert_unchanged(result, after)
        assert result["diff"] == {"before": after, "after": after}, name
        assert out.calls(name) == [GET(case_id)], f"{name}\n{out}"
    for name in (f"{prefix}: {step}" for step in ("check", "apply", "check again", "apply again")):
        for entry in out.requests(name):
            assert_json_headers(entry)
            assert entry["status"] in (200, 204), describe(entry)
