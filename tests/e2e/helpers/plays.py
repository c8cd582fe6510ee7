"""Playbooks for the end-to-end tests, and the requests each task sent, read from the simulator's log.

An ansible-playbook run costs about half a second of CPU before its first task,
so a test puts several tasks in one playbook. Two ways to tell their requests apart:

- by task: the simulator stamps every request it logs with its arrival time,
  and the test callback ``tines_record`` notes when each task starts, so a
  request belongs to the last task that started before it arrived.
  ``Plays.run`` returns an ``Outcome`` whose ``calls(task)`` are exactly that
  task's requests, as ``(method, path, body)`` tuples built by ``GET``,
  ``POST``, ``PUT`` and ``DELETE`` below;
- by case: each task works on a case of its own (and each fault is queued for
  that case's path, ``fault_path``), so ``calls(sim, case)`` is the whole
  conversation of one task, as ``(method, status)`` pairs.
"""

from __future__ import annotations

import ast
import bisect
import json
import socket
import threading
from types import MappingProxyType

import yaml
from helpers.ansible_env import CONNECTIONS
from tines_sim import parse_query  # on sys.path through conftest.py

MD = "tines.cases.tines_case_metadata"
INFO = "tines.cases.tines_case_metadata_info"
CI = "tines.cases.tines_case_info"
BATCH = "tines.cases.tines_case_metadata_batch"
GROUP = "group/tines.cases.tines"
CREDENTIALS = MappingProxyType({"tenant_url": "{{ tines_url }}", "api_key": "{{ tines_key }}"})
LIST_PATH = "/api/v2/cases"
STARTS_ENV = "TINES_TEST_TASK_STARTS_FILE"
# Task keywords (as opposed to module options) that task() accepts among its keyword arguments.
TASK_KEYWORDS = frozenset(
    (
        "async",
        "check_mode",
        "delay",
        "diff",
        "environment",
        "ignore_errors",
        "loop",
        "module_defaults",
        "no_log",
        "poll",
        "register",
        "retries",
        "until",
        "vars",
        "when",
    )
)


def md_path(case_id):
    return f"/api/v2/cases/{case_id}/metadata"


def fault_path(case_id):
    """A `path_contains` that matches case `case_id` only (not 1010 for 101)."""
    return f"/cases/{case_id}/"


def GET(case_id):  # noqa: N802 - reads like the request it stands for
    return ("GET", md_path(case_id), None)


def POST(case_id, pairs):  # noqa: N802
    return ("POST", md_path(case_id), {"metadata": pairs})


def PUT(case_id, pairs):  # noqa: N802
    return ("PUT", md_path(case_id), {"metadata": pairs})


def DELETE(case_id, keys):  # noqa: N802
    return ("DELETE", md_path(case_id), {"metadata": keys})


# --- building playbooks ------------------------------------------------------------


def task(name, module=MD, **arguments):
    """One task: keyword arguments named in TASK_KEYWORDS are task keywords, the rest module options.

    `async_` stands for the `async` keyword, which Python does not take as an argument name.
    """
    if "async_" in arguments:
        arguments["async"] = arguments.pop("async_")
    options = {key: value for key, value in arguments.items() if key not in TASK_KEYWORDS}
    keywords = {key: value for key, value in arguments.items() if key in TASK_KEYWORDS}
    return {"name": name, module: options, **keywords}


def lifecycle(prefix, module=MD, **arguments):
    """The check -> apply -> check again -> apply again sequence of one task (with diff unless diff=False)."""
    steps = [("check", True), ("apply", False), ("check again", True), ("apply again", False)]
    return [task(f"{prefix}: {step}", module, check_mode=check, **{"diff": True, **arguments}) for step, check in steps]


def async_tasks(case_ids, metadata, **arguments):
    """`async, polled` (poll: 1) on the first case, `async, fire and forget` (poll: 0) on the second, then
    `wait for the job`: async_status until the second one's job is done."""
    polled, launched = case_ids
    return [
        task("async, polled", case_id=polled, metadata=metadata, async_=30, poll=1, **arguments),
        task(
            "async, fire and forget",
            case_id=launched,
            metadata=metadata,
            async_=30,
            poll=0,
            register="job",
            **arguments,
        ),
        task(
            "wait for the job",
            "ansible.builtin.async_status",
            jid="{{ job.ansible_job_id }}",
            register="finished",
            until="finished is finished",
            retries=60,
            delay=1,
        ),
    ]


def play_data(tasks, *, defaults=CREDENTIALS, vars_files=(), name="tines.cases end-to-end test", **keywords):
    """One play on localhost, as data; `defaults` (None for none) become the tines group's module_defaults."""
    body = {"name": name, "hosts": "localhost", "gather_facts": False}
    if defaults:
        body["module_defaults"] = {GROUP: dict(defaults)}
    if vars_files:
        body["vars_files"] = [str(path) for path in vars_files]
    body.update(keywords)
    body["tasks"] = list(tasks)
    return body


