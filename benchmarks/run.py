#!/usr/bin/env python
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of tines.cases.tines_case_metadata against its floors and the hand-written `uri` way.

Run from the repository root (it is not a test and does not run in CI)::

    .venv/bin/python benchmarks/run.py [--cases 100] [--repeat 5] [--fast-only] [--profile]

It starts the simulator (tests/simulator/tines_sim.py) on a free port with N cases that already hold
some keys, then measures, for a changing run (each case lacks two keys: one GET + one POST) and a
no-op run (nothing to do: one GET), reseeding the simulator before every run:

- the module in a loop on the in-process path (hosts: localhost, connection local);
- the same module forced onto the ordinary module path (the test connection plugin tines_test_remote,
  which executes locally but is not called "local");
- the equivalent ansible.builtin.uri playbook (GET loop, then a POST loop of the missing keys only);
- the floors: the same requests from this process with one kept-alive requests.Session (HTTP floor;
  also over one http.client connection, for reference), and an ansible.builtin.debug loop over the same
  items (Ansible's own per-item floor), plus a debug loop templating the module task's four arguments
  and the module with one templated argument, which show what argument templating costs.

The fast measurements run in --repeat interleaved rounds (medians shown); the module path and uri run
once (about 1 and 2 minutes at N=100; the whole run takes about 6 minutes). Targets of issue 6 are
checked and printed as PASS/MISS. --profile adds per-function timers and a cProfile of the workers.

Times are loop times taken from a callback's timestamps (task start to task result, in the
ansible-playbook main process), so ansible-playbook's start-up is not counted; wall-clock times are
shown next to them, with the wall time of a play whose only task has an empty loop (start-up alone),
and CPU per case (the ansible-playbook process tree, minus the empty-loop play). Requests per case
come from the simulator's log. Results are also written as JSON to benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import functools
import http.client
import json
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SIMULATOR = REPO / "tests" / "simulator" / "tines_sim.py"
TEST_CONNECTIONS = REPO / "tests" / "integration" / "helpers" / "connection_plugins"
CALLBACKS = BENCH / "callback_plugins"
PLAYBOOKS = BENCH / "playbooks"
RESULTS = BENCH / "results"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

API_KEY = "bench-api-key"
FIRST_CASE = 1001
TAGS = {"source": "edr", "pipeline": "bench", "triage": "auto"}  # "source" is already there: 2 keys to add
RUNS = ("changing", "no-op")
FLOOR_REQUESTS = {"changing": 2, "no-op": 1}
FLOOR_METHODS = {"changing": ("GET", "POST"), "no-op": ("GET",)}
CONNECTIONS = {"local": "local", "module": "tines_test_remote"}
METADATA_PATH = re.compile(r"^/api/v2/cases/(\d+)/metadata$")

# What --profile times in each worker (wall clock, inclusive): module:attribute.path
TIMERS = (
    "ansible.executor.task_executor:TaskExecutor._run_loop",
    "ansible.executor.task_executor:TaskExecutor._execute",
    "ansible.playbook.task:Task.post_validate",
    "ansible.playbook.task:Task._post_validate_args",
    "ansible.executor.task_executor:TaskExecutor._get_connection",
    "ansible.executor.task_executor:TaskExecutor._set_connection_options",
    "ansible.executor.task_executor:TaskExecutor._get_action_handler_with_module_context",
    "ansible.executor.task_queue_manager:FinalQueue.send_callback",
    "ansible.plugins.action.debug:ActionModule.run",
    "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter:InProcessAction.run",
    "ansible.plugins.action:ActionBase.run",
    "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter:InProcessAction._args_with_task_environment",
    "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter:InProcessAction._task_environment",
    "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter:InProcessAction._args_with_fallbacks",
    "ansible_collections.tines.cases.plugins.module_utils._client:environment_settings",
    "ansible.module_utils.common.arg_spec:ArgumentSpecValidator.__init__",
    "ansible.module_utils.common.arg_spec:ArgumentSpecValidator.validate",
    "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter:InProcessAction._run_task",
    "ansible_collections.tines.cases.plugins.module_utils._case_task:client_from_params",
    "ansible_collections.tines.cases.plugins.module_utils._client:TinesClient.request",
    "requests.sessions:Session.prepare_request",
    "requests.sessions:Session.merge_environment_settings",
    "requests.sessions:Session.send",
    "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter:remove_values",
)
LOOP_TIMER = "loop as ansible-playbook sees it (task start to result)"
PROFILED = (
    ("inprocess", "module.yml", "changing"),
    ("lean", "module_lean.yml", "changing"),
    ("debug_args", "debug_args.yml", None),
    ("debug", "debug.yml", None),
)

