# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks share: the simulator in a subprocess, private ansible-playbook runs, the cases, tables.

ansible-playbook runs with the private set-up of the end-to-end tests
(tests/e2e/helpers/ansible_env.py) and the benchmark callback (callback_plugins/bench.py).
A run's rate budgets (XDG_RUNTIME_DIR) are its own unless it names budgets to share.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _path in (REPO / "tests" / "e2e", REPO / "tests" / "simulator"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import tines_sim  # noqa: E402
from helpers.ansible_env import environment, make_tree, playbook_command  # noqa: E402

PLAYBOOKS = BENCH / "playbooks"
RESULTS = BENCH / "results"
API_KEY = "bench-api-key"
FIRST_CASE = 1001
TAGS = {"source": "edr", "pipeline": "bench", "triage": "auto"}  # "source" is already there: 2 keys to add


class BenchError(Exception):
    pass


def note(message):
    print(message, file=sys.stderr, flush=True)


def base_metadata(case_id):
    return {"source": "edr", "ticket": "OPS-%d" % case_id, "severity": "2"}


def seed(case_ids, run="changing"):
    """The cases before a run: a changing run finds two of TAGS missing, a no-op run finds all of them."""
    extra = TAGS if run == "no-op" else {}
    return {str(case_id): {**base_metadata(case_id), **extra} for case_id in case_ids}


def untagged(cases, case_ids):
    """The cases of `case_ids` that do not hold exactly their base metadata plus TAGS."""
    return [case_id for case_id in case_ids if cases[str(case_id)] != {**base_metadata(case_id), **TAGS}]


