#!/usr/bin/env python
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of tines.cases.tines_case_metadata against its floors and the hand-written `uri` way.

Run from the repository root (it is not a test and does not run in CI)::

    .venv/bin/python benchmarks/run.py [--cases 100] [--repeat 5] [--fast-only] [--profile]

It starts the simulator (tests/simulator/tines_sim.py) with N cases that already hold some
keys and measures, for a changing run (each case lacks two keys: one GET + one POST) and a
no-op run (nothing to do: one GET), reseeding the simulator before every run:

- the module in a loop on the in-process path (hosts: localhost, connection local), with its
  four arguments templated, and with only case_id templated (tenant and key from the environment);
- the same module on the ordinary module path (the test connection plugin tines_test_remote,
  which runs locally but is not called "local");
- the equivalent ansible.builtin.uri playbook (GET loop, then a POST loop of the missing keys only);
- the floors: the same requests from this process over one kept-alive requests.Session and over one
  http.client connection; an ansible.builtin.debug loop over the same items, and one templating the
  module task's four arguments; a play whose only task loops over nothing (start-up).

The floors and in-process runs are measured in --repeat interleaved rounds (medians shown); the
module path and uri once. Loop times come from the bench callback's timestamps (task start to task
result), so ansible-playbook's start-up is not counted. --profile adds per-function timers and a
cProfile of the workers. Results go to benchmarks/results/ as JSON.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import pstats
import re
import statistics
import sys
import time
from functools import partial

import requests
from harness import (
    API_KEY,
    FIRST_CASE,
    RESULTS,
    TAGS,
    BenchError,
    describe,
    loadavg,
    note,
    save,
    session,
    table,
    untagged,
)

RUNS = ("changing", "no-op")
FLOOR_METHODS = {"changing": ("GET", "POST"), "no-op": ("GET",)}
METADATA_PATH = re.compile(r"^/api/v2/cases/(\d+)/metadata$")
HEADERS = {"Authorization": "Bearer " + API_KEY, "Accept": "application/json"}
# key, label, playbook, path; playbooks with runs talk to the simulator, the others (run "-") do not
FAST = (
    ("empty", "empty loop (start-up)", "empty.yml", "inprocess", ("-",)),
    ("debug", "debug loop (floor)", "debug.yml", "inprocess", ("-",)),
    ("debug_args", "debug, module's 4 args", "debug_args.yml", "inprocess", ("-",)),
    ("inprocess", "module, in-process", "module.yml", "inprocess", RUNS),
    ("lean", "in-process, 1 templ. arg", "module_lean.yml", "inprocess", RUNS),
)
SLOW = (
    ("module", "module, module path", "module.yml", "module", RUNS),
    ("uri", "uri playbook", "uri.yml", "inprocess", RUNS),
)
SLOW_KEYS = frozenset(entry[0] for entry in SLOW)
# What --profile times in each worker (wall clock, inclusive): module:attribute.path
ADAPTER = "ansible_collections.tines.cases.plugins.plugin_utils._action_adapter"
UTILS = "ansible_collections.tines.cases.plugins.module_utils."
TIMERS = (
    "ansible.executor.task_executor:TaskExecutor._run_loop",
    "ansible.executor.task_executor:TaskExecutor._execute",
    "ansible.playbook.task:Task.post_validate",
    "ansible.executor.task_executor:TaskExecutor._get_connection",
    "ansible.executor.task_executor:TaskExecutor._set_connection_options",
    "ansible.executor.task_executor:TaskExecutor._get_action_handler_with_module_context",
    "ansible.executor.task_queue_manager:FinalQueue.send_callback",
    "ansible.plugins.action.debug:ActionModule.run",
    ADAPTER + ":InProcessAction.run",
    "ansible.plugins.action:ActionBase.run",
    ADAPTER + ":InProcessAction._task_environment",
    ADAPTER + ":InProcessAction._args_with_fallbacks",
    UTILS + "_arguments:validated_options",
    "ansible.module_utils.common.arg_spec:ArgumentSpecValidator.validate",
    UTILS + "_module_adapter:task_result",
    UTILS + "_connection:client_from_params",
    UTILS + "_client:environment_settings",
    UTILS + "_client:budget_for",
    UTILS + "_client:TinesClient.request",
    UTILS + "_budget:RateBudget.wait_for_slot",
    "requests.sessions:Session.prepare_request",
    "requests.sessions:Session.send",
    UTILS + "_redact:redact",
)
PROFILED = (("inprocess", "changing"), ("lean", "changing"), ("debug_args", "-"), ("debug", "-"))
LOOP_TIMER = "loop as ansible-playbook sees it"