def hosts_play(group, hosts):
    """A play adding `hosts` ({name: variables}) to the inventory group `group`.

    A later play on `group` runs each host in a fork (worker process) of its own, up to
    ANSIBLE_FORKS at once. Each host's `path` variable says how it runs the collection's
    tasks: "inprocess" connects locally, "module" through the test connection, with the
    interpreter of localhost's inventory line (run the playbook on the module path for the
    module path's interpreter). Every host must have the same variables.
    """
    names = sorted(next(iter(hosts.values())))
    add = {
        "name": "add the hosts",
        "ansible.builtin.add_host": {
            "name": "{{ item.name }}",
            "groups": group,
            "ansible_connection": "{{ item.connection }}",
            "ansible_python_interpreter": "{{ ansible_python_interpreter }}",
            **{name: "{{ item.variables.%s }}" % name for name in names},
        },
        "loop": [
            {"name": host, "connection": CONNECTIONS[variables["path"]], "variables": variables}
            for host, variables in hosts.items()
        ],
    }
    return play_data([add], defaults=None, name=f"add the hosts of {group}")


def play(tasks, **options):
    """A playbook of one play (see play_data), as YAML text."""
    return playbook(play_data(tasks, **options))


def playbook(*plays):
    """YAML text of several plays; task names must be unique, to tell their requests and results apart."""
    names = [item["name"] for body in plays for item in _all_tasks(body.get("tasks", []))]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"task names must be unique within a playbook to tell their requests apart: {repeated}")
    return yaml.safe_dump(list(plays), sort_keys=False, allow_unicode=True, width=1000)


def _all_tasks(tasks):
    for item in tasks:
        yield item
        yield from _all_tasks(item.get("block", []))


def examples_of(path):
    """The EXAMPLES of a plugin file, parsed as YAML, taken from its source without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["EXAMPLES"]:
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{path} has no EXAMPLES string")


# --- running them, and the requests of each task -------------------------------------


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

    def record(self, name):
        """The recorded entry (status, task, host, result) of the task."""
        return self.result.record(name)

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


def failure(result, name):
    """The result of task `name`, which must have failed (ansible-core 2.19 drops `failed` from it).

    `result` is a run_playbook result or an Outcome.
    """
    record = result.record(name)
    assert record["status"] == "failed", f"task {name!r} did not fail: {record}"
    return record["result"]


# --- the requests of one case ----------------------------------------------------------


def calls(sim, case_id):
    """(method, status) of every request the simulator logged for one case's metadata, in order."""
    return [(entry["method"], entry["status"]) for entry in sim.log if entry["path"] == md_path(case_id)]


def bodies(sim, case_id, method):
    return [entry["body"] for entry in sim.log if entry["path"] == md_path(case_id) and entry["method"] == method]


def gaps(sim, case_id):
    """Seconds between consecutive requests for one case (each request's arrival time)."""
    times = [entry["time"] for entry in sim.log if entry["path"] == md_path(case_id)]
    return [later - earlier for earlier, later in zip(times, times[1:])]


# --- the case list ---------------------------------------------------------------------


def page(number, per_page=500, **more):
    """A list request's query, as queries() decodes it."""
    return {"page": str(number), "per_page": str(per_page), **more}


def queries(out, name):
    """The query of each request the task sent, decoded as the simulator decodes it."""
    return [parse_query(entry["query_string"]) for entry in out.requests(name)]


def listed(out, name):
    """The case numbers a tines_case_info task returned; it must have succeeded without a change."""
    result = out.task(name)
    assert out.status(name) == "ok", (name, result.get("msg"))
    assert result["changed"] is False, name
    return [case["case_id"] for case in result["cases"]]


def refused_listing(out, name):
    """The message of a tines_case_info task that must have failed, returning no cases."""
    result = failure(out, name)
    assert "cases" not in result, name
    return result["msg"]


# --- assertions ------------------------------------------------------------------------


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
    for step, requests in (("check", [GET(case_id)]), ("apply", [GET(case_id), *writes])):
        name = f"{prefix}: {step}"
        result = out.task(name)
        assert result.get("failed") is not True, f"{name}: {result.get('msg')}"
        assert {key: result.get(key) for key in expected} == expected, name
        assert out.status(name) == ("changed" if writes else "ok"), name
        assert out.calls(name) == requests, f"{name}\n{out}"
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


def assert_nowhere(fragments, result, **more):
    """None of `fragments` (pieces of a secret) in a run's stdout, stderr and recorded results, nor in `more`."""
    outputs = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "recorded results": json.dumps(result.results, ensure_ascii=False),
        **more,
    }
    for where, text in outputs.items():
        for fragment in fragments:
            at = text.find(fragment)
            assert at < 0, f"{fragment!r} in {where}:\n{text[max(0, at - 300) : at + 300]}"


# --- the network ---------------------------------------------------------------------------


def non_loopback_ipv4():
    """This host's outgoing IPv4 address (no packet is sent), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


class Listener:
    """A TCP listener that answers nothing and records every connection and every byte it is sent.

    Stands at the address a redirect points to: if a client followed the
    redirect, the request (and its Authorization header) would land here.
    """

    def __init__(self, host="127.0.0.2"):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self.host, self.port = self._socket.getsockname()[:2]
        self.connections = []
        self.received = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-listener", daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, peer = self._socket.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                data = b""
                try:
                    while chunk := conn.recv(65536):
                        data += chunk
                except OSError:
                    pass
            with self._lock:
                self.connections.append(peer)
                self.received += data

    def close(self):
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
