# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: when each task starts and ends, and when each loop item reports.

Timestamps are taken in the ansible-playbook main process; the benchmark uses
them to time tasks without ansible-playbook's start-up. Written as JSON to the
file named by BENCH_TIMING_FILE when the playbook ends.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_timing
    type: aggregate
    short_description: task and loop item timestamps for benchmarks/run.py
    description:
        - Writes task start/end times and per-item times to the file named by E(BENCH_TIMING_FILE).
    requirements:
        - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = time.time()
        self.tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks.append({"name": task.get_name(), "start": time.time(), "end": None, "items": [], "status": None})

    def _item(self, result, status):
        if self.tasks:
            data = result.result if hasattr(result, "result") else result._result
            self.tasks[-1]["items"].append({"t": time.time(), "status": status, "changed": bool(data.get("changed"))})

    def v2_runner_item_on_ok(self, result):
        self._item(result, "ok")

    def v2_runner_item_on_failed(self, result):
        self._item(result, "failed")

    def v2_runner_item_on_skipped(self, result):
        self._item(result, "skipped")

    def _end(self, status):
        if self.tasks:
            self.tasks[-1]["end"] = time.time()
            self.tasks[-1]["status"] = status

    def v2_runner_on_ok(self, result):
        self._end("ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end("failed")

    def v2_runner_on_skipped(self, result):
        self._end("skipped")

    def v2_runner_on_unreachable(self, result):
        self._end("unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TIMING_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"started": self.started, "ended": time.time(), "tasks": self.tasks}, handle)
