# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: wall-clock timers around chosen functions in every worker process.

cProfile inflates call-heavy code (templating, requests) several times over; these
timers cost about a microsecond per call, so their totals are real milliseconds.
Loaded in the ansible-playbook main process, the callback wraps the functions
named in BENCH_TIMERS (comma-separated ``module:Class.method``) and
WorkerProcess._run before any worker is forked; each worker writes
``<pid>.json`` ({name: [calls, wall seconds, thread CPU seconds]}) into
BENCH_TIMERS_DIR. CPU time shows the cost even when other processes compete for
the cores; wall time includes waiting (for the server, or for a core).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time

from ansible.executor.process import worker
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_timers
    type: aggregate
    short_description: wall-clock timers around chosen functions for benchmarks/run.py
    description:
        - Times the functions named in E(BENCH_TIMERS) in every worker and writes the totals to E(BENCH_TIMERS_DIR).
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

    timed.bench_timed = True
    return timed


def _wrap(spec):
    module_name, _sep, attr_path = spec.partition(":")
    owner = importlib.import_module(module_name)
    *parents, attr = attr_path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    function = getattr(owner, attr)
    if not getattr(function, "bench_timed", False):
        setattr(owner, attr, _timed(attr_path, function))


def _worker_run(original):
    def run(self):
        TOTALS.clear()
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(self)
        finally:
            TOTALS["WorkerProcess._run"] = [1, time.perf_counter() - started, time.thread_time() - cpu]
            path = os.path.join(os.environ["BENCH_TIMERS_DIR"], "%d.json" % os.getpid())
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"task": self._task.get_name(), "timers": TOTALS}, handle)

    run.bench_timed = True
    return run


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timers"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not os.environ.get("BENCH_TIMERS_DIR") or getattr(worker.WorkerProcess._run, "bench_timed", False):
            return
        for spec in filter(None, os.environ.get("BENCH_TIMERS", "").split(",")):
            try:
                _wrap(spec.strip())
            except (ImportError, AttributeError) as exc:
                self._display.warning("bench_timers: cannot time %s: %s" % (spec, exc))
        worker.WorkerProcess._run = _worker_run(worker.WorkerProcess._run)
