"""Test-only callback: records every task result as one JSON line.

The integration harness reads the file named by ``TINES_TEST_RECORD_FILE`` to
assert on results without parsing Ansible's screen output.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: tines_record
    type: aggregate
    short_description: write task results as JSON lines (tests only)
    description:
        - Appends one JSON object per task result to the file named by E(TINES_TEST_RECORD_FILE).
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

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