def request_counts(log, case_ids, run):
    """Requests per case from the simulator's log, and whether any case got other requests than the floor's."""
    per_case = {case_id: [] for case_id in case_ids}
    stray = 0
    for entry in log:
        match = METADATA_PATH.match(entry["path"])
        if match and int(match.group(1)) in per_case:
            per_case[int(match.group(1))].append(entry["method"])
        else:
            stray += 1
    off_floor = sum(tuple(found) != FLOOR_METHODS[run] for found in per_case.values())
    return {
        "total": len(log),
        "methods": dict(collections.Counter(method for found in per_case.values() for method in found)),
        "defect": bool(off_floor or stray),
    }


def session_client(url):
    session = requests.Session()

    def send(method, path, body=None):
        response = session.request(method, url + path, json=body, headers=HEADERS, timeout=30)
        response.raise_for_status()
        return response.json()

    return send, session.close


def raw_client(url):
    host, port = url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def send(method, path, body=None):
        if body is None:
            conn.request(method, path, headers=HEADERS)
        else:
            conn.request(method, path, json.dumps(body), {**HEADERS, "Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())

    return send, conn.close


class Bench:
    def __init__(self, args, sim, ansible):
        self.args = args
        self.sim = sim
        self.ansible = ansible
        self.case_ids = list(range(FIRST_CASE, FIRST_CASE + args.cases))
        self.slow_ids = self.case_ids[: args.slow_cases or None]
        self.env = {"TINES_RATE_LIMIT": args.rate_limit} if args.rate_limit is not None else {}
        self.rows = []

    def http(self, client, run):
        """The same requests from this process, one connection kept alive: what HTTP alone costs."""
        self.sim.prepare(self.case_ids, run)
        send, close = client(self.sim.url)
        sim_cpu, cpu, started = self.sim.cpu(), time.process_time(), time.perf_counter()
        for case_id in self.case_ids:
            path = "/api/v2/cases/%d/metadata" % case_id
            current = send("GET", path)["metadata"]
            missing = {key: value for key, value in TAGS.items() if key not in current}
            if missing:
                send("POST", path, {"metadata": missing})
        loop, cpu = time.perf_counter() - started, time.process_time() - cpu
        close()
        return self.sample(None, loop, None, cpu, sim_cpu, run, self.case_ids)

    def play(self, key, playbook, path, run, case_ids, env=None, **bench_env):
        """Reseed the simulator for `run` (unless "-") and run `playbook` over `case_ids`."""
        if run != "-":
            self.sim.prepare(case_ids, run)
        env = dict(self.env, **(env or {}))
        if key == "lean":
            env.update(TINES_TENANT_URL=self.sim.url, TINES_API_KEY=API_KEY)
        variables = {"tines_url": self.sim.url, "tines_key": API_KEY, "case_ids": case_ids, "tags": TAGS}
        # The rounds of one measurement share rate budgets, as a user's runs do; they stay far below rate_limit.
        budgets = "%s-%s" % (key, run)
        return self.ansible.play(playbook, variables, path, env, budgets=budgets, **bench_env)

    def playbook(self, key, label, playbook, path, run, case_ids):
        """One measured run of a playbook; checks that a run talking to the simulator did its job."""
        sim_cpu = self.sim.cpu()
        play = self.play(key, playbook, path, run, case_ids)
        if run != "-":
            items = [item for item in play.items() if item["status"] != "skipped"]
            failed, changed = len(play.items("failed")), sum(item["changed"] for item in items)
            expected = len(case_ids) if run == "changing" else 0
            if failed or changed != expected:
                raise BenchError(
                    "%s, %s: %d failed items, %d changed (not %d)" % (label, run, failed, changed, expected)
                )
            wrong = untagged(self.sim.call("GET", "/_sim/cases"), case_ids)
            if wrong:
                raise BenchError("%s left %d cases without the tags, e.g. %d" % (label, len(wrong), wrong[0]))
        return self.sample(play.wall, play.loop_seconds(), play.steady_ms(), play.cpu, sim_cpu, run, case_ids)

    def sample(self, wall, loop, steady, cpu, sim_cpu_before, run, case_ids):
        sample = {"wall": wall, "loop": loop, "steady": steady, "cpu": cpu, "sim_cpu": self.sim.cpu() - sim_cpu_before}
        if run != "-":
            sample["requests"] = request_counts(self.sim.call("GET", "/_sim/log"), case_ids, run)
        return sample

    def plan(self):
        """(key, label, run, n, measure) in the order of the table."""
        n = self.args.cases
        plan = [("http", "HTTP floor (1 Session)", run, n, partial(self.http, session_client, run)) for run in RUNS]
        plan += [("raw_http", "HTTP, raw http.client", run, n, partial(self.http, raw_client, run)) for run in RUNS]
        for key, label, playbook, path, runs in FAST + (() if self.args.fast_only else SLOW):
            case_ids = self.slow_ids if key in SLOW_KEYS else self.case_ids
            for run in runs:
                measure = partial(self.playbook, key, label, playbook, path, run, case_ids)
                plan.append((key, label, run, len(case_ids), measure))
        return plan

    def measure(self):
        """Every measurement; the fast ones `repeat` times in interleaved rounds, so that drift hits them alike."""
        plan = self.plan()
        samples = [[] for _entry in plan]
        note("Measuring: %d rounds of the floors and in-process runs, then module path and uri once" % self.args.repeat)
        for round_number in range(self.args.repeat):
            for index, (key, _label, _run, _n, measure) in enumerate(plan):
                if key not in SLOW_KEYS:
                    samples[index].append(measure())
            note("  round %d/%d done (load %s)" % (round_number + 1, self.args.repeat, loadavg()))
        for index, (key, label, run, _n, measure) in enumerate(plan):
            if key in SLOW_KEYS:
                samples[index].append(measure())
                note("  %s, %s: %.1f s" % (label, run, samples[index][0]["loop"]))
        startup_cpu = statistics.median(sample["cpu"] for sample in samples[[e[0] for e in plan].index("empty")])
        for (key, label, run, n, _measure), found in zip(plan, samples):
            self.rows.append(self.row(key, label, run, n, found, startup_cpu))

    def row(self, key, label, run, n, samples, startup_cpu):
        def median(field, scale=1.0):
            values = [sample[field] for sample in samples if sample[field] is not None]
            return statistics.median(values) * scale if values else None

        row = {"key": key, "label": label if n == self.args.cases else "%s [%d]" % (label, n), "run": run, "cases": n}
        row.update(wall_s=median("wall"), loop_s=median("loop"), loops=[sample["loop"] for sample in samples])
        row.update(ms_per_case=median("loop", 1000 / n), steady_ms=median("steady"))
        cpu = [sample["cpu"] - (0 if key in ("http", "raw_http", "empty") else startup_cpu) for sample in samples]
        row.update(cpu_ms_per_case=statistics.median(cpu) * 1000 / n, sim_cpu_ms_per_case=median("sim_cpu", 1000 / n))
        counts = [sample["requests"] for sample in samples if "requests" in sample]
        if counts:
            row["requests"] = next((c for c in counts if c["defect"]), counts[-1])  # a defect in any round shows
        return row

    def find(self, key, run):
        return next((row for row in self.rows if row["key"] == key and row["run"] == run), None)

    def profile(self, out_dir):
        """Time chosen functions (low overhead), then cProfile each worker, for the in-process and debug loops."""
        timers, profiles = {}, {}
        for key, run in PROFILED:
            _key, _label, playbook, path, _runs = next(entry for entry in FAST if entry[0] == key)
            for kind in ("timers", "profile"):
                (out_dir / key / kind).mkdir(parents=True)
                env = {"BENCH_TIMERS": ",".join(TIMERS)}
                play = self.play(key, playbook, path, run, self.case_ids, env, **{kind: out_dir / key / kind})
                if kind == "timers":
                    loop = {"task": "ansible-playbook", "timers": {LOOP_TIMER: [1, play.loop_seconds(), 0.0]}}
            timers[key] = [json.loads(path.read_text()) for path in sorted((out_dir / key / "timers").glob("*.json"))]
            timers[key].append(loop)
            profiles[key] = sorted((out_dir / key / "profile").glob("*.prof"))
        return timers, profiles


def fmt(value, pattern="%.2f"):
    return "-" if value is None else pattern % value


def requests_cell(row):
    counts = row.get("requests")
    if not counts:
        return ""
    per_case = counts["total"] / row["cases"]
    methods = " + ".join("%d %s" % (count, method) for method, count in sorted(counts["methods"].items()))
    cell = "%.2f: %s%s" % (per_case, methods, ", ABOVE THE FLOOR" if counts["defect"] else "")
    if row["key"] in ("http", "raw_http"):
        cell += "; %.2f ms/request" % (row["loop_s"] * 1000 / counts["total"])
    return cell


def report(bench, meta):
    lines = ["tines.cases benchmark, N=%d cases: %s" % (bench.args.cases, describe(meta)), ""]
    header = ("path", "run", "wall s", "loop s", "ms/case", "steady", "CPU", "simCPU", "requests/case")
    rows = [
        (r["label"], r["run"], fmt(r["wall_s"]), fmt(r["loop_s"]), fmt(r["ms_per_case"]), fmt(r["steady_ms"]))
        + (fmt(r["cpu_ms_per_case"]), fmt(r["sim_cpu_ms_per_case"]), requests_cell(r))
        for r in bench.rows
    ]
    lines += table(header, rows)
    lines += [
        "",
        "loop s: task start to task result (bench callback; start-up excluded), median of %d rounds for the floors"
        % bench.args.repeat,
        "and in-process, 1 run for the module path and uri; ms/case = loop s / N ([M]: measured on M cases);",
        "steady: mean gap between item results; CPU: CPU ms per case of the ansible-playbook process tree minus the",
        "empty loop's (HTTP rows: this process); simCPU: the simulator's CPU ms per case.",
        "",
        "Slower path / in-process, per case (wall; CPU in brackets):",
    ]
    for run in RUNS:
        fast = bench.find("inprocess", run)
        cells = []
        for key, name in (("uri", "uri"), ("module", "module path")):
            slow = bench.find(key, run)
            ratios = [slow[field] / fast[field] if slow else None for field in ("ms_per_case", "cpu_ms_per_case")]
            cells.append("%s %s (%s)" % (name, fmt(ratios[0], "%.1fx"), fmt(ratios[1], "%.1fx")))
        lines.append("  %-8s %s" % (run, "   ".join(cells)))
    lines += ["", "ms per case above each floor (CPU ms in brackets):"]
    floors = [("debug", "-"), ("debug_args", "-"), ("http", None)]
    rows = []
    for key in ("inprocess", "lean", "module", "uri"):
        for run in RUNS:
            row = bench.find(key, run)
            if row:
                cells = []
                for floor_key, floor_run in floors:
                    floor = bench.find(floor_key, floor_run or run)
                    ms, cpu = (
                        row["ms_per_case"] - floor["ms_per_case"],
                        row["cpu_ms_per_case"] - floor["cpu_ms_per_case"],
                    )
                    cells.append("%.2f (%.2f)" % (ms, cpu))
                rows.append((row["label"], run, *cells))
    lines += ["  " + line for line in table(("path", "run", "above debug", "above debug+args", "above HTTP"), rows)]
    return "\n".join(lines)


def timers_report(timers, n):
    """Per-item milliseconds of each timed function, one column per profiled loop."""
    names = [LOOP_TIMER, "WorkerProcess._run"] + [spec.partition(":")[2] for spec in TIMERS]
    rows = []
    for name in names:
        cells = []
        for key, _run in PROFILED:
            found = [entry["timers"][name] for entry in timers.get(key, []) if name in entry["timers"]]
            calls, wall, cpu = (sum(values[index] for values in found) for index in range(3))
            cells.append("%.2f / %.2f %.1fx" % (wall * 1000 / n, cpu * 1000 / n, calls / n) if calls else "-")
        if any(cell != "-" for cell in cells):
            rows.append((name, *cells))
    lines = ["", "Timers in the workers (inclusive; ms per item: wall / thread CPU, calls per item):"]
    return "\n".join(lines + table(("function", *(key for key, _run in PROFILED)), rows))


def profile_report(profiles, n, limit):
    lines = ["", "cProfile of each worker (ms per item = cumulative / %d; cProfile inflates call-heavy code):" % n]
    for key, files in profiles.items():
        for path in files:
            stats = pstats.Stats(str(path))
            lines += ["", "== %s: %s (%.2f ms/item)" % (key, path, stats.total_tt * 1000 / n)]
            rows = sorted(
                ((cum, tot, calls, func) for func, (_cc, calls, tot, cum, _by) in stats.stats.items()), reverse=True
            )
            entries = []
            for cum, tot, calls, (filename, line, name) in rows[:limit]:
                where = re.sub(r"^.*/(site-packages|lib/python3\.\d+|ansible_collections/tines/cases)/", "", filename)
                entries.append(
                    ("%s:%d(%s)" % (where, line, name), "%.2f" % (cum * 1000 / n), "%.2f" % (tot * 1000 / n), calls)
                )
            lines += ["  " + line for line in table(("function", "cum ms/item", "self ms/item", "calls"), entries)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--cases", type=int, default=100, help="number of cases, the loop length (default 100)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the fast measurements (default 5)")
    parser.add_argument("--fast-only", action="store_true", help="skip the module path and uri (minutes each)")
    parser.add_argument("--slow-cases", type=int, default=0, metavar="M", help="module path and uri on M cases only")
    parser.add_argument(
        "--rate-limit", type=int, metavar="R", help="TINES_RATE_LIMIT for the module (default: its default; 0: off)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also time and cProfile the in-process and debug workers"
    )
    parser.add_argument("--profile-lines", type=int, default=40, help="functions shown per profile (default 40)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (playbook runs, logs)")
    args = parser.parse_args(argv)
    if args.cases < 2 or args.repeat < 1:
        parser.error("--cases must be at least 2 and --repeat at least 1")

    started = time.perf_counter()
    profiles = {}
    settings = {"cases": args.cases, "repeat": args.repeat, "rate_limit": args.rate_limit}
    try:
        with session("tines-bench-", args.keep, **settings) as (meta, sim, ansible):
            bench = Bench(args, sim, ansible)
            bench.measure()
            meta["load_end"] = loadavg()
            print(report(bench, meta), flush=True)
            if args.profile:
                note("Profiling...")
                timers, profiles = bench.profile(RESULTS / ("profile-" + time.strftime("%Y%m%d-%H%M%S")))
                print(timers_report(timers, args.cases), flush=True)
                print(profile_report(profiles, args.cases, args.profile_lines), flush=True)
    except BenchError as exc:
        print("benchmark failed: %s" % exc, file=sys.stderr)
        return 1
    profiles = {key: [str(path) for path in files] for key, files in profiles.items()}
    path = save("run", {"meta": meta, "rows": bench.rows, "profiles": profiles})
    note("Took %.0f s; results in %s" % (time.perf_counter() - started, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