TARGET_URI_RATIO = 40.0
TARGET_MODULE_RATIO = 25.0
TARGET_ABOVE_DEBUG_MS = 5.0


class BenchError(Exception):
    pass


def note(message):
    print(message, file=sys.stderr, flush=True)


def base_metadata(case_id):
    return {"source": "edr", "ticket": "OPS-%d" % case_id, "severity": "2"}


def seed(case_ids, run):
    """The cases before a run: a changing run finds two of TAGS missing, a no-op run finds all of them."""
    extra = TAGS if run == "no-op" else {}
    return {str(case_id): {**base_metadata(case_id), **extra} for case_id in case_ids}


# --- the simulator ----------------------------------------------------------------------------------


class Simulator:
    """The simulator as a subprocess on a free port, driven through its /_sim control endpoints."""

    def __init__(self, work, case_ids):
        self.work = work
        self.case_ids = case_ids
        self.proc = None
        self.url = None
        self.control = requests.Session()

    def __enter__(self):
        seed_file = self.work / "seed.json"
        seed_file.write_text(json.dumps(seed(self.case_ids, "changing")))
        port_file = self.work / "sim.port"
        command = [sys.executable, str(SIMULATOR), "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file)]
        command += ["--api-key", API_KEY, "--seed", str(seed_file)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise BenchError(
                    "the simulator did not start: %s" % (self.proc.stderr.read() if self.proc.stderr else "")
                )
            time.sleep(0.02)
        self.url = "http://127.0.0.1:%d" % int(port_file.read_text())
        return self

    def __exit__(self, *exc_info):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _call(self, method, path, body=None):
        response = self.control.request(method, self.url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def reseed(self, run):
        self._call("PUT", "/_sim/cases", seed(self.case_ids, run))
        self._call("DELETE", "/_sim/log")

    def log(self):
        return self._call("GET", "/_sim/log")

    def cpu(self):
        """CPU seconds the simulator process has used so far (user + system)."""
        fields = Path("/proc/%d/stat" % self.proc.pid).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cases(self):
        return self._call("GET", "/_sim/cases")


def request_counts(log, case_ids, run):
    """Requests per case from the simulator's log, and whether any case got more than the floor."""
    per_case = {case_id: [] for case_id in case_ids}
    stray = []
    for entry in log:
        match = METADATA_PATH.match(entry["path"])
        if match and int(match.group(1)) in per_case:
            per_case[int(match.group(1))].append(entry["method"])
        else:
            stray.append("%s %s" % (entry["method"], entry["path"]))
    counts = [len(methods) for methods in per_case.values()]
    methods = collections.Counter(method for found in per_case.values() for method in found)
    off_floor = [case_id for case_id, found in per_case.items() if tuple(found) != FLOOR_METHODS[run]]
    return {
        "total": len(log),
        "per_case": len(log) / len(case_ids),
        "max": max(counts),
        "methods": dict(methods),
        "off_floor_cases": len(off_floor),
        "stray": stray[:5],
        "defect": bool(off_floor or stray),
    }


# --- ansible-playbook ---------------------------------------------------------------------------------


class Ansible:
    """A private Ansible setup: the collection on a temporary collections path, no user configuration."""

    def __init__(self, work, sim):
        self.work = work
        namespace = work / "collections" / "ansible_collections" / "tines"
        namespace.mkdir(parents=True)
        (namespace / "cases").symlink_to(REPO, target_is_directory=True)
        self.config = work / "ansible.cfg"
        self.config.write_text("# empty: keeps any ansible.cfg in the working directory or HOME out\n")
        self.inventories = {}
        for path, connection in CONNECTIONS.items():
            inventory = work / ("inventory-%s.ini" % path)
            inventory.write_text(
                "localhost ansible_connection=%s ansible_python_interpreter=%s\n" % (connection, sys.executable)
            )
            self.inventories[path] = inventory
        self.sim = sim
        self.vars_files = {}
        self.runs = 0

    def vars_file(self, case_ids):
        """The extra vars file for a loop over `case_ids`."""
        key = tuple(case_ids)
        if key not in self.vars_files:
            path = self.work / ("vars-%d.json" % len(self.vars_files))
            path.write_text(
                json.dumps({"tines_url": self.sim.url, "tines_key": API_KEY, "case_ids": case_ids, "tags": TAGS})
            )
            self.vars_files[key] = path
        return self.vars_files[key]

    def environment(self, run_dir, cprofile=None, timers=None, extra_env=None):
        env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "TINES_"))}
        env.update(
            ANSIBLE_CONFIG=str(self.config),
            ANSIBLE_COLLECTIONS_PATH=str(self.work / "collections"),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
            ANSIBLE_CONNECTION_PLUGINS=str(TEST_CONNECTIONS),
            ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
            ANSIBLE_CALLBACKS_ENABLED="bench_timing"
            + (",bench_profile" if cprofile else "")
            + (",bench_timers" if timers else ""),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_LOCALHOST_WARNING="False",
            ANSIBLE_LOCAL_TEMP=str(run_dir / "local-tmp"),
            ANSIBLE_REMOTE_TEMP=str(run_dir / "remote-tmp"),
            BENCH_TIMING_FILE=str(run_dir / "timing.json"),
        )
        env.update(extra_env or {})
        if cprofile:
            env["BENCH_PROFILE_DIR"] = str(cprofile)
        if timers:
            env.update(BENCH_TIMERS_DIR=str(timers), BENCH_TIMERS=",".join(TIMERS))
        return env

    def play(self, playbook, case_ids, connection="local", cprofile=None, timers=None, extra_env=None):
        """Run a playbook; return its wall time and the callback's task timings."""
        self.runs += 1
        run_dir = self.work / ("run-%03d" % self.runs)
        run_dir.mkdir()
        command = [ANSIBLE_PLAYBOOK, "-i", str(self.inventories[connection]), "-e", "@%s" % self.vars_file(case_ids)]
        command.append(str(PLAYBOOKS / playbook))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            command,
            cwd=run_dir,
            env=self.environment(run_dir, cprofile, timers, extra_env),
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.last_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        if proc.returncode != 0:
            raise BenchError(
                "%s failed (rc=%d)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(command), proc.returncode, proc.stdout[-4000:], proc.stderr[-3000:])
            )
        timing = json.loads((run_dir / "timing.json").read_text())
        return wall, timing["tasks"]


