"""Test-only callback: notes when each task starts, as one JSON line per task.

Several tasks share one ansible-playbook run in the integration tests; the
simulator stamps each request it logs with the time it arrived, so these start
times tell which task sent which request (tests/e2e/helpers/plays.py).
Tasks run one after another on one host, so every request of a task arrives
after its start and before the next task's start.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: tines_task_starts
    type: aggregate
    short_description: write task start times as JSON lines (tests only)
    description:
        - Appends one JSON object per started task to the file named by E(TINES_TEST_TASK_STARTS_FILE).
    requirements:
        - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "tines_task_starts"
    CALLBACK_NEEDS_ENABLED = True

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
