"""Test-only callback: records every task result, and when each task starts, as JSON lines.

The end-to-end harness reads the file named by ``TINES_TEST_RECORD_FILE`` to
assert on results without parsing Ansible's screen output. When
``TINES_TEST_TASK_STARTS_FILE`` is set too, the start time of each task goes
there: several tasks share one ansible-playbook run, and the simulator stamps
each request it logs with the time it arrived, so these times tell which task
sent which request (tests/e2e/helpers/plays.py). Tasks run one after another on
one host, so every request of a task arrives after its start and before the
next task's start.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: tines_record
    type: aggregate
    short_description: write task results as JSON lines (tests only)
    description:
        - Appends one JSON object per task result to the file named by E(TINES_TEST_RECORD_FILE).
        - Appends one JSON object per started task to the file named by E(TINES_TEST_TASK_STARTS_FILE), when set.
    requirements:
        - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "tines_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status, **extra):
        path = os.environ.get("TINES_TEST_RECORD_FILE")
        if not path:
            return
        # ansible-core 2.19 has public result/task_name/host; older releases only the underscored names.
        data = result.result if hasattr(result, "result") else result._result
        if status == "ok" and data.get("changed"):
            status = "changed"
        record = {
            "status": status,
            "task": result.task_name if hasattr(result, "task_name") else result._task.get_name(),
            "host": (getattr(result, "host", None) or result._host).get_name(),
            "result": data,
            **extra,
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    def _started(self, task):
        path = os.environ.get("TINES_TEST_TASK_STARTS_FILE")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"task": task.get_name(), "time": time.time()}) + "\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._started(task)

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