def loop_seconds(tasks):
    """Time spent in the tasks' loops: task start to task result, summed over the play's tasks."""
    return sum(task["end"] - task["start"] for task in tasks)


def steady_ms_per_item(tasks):
    """Mean gap between consecutive item results: the per-item cost once the first item is done."""
    total = 0.0
    for task in tasks:
        times = [item["t"] for item in task["items"]]
        if len(times) > 1:
            total += (times[-1] - times[0]) / (len(times) - 1)
    return total * 1000


# --- measurements -------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args, work, sim, ansible, case_ids):
        self.args = args
        self.work = work
        self.sim = sim
        self.ansible = ansible
        self.case_ids = case_ids
        self.n = len(case_ids)
        self.rows = []

    def sample(self, wall, loop, steady, cpu, sim_cpu_before):
        return {"wall": wall, "loop": loop, "steady": steady, "cpu": cpu, "sim_cpu": self.sim.cpu() - sim_cpu_before}

    def add_row(self, key, label, run, samples, requests_seen=None, n=None):
        n = n or self.n
        loops = [sample["loop"] for sample in samples]
        loop = statistics.median(loops)
        row = {
            "key": key,
            "label": label if n == self.n else "%s [%d]" % (label, n),
            "run": run,
            "cases": n,
            "wall_s": statistics.median(sample["wall"] for sample in samples) if samples[0]["wall"] else None,
            "loop_s": loop,
            "loop_s_all": loops,
            "ms_per_case": loop * 1000 / n,
            "steady_ms": statistics.median(sample["steady"] for sample in samples)
            if samples[0]["steady"] is not None
            else None,
            "requests": requests_seen,
            "cpu_s": statistics.median(sample["cpu"] for sample in samples),
            "cpu_ms_per_case": statistics.median(sample["cpu"] for sample in samples) * 1000 / n,
            "sim_cpu_ms_per_case": statistics.median(sample["sim_cpu"] for sample in samples) * 1000 / n,
        }
        self.rows.append(row)
        return row

    def row(self, key, run):
        for row in self.rows:
            if row["key"] == key and row["run"] == run:
                return row
        return None

    def http_floor(self, run):
        """The same requests from this process with one kept-alive session: what HTTP alone costs."""
        self.sim.reseed(run)
        session = requests.Session()
        headers = {"Authorization": "Bearer " + API_KEY, "Accept": "application/json"}
        sim_cpu, cpu, started = self.sim.cpu(), time.process_time(), time.perf_counter()
        for case_id in self.case_ids:
            url = "%s/api/v2/cases/%d/metadata" % (self.sim.url, case_id)
            current = session.get(url, headers=headers, timeout=30)
            current.raise_for_status()
            missing = {key: value for key, value in TAGS.items() if key not in current.json()["metadata"]}
            if missing:
                session.post(url, json={"metadata": missing}, headers=headers, timeout=30).raise_for_status()
        sample = self.sample(None, time.perf_counter() - started, None, time.process_time() - cpu, sim_cpu)
        session.close()
        return sample, request_counts(self.sim.log(), self.case_ids, run)

    def raw_http(self, run):
        """The same requests over one kept-alive http.client connection: the server's share of the floor."""
        host, port = self.sim.url.rsplit("/", 1)[1].split(":")
        headers = {"Authorization": "Bearer " + API_KEY, "Accept": "application/json"}
        self.sim.reseed(run)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        sim_cpu, cpu, started = self.sim.cpu(), time.process_time(), time.perf_counter()
        for case_id in self.case_ids:
            path = "/api/v2/cases/%d/metadata" % case_id
            conn.request("GET", path, headers=headers)
            current = json.loads(conn.getresponse().read())
            missing = {key: value for key, value in TAGS.items() if key not in current["metadata"]}
            if missing:
                body = json.dumps({"metadata": missing})
                conn.request("POST", path, body, {**headers, "Content-Type": "application/json"})
                conn.getresponse().read()
        sample = self.sample(None, time.perf_counter() - started, None, time.process_time() - cpu, sim_cpu)
        conn.close()
        return sample, request_counts(self.sim.log(), self.case_ids, run)

    def playbook(self, label, playbook, connection, run, cases, extra_env=None):
        """One run of a playbook: its sample, and the requests per case when it talks to the simulator."""
        if run:
            self.sim.reseed(run)
        sim_cpu = self.sim.cpu()
        wall, tasks = self.ansible.play(playbook, cases, connection, extra_env=extra_env)
        self.check_items(label, run, tasks, len(cases))
        sample = self.sample(wall, loop_seconds(tasks), steady_ms_per_item(tasks), self.ansible.last_cpu, sim_cpu)
        counts = None
        if run:
            counts = request_counts(self.sim.log(), cases, run)
            self.check_cases(label, cases)
        return sample, counts

    def check_items(self, label, run, tasks, n):
        """Every case was handled, and `changed` says what the run should have done."""
        if run is None:
            return
        items = [item for task in tasks for item in task["items"] if item["status"] != "skipped"]
        failed = [item for item in items if item["status"] == "failed"]
        changed = sum(item["changed"] for item in items)
        want_changed = n if run == "changing" else 0
        if failed or changed != want_changed:
            raise BenchError(
                "%s %s run: %d failed items, %d changed (expected %d)"
                % (label, run, len(failed), changed, want_changed)
            )

    def check_cases(self, label, case_ids):
        cases = self.sim.cases()
        wrong = [case_id for case_id in case_ids if cases[str(case_id)] != {**base_metadata(case_id), **TAGS}]
        if wrong:
            raise BenchError("%s left %d cases without the tags, e.g. %s" % (label, len(wrong), cases[str(wrong[0])]))

    def measure(self):
        """Run every measurement; the fast ones `repeat` times in interleaved rounds, so drift hits them alike."""
        args = self.args
        lean_env = {"TINES_TENANT_URL": self.sim.url, "TINES_API_KEY": API_KEY}
        slow = self.case_ids[: args.slow_cases or None]
        # (key, label, run, measure) in the order of the table
        plan = []
        for run in RUNS:
            plan.append(("http", "HTTP floor (1 Session)", run, functools.partial(self.http_floor, run)))
        for run in RUNS:
            plan.append(("raw_http", "HTTP, raw http.client", run, functools.partial(self.raw_http, run)))
        for key, label, playbook in (
            ("empty", "empty loop (start-up)", "empty.yml"),
            ("debug", "debug loop (floor)", "debug.yml"),
            ("debug_args", "debug, module's 4 args", "debug_args.yml"),
        ):
            plan.append(
                (key, label, "-", functools.partial(self.playbook, label, playbook, "local", None, self.case_ids))
            )
        for key, label, playbook, env in (
            ("inprocess", "module, in-process", "module.yml", None),
            ("lean", "in-process, 1 templ. arg", "module_lean.yml", lean_env),
        ):
            for run in RUNS:
                plan.append(
                    (
                        key,
                        label,
                        run,
                        functools.partial(self.playbook, label, playbook, "local", run, self.case_ids, env),
                    )
                )
        fast = len(plan)
        if not args.fast_only:
            for key, label, playbook, connection in (
                ("module", "module, module path", "module.yml", "module"),
                ("uri", "uri playbook", "uri.yml", "local"),
            ):
                for run in RUNS:
                    plan.append(
                        (key, label, run, functools.partial(self.playbook, label, playbook, connection, run, slow))
                    )

        note(
            "Measuring: %d rounds of the floors and in-process runs, then 1 of the module path and uri..." % args.repeat
        )
        results = {index: [] for index in range(len(plan))}
        for round_number in range(args.repeat):
            for index in range(fast):
                results[index].append(plan[index][3]())
            note("  round %d/%d done" % (round_number + 1, args.repeat))
        for index in range(fast, len(plan)):
            key, label, run, measure = plan[index]
            results[index].append(measure())
            note("  %s, %s: %.1f s" % (label, run, results[index][0][0]["loop"]))

        empty_cpu = statistics.median(sample["cpu"] for sample, _counts in results[[p[0] for p in plan].index("empty")])
        for index, (key, label, run, _measure) in enumerate(plan):
            samples = [sample for sample, _counts in results[index]]
            if key not in ("http", "raw_http", "empty"):
                for sample in samples:
                    sample["cpu"] -= empty_cpu
            counts = results[index][-1][1]
            defects = [c for _sample, c in results[index] if c and c["defect"]]
            if defects:
                counts = defects[0]  # show the worst: a defect in any repeat
            n = len(slow) if key in ("module", "uri") else self.n
            row = self.add_row(key, label, run, samples, counts, n)
            if key in ("http", "raw_http"):
                row["ms_per_request"] = row["loop_s"] * 1000 / counts["total"]

    def profile(self, out_dir):
        """Time chosen functions (low overhead), then cProfile each worker, for the in-process and debug loops."""
        out_dir.mkdir(parents=True, exist_ok=True)
        timers, profiles = {}, {}
        for key, playbook, run in PROFILED:
            for kind in ("timers", "cprofile"):
                target = out_dir / key / kind
                target.mkdir(parents=True, exist_ok=True)
                if run:
                    self.sim.reseed(run)
                lean_env = {"TINES_TENANT_URL": self.sim.url, "TINES_API_KEY": API_KEY} if key == "lean" else None
                _wall, tasks = self.ansible.play(playbook, self.case_ids, "local", extra_env=lean_env, **{kind: target})
                if kind == "timers":
                    loop = {LOOP_TIMER: [1, loop_seconds(tasks), 0.0]}
            timers[key] = [json.loads(path.read_text()) for path in sorted((out_dir / key / "timers").glob("*.json"))]
            timers[key].append({"task": "ansible-playbook", "timers": loop})
            profiles[key] = sorted((out_dir / key / "cprofile").glob("*.prof"))
        return timers, profiles