class Simulator:
    """tests/simulator/tines_sim.py as a subprocess on a free port, driven through its /_sim control endpoints.

    A subprocess, so that its work never competes with the benchmark's own process for the GIL.
    """

    def __init__(self, work):
        self.work = Path(work)
        self.proc = None
        self.url = None
        self.control = requests.Session()

    def __enter__(self):
        try:
            self.proc, self.url = tines_sim.launch(["--port", "0", "--api-key", API_KEY], str(self.work / "sim.log"))
        except RuntimeError as exc:
            raise BenchError(str(exc)) from exc
        return self

    def __exit__(self, *exc_info):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def call(self, method, path, body=None):
        response = self.control.request(method, self.url + path, json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    def prepare(self, case_ids, run="changing", **options):
        """Seed the cases for `run`, set `options` (rate limit options restart the limiter), clear log and stats."""
        if options:
            self.call("POST", "/_sim/options", options)
        self.call("PUT", "/_sim/cases", seed(case_ids, run))
        self.call("DELETE", "/_sim/log")
        self.call("DELETE", "/_sim/stats")

    def cpu(self):
        """CPU seconds the simulator process has used so far (user + system)."""
        fields = Path("/proc/%d/stat" % self.proc.pid).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Play:
    """One ansible-playbook run: wall and CPU seconds (the process tree), rc, output, the callback's tasks."""

    def __init__(self, wall, cpu, proc, tasks):
        self.wall, self.cpu, self.rc, self.tasks = wall, cpu, proc.returncode, tasks
        self.output = "--- stdout ---\n%s\n--- stderr ---\n%s" % (proc.stdout[-4000:], proc.stderr[-3000:])

    def items(self, status=None):
        return [item for task in self.tasks for item in task["items"] if status in (None, item["status"])]

    def loop_seconds(self, name=None):
        """Task start to task result (the last host's), summed over the tasks (or the one called `name`)."""
        return sum(task["end"] - task["start"] for task in self.tasks if name in (None, task["name"]))

    def steady_ms(self):
        """Mean gap between consecutive item results, summed over the tasks: the per-item cost after the first."""
        total = 0.0
        for task in self.tasks:
            times = [item["t"] for item in task["items"]]
            if len(times) > 1:
                total += (times[-1] - times[0]) / (len(times) - 1)
        return total * 1000


class Ansible:
    """Private ansible-playbook runs, each in a directory of its own under `work`."""

    def __init__(self, work):
        self.work = Path(work)
        self.tree = make_tree(self.work / "ansible")
        self.runs = 0

    def play(self, playbook, extra_vars, path="inprocess", env=None, check=True, budgets=None, **bench_env):
        """Run benchmarks/playbooks/`playbook`; raise BenchError if it fails and `check`.

        `budgets`: a name for the rate budgets (XDG_RUNTIME_DIR) that runs of the same name
        share; by default the run has budgets of its own. `bench_env`: timers=dir (with
        BENCH_TIMERS in `env`) or profile=dir, for the bench callback.
        """
        self.runs += 1
        run_dir = self.work / ("run-%03d" % self.runs)
        run_dir.mkdir()
        vars_file = run_dir / "vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        overrides = {"BENCH_TIMING_FILE": run_dir / "timing.json", **(env or {})}
        if bench_env:
            overrides.update({"BENCH_%s_DIR" % key.upper(): value for key, value in bench_env.items()})
            # The last task's worker writes its files after its result is in: let it finish (default: killed at once).
            overrides["ANSIBLE_WORKER_SHUTDOWN_POLL_COUNT"] = 100
        runtime = self.work / ("budgets-" + budgets) if budgets else None
        env = environment(
            self.tree,
            run_dir,
            callbacks="bench",
            callback_plugins=(BENCH / "callback_plugins",),
            runtime=runtime,
            overrides=overrides,
        )
        command = playbook_command(self.tree, path, "@%s" % vars_file, PLAYBOOKS / playbook)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=run_dir, env=env, capture_output=True, text=True, timeout=3600, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        timing = run_dir / "timing.json"
        play = Play(wall, cpu, proc, json.loads(timing.read_text())["tasks"] if timing.exists() else [])
        if check and play.rc != 0:
            raise BenchError("%s failed (rc=%d)\n%s" % (" ".join(command), play.rc, play.output))
        return play


def table(header, rows):
    """Lines of a plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [list(header)] + [["-" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(header))]

    def line(row):
        return "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        ).rstrip()

    return [line(cells[0]), "-" * len(line(cells[0]))] + [line(row) for row in cells[1:]]


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def machine():
    """What the figures depend on: date, cores, CPU, ansible-core, Python, the code measured, the load now."""
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    version = subprocess.run(
        [sys.executable, "-c", "import ansible.release as r; print(r.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "plugins"], capture_output=True, check=False
    )
    return {
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ansible_core": version.stdout.strip(),
        "python": platform.python_version(),
        "commit": commit.stdout.strip() + (" + uncommitted changes in plugins/" if dirty.stdout.strip() else ""),
        "load_start": loadavg(),
    }


def describe(meta):
    return "%s, %d cores (%s), ansible-core %s, Python %s, code %s; load average %s before, %s after" % (
        meta["date"],
        meta["cores"],
        meta["cpu"] or "CPU unknown",
        meta["ansible_core"],
        meta["python"],
        meta["commit"],
        meta["load_start"],
        meta.get("load_end", "-"),
    )


@contextlib.contextmanager
def session(prefix, keep=False, **settings):
    """(meta, simulator, Ansible) for one benchmark, in a temporary directory removed at the end unless `keep`.

    `meta` describes the machine and `settings`.
    """
    meta = dict(machine(), **settings)
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        note(
            "warning: load average %s on %d cores: other processes slow every figure"
            % (meta["load_start"], meta["cores"])
        )
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with Simulator(work) as sim:
            yield meta, sim, Ansible(work)
    finally:
        if keep:
            note("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def save(name, data):
    """Write `data` as JSON to benchmarks/results/<name>-<time>.json (git-ignored); returns the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("%s-%s.json" % (name, datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))
    path.write_text(json.dumps(data, indent=2))
    return path.relative_to(REPO)
