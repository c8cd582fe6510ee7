# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: timestamps of tasks and loop items, and optional timers or cProfile in the workers.

Timestamps are taken in the ansible-playbook main process, so a benchmark can
time loops without ansible-playbook's start-up; they are written as JSON to
BENCH_TIMING_FILE when the playbook ends.

The callback is loaded before any worker is forked, so it can also wrap
WorkerProcess._run for every worker:

- BENCH_TIMERS_DIR (with BENCH_TIMERS, comma-separated ``module:Class.method``
  or ``module:function``): wall-clock and thread-CPU timers around those
  functions, about a microsecond per call, so their totals are real
  milliseconds; each worker writes ``<pid>.json``
  ({"task", "timers": {name: [calls, wall s, thread CPU s]}}).
- BENCH_PROFILE_DIR: cProfile each worker (inflates call-heavy code several
  times over: it shows the call tree, not the cost); each worker writes
  ``<task>.<pid>.prof``.
"""

from __future__ import annotations

import cProfile
import functools
import importlib
import json
import os
import re
import time

from ansible.executor.process import worker
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench
    type: aggregate
    short_description: timestamps, timers and profiles for the tines.cases benchmarks
    description:
        - Writes task and loop item timestamps to the file named by E(BENCH_TIMING_FILE).
        - Times the functions named in E(BENCH_TIMERS) in every worker into E(BENCH_TIMERS_DIR).
        - cProfiles every worker into E(BENCH_PROFILE_DIR).
    requirements:
        - enable in configuration
"""

TOTALS = {}


def _timed(name, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            entry = TOTALS.setdefault(name, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started
            entry[2] += time.thread_time() - cpu

    return timed


def _wrap(spec):
    module_name, _sep, attr_path = spec.partition(":")
    owner = importlib.import_module(module_name)
    *parents, attr = attr_path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    setattr(owner, attr, _timed(attr_path, getattr(owner, attr)))


def _instrumented(original, timers_dir, profile_dir):
    """WorkerProcess._run, timed and/or profiled; each worker writes its own files when it ends."""

    def run(self):
        TOTALS.clear()
        profile = cProfile.Profile() if profile_dir else None
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return profile.runcall(original, self) if profile else original(self)
        finally:
            TOTALS["WorkerProcess._run"] = [1, time.perf_counter() - started, time.thread_time() - cpu]
            if timers_dir:
                with open(os.path.join(timers_dir, "%d.json" % os.getpid()), "w", encoding="utf-8") as handle:
                    json.dump({"task": self._task.get_name(), "timers": TOTALS}, handle)
            if profile:
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self._task.get_name())[:60]
                profile.dump_stats(os.path.join(profile_dir, "%s.%d.prof" % (name, os.getpid())))

    run.bench = True
    return run


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []
        timers_dir, profile_dir = os.environ.get("BENCH_TIMERS_DIR"), os.environ.get("BENCH_PROFILE_DIR")
        if timers_dir:
            for spec in filter(None, os.environ.get("BENCH_TIMERS", "").split(",")):
                try:
                    _wrap(spec.strip())
                except (ImportError, AttributeError) as exc:
                    self._display.warning("bench: cannot time %s: %s" % (spec, exc))
        if (timers_dir or profile_dir) and not getattr(worker.WorkerProcess._run, "bench", False):
            worker.WorkerProcess._run = _instrumented(worker.WorkerProcess._run, timers_dir, profile_dir)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks.append({"name": task.get_name(), "start": time.time(), "end": None, "items": [], "failures": []})

    def _item(self, result, status):
        data = result.result if hasattr(result, "result") else result._result
        task = self.tasks[-1]
        task["items"].append({"t": time.time(), "status": status, "changed": bool(data.get("changed"))})
        if status == "failed" and len(task["failures"]) < 5:
            task["failures"].append(str(data.get("msg", ""))[:300])

    def v2_runner_item_on_ok(self, result):
        self._item(result, "ok")

    def v2_runner_item_on_failed(self, result):
        self._item(result, "failed")

    def v2_runner_item_on_skipped(self, result):
        self._item(result, "skipped")

    def _end(self, result):
        self.tasks[-1]["end"] = time.time()  # with several hosts: the last host's result

    v2_runner_on_ok = v2_runner_on_skipped = v2_runner_on_unreachable = _end

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TIMING_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"tasks": self.tasks}, handle)