# --- report -------------------------------------------------------------------------------------------


def fmt(value, pattern):
    return "-" if value is None else pattern % value


def ratio(slow, fast, field="ms_per_case"):
    if not slow or not fast or fast[field] <= 0:
        return None
    return slow[field] / fast[field]


def report(bench, meta):
    lines = []
    out = lines.append
    n = bench.n
    out(
        "tines.cases benchmark: N=%d cases, %s, %d cores, ansible-core %s, Python %s, load avg %s before, %s after"
        % (n, meta["date"], meta["cores"], meta["ansible_core"], meta["python"], meta["load_start"], meta["load"])
    )
    out("code measured: %s" % meta["commit"])
    out("ms/case = loop s / N; loop s = task start to task result from a callback's timestamps (ansible-playbook")
    out("start-up excluded); wall s = whole ansible-playbook run; steady = mean gap between item results (ms);")
    out("CPU = user+system CPU of the whole ansible-playbook run (workers, modules) minus that of the empty-loop play")
    out(
        "(start-up), per case (HTTP rows: this process); simCPU = the simulator's CPU per case. Median of %d runs"
        % bench.args.repeat
    )
    out("for the floors and in-process, 1 run for module path and uri. [M] = measured on M cases.")
    out("")
    header = "%-24s %-8s %7s %7s %8s %7s %7s %7s  %s" % (
        "path",
        "run",
        "wall s",
        "loop s",
        "ms/case",
        "steady",
        "CPU",
        "simCPU",
        "requests/case (floor)",
    )
    out(header)
    out("-" * (len(header) + 20))
    for row in bench.rows:
        counts = row["requests"]
        if counts:
            floor = FLOOR_REQUESTS[row["run"]]
            reqs = "%.2f max %d (%d) %s" % (
                counts["per_case"],
                counts["max"],
                floor,
                "DEFECT: above the floor" if counts["defect"] else "at floor",
            )
            reqs += ", " + "+".join("%d %s" % (count, method) for method, count in sorted(counts["methods"].items()))
        else:
            reqs = ""
        if row["key"] in ("http", "raw_http"):
            reqs += "; %.2f ms/request" % row["ms_per_request"]
        out(
            "%-24s %-8s %7s %7.2f %8.2f %7s %7.2f %7.2f  %s"
            % (
                row["label"],
                row["run"],
                fmt(row["wall_s"], "%.2f"),
                row["loop_s"],
                row["ms_per_case"],
                fmt(row["steady_ms"], "%.2f"),
                row["cpu_ms_per_case"],
                row["sim_cpu_ms_per_case"],
                reqs,
            )
        )
    out("")
    out("Ratios, slower path / in-process, per case (wall ms/case; CPU ms/case in brackets):")
    for run in ("changing", "no-op"):
        fast = bench.row("inprocess", run)
        parts = []
        for key, name in (("uri", "uri"), ("module", "module path")):
            slow = bench.row(key, run)
            parts.append(
                "%s %s (%s)"
                % (name, fmt(ratio(slow, fast), "%.1fx"), fmt(ratio(slow, fast, "cpu_ms_per_case"), "%.1fx"))
            )
        out("  %-8s %s" % (run, "   ".join(parts)))
    out("")
    out("Overhead per case above the floors (ms/case minus the floor's ms/case; CPU ms/case in brackets):")
    out("  %-24s %-8s %17s %19s %17s" % ("path", "run", "above debug", "above debug+args", "above HTTP"))
    floors = [bench.row("debug", "-"), bench.row("debug_args", "-")]
    for key in ("inprocess", "lean", "module", "uri"):
        for run in ("changing", "no-op"):
            row = bench.row(key, run)
            if row:
                cells = []
                for floor in floors + [bench.row("http", run)]:
                    cells.append(
                        "%8.2f (%6.2f)"
                        % (row["ms_per_case"] - floor["ms_per_case"], row["cpu_ms_per_case"] - floor["cpu_ms_per_case"])
                    )
                out("  %-24s %-8s %17s %19s %17s" % tuple([row["label"], run] + cells))
    out("")
    debug = floors[0]
    out("Targets (issue 6):")
    targets = []
    for run in ("changing", "no-op"):
        value = ratio(bench.row("uri", run), bench.row("inprocess", run))
        targets.append(
            (
                "in-process >= %gx faster per case than uri (%s)" % (TARGET_URI_RATIO, run),
                value,
                "%.1fx",
                value is not None and value >= TARGET_URI_RATIO,
            )
        )
    for run in ("changing", "no-op"):
        value = ratio(bench.row("module", run), bench.row("inprocess", run))
        targets.append(
            (
                "in-process >= %gx faster per case than the module path (%s)" % (TARGET_MODULE_RATIO, run),
                value,
                "%.1fx",
                value is not None and value >= TARGET_MODULE_RATIO,
            )
        )
    above = bench.row("inprocess", "changing")["ms_per_case"] - debug["ms_per_case"]
    targets.append(
        (
            "in-process <= %g ms per case above the debug loop (changing)" % TARGET_ABOVE_DEBUG_MS,
            above,
            "%.2f ms",
            above <= TARGET_ABOVE_DEBUG_MS,
        )
    )
    for key in ("inprocess", "module"):
        for run in ("changing", "no-op"):
            row = bench.row(key, run)
            if row:
                counts = row["requests"]
                targets.append(
                    (
                        "no more requests per case than the floor: %s, %s" % (row["label"], run),
                        counts["per_case"],
                        "%.2f/case (max " + str(counts["max"]) + ")",
                        not counts["defect"],
                    )
                )
    for name, value, pattern, ok in targets:
        status = "PASS" if ok else ("n/a " if value is None else "MISS")
        out("  %s  %-66s %s" % (status, name, fmt(value, pattern)))
    bench.targets = [{"target": name, "value": value, "pass": ok} for name, value, _pattern, ok in targets]
    lean = bench.row("lean", "changing")
    if lean:
        out(
            "  info  in-process with one templated argument (env tenant/key, literal metadata), changing: %.2f ms"
            " per case above the debug loop" % (lean["ms_per_case"] - debug["ms_per_case"])
        )
    return "\n".join(lines)


def print_timers(timers, n):
    """Per-item milliseconds of each timed function, one column per profiled loop."""
    keys = [key for key, _playbook, _run in PROFILED]
    lines = [
        "",
        "Timers inside the worker (inclusive; ms per item = total / %d, wall / thread CPU; calls per item):" % n,
    ]
    lines.append("  %-56s" % "function" + "".join("%22s" % key for key in keys))
    names = [LOOP_TIMER, "WorkerProcess._run"] + [spec.partition(":")[2] for spec in TIMERS]
    for name in names:
        cells = []
        for key in keys:
            found = [report["timers"][name] for report in timers.get(key, []) if name in report["timers"]]
            calls = sum(entry[0] for entry in found)
            wall = sum(entry[1] for entry in found) * 1000 / n
            cpu = sum(entry[2] for entry in found) * 1000 / n
            cells.append("%6.2f / %5.2f %4.1fx" % (wall, cpu, calls / n) if calls else "-")
        if any(cell != "-" for cell in cells):
            lines.append("  %-56s" % name + "".join("%22s" % cell for cell in cells))
    return "\n".join(lines)


def print_profile(reports, n, limit):
    lines = ["", "Profiles (cProfile of each worker process; ms per item = cumulative / %d):" % n]
    for key, files in reports.items():
        for path in files:
            stats = pstats.Stats(str(path))
            lines.append("")
            lines.append(
                "== %s: %s (total %.1f ms, %.2f ms/item)"
                % (key, path, stats.total_tt * 1000, stats.total_tt * 1000 / n)
            )
            rows = []
            for func, (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
                rows.append((cumtime, tottime, ncalls, func))
            rows.sort(reverse=True)
            lines.append("  %10s %10s %8s  %s" % ("cum ms/it", "self ms/it", "calls", "function"))
            for cumtime, tottime, ncalls, (filename, line, name) in rows[:limit]:
                short = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", filename)
                short = short.replace(str(REPO) + "/", "")
                lines.append(
                    "  %10.2f %10.2f %8d  %s:%d(%s)"
                    % (cumtime * 1000 / n, tottime * 1000 / n, ncalls, short, line, name)
                )
    return "\n".join(lines)


def git_state():
    """The commit measured, and whether plugins/ differs from it (uncommitted changes are measured too)."""

    def git(*args):
        proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    dirty = git("status", "--porcelain", "--", "plugins")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes in plugins/" if dirty else "")


def ansible_core_version():
    out = subprocess.run(
        [sys.executable, "-c", "import ansible.release as r; print(r.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--cases", type=int, default=100, help="number of cases, the loop length (default 100)")
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds of the fast measurements; medians are shown (default 5)"
    )
    parser.add_argument("--fast-only", action="store_true", help="skip the slow module path and uri runs")
    parser.add_argument(
        "--slow-cases",
        type=int,
        default=0,
        metavar="M",
        help="run the module path and uri on the first M cases only (quicker; default: all N)",
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile the in-process and debug workers")
    parser.add_argument("--profile-lines", type=int, default=40, help="functions shown per profile (default 40)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (playbook runs, logs)")
    args = parser.parse_args(argv)
    if args.cases < 2 or args.repeat < 1:
        parser.error("--cases must be at least 2 and --repeat at least 1")

    case_ids = list(range(FIRST_CASE, FIRST_CASE + args.cases))
    work = Path(tempfile.mkdtemp(prefix="tines-bench-"))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = {
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "ansible_core": ansible_core_version(),
        "python": platform.python_version(),
        "commit": git_state(),
        "cases": args.cases,
        "repeat": args.repeat,
    }
    meta["load_start"] = "%.2f %.2f %.2f" % os.getloadavg()
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        note(
            "warning: load average %s on %s cores; other processes will slow the figures"
            % (meta["load_start"], meta["cores"])
        )
    started = time.perf_counter()
    try:
        with Simulator(work, case_ids) as sim:
            ansible = Ansible(work, sim)
            bench = Bench(args, work, sim, ansible, case_ids)
            bench.measure()
            meta["load"] = "%.2f %.2f %.2f" % os.getloadavg()
            text = report(bench, meta)
            print(text, flush=True)
            profiles = {}
            if args.profile:
                note("Profiling...")
                timers, profiles = bench.profile(RESULTS / ("profile-" + stamp))
                print(print_timers(timers, args.cases), flush=True)
                print(print_profile(profiles, args.cases, args.profile_lines), flush=True)
    except BenchError as exc:
        print("benchmark failed: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if args.keep:
            note("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    result_file = RESULTS / ("%s.json" % stamp)
    result_file.write_text(
        json.dumps(
            {
                "meta": meta,
                "rows": bench.rows,
                "targets": bench.targets,
                "profiles": {k: [str(p) for p in v] for k, v in profiles.items()},
            },
            indent=2,
        )
    )
    note("Took %.0f s; results in %s" % (time.perf_counter() - started, result_file.relative_to(REPO)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
