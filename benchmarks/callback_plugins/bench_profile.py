# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: cProfile each worker process (one task, all its loop items).

Loaded in the ansible-playbook main process, it wraps WorkerProcess._run before
any worker is forked, so every worker profiles itself and writes
``<task name>.<pid>.prof`` into the directory named by BENCH_PROFILE_DIR.
"""

from __future__ import annotations

import cProfile
import os
import re

from ansible.executor.process import worker
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_profile
    type: aggregate
    short_description: cProfile every worker process for benchmarks/run.py
    description:
        - Writes one cProfile file per worker process into the directory named by E(BENCH_PROFILE_DIR).
    requirements:
        - enable in configuration
"""


def _profiled(original):
    def run(self):
        profile = cProfile.Profile()
        try:
            return profile.runcall(original, self)
        finally:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self._task.get_name())[:60]
            profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"], "%s.%d.prof" % (name, os.getpid())))

    run.bench_profiled = True
    return run


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if os.environ.get("BENCH_PROFILE_DIR") and not getattr(worker.WorkerProcess._run, "bench_profiled", False):
            worker.WorkerProcess._run = _profiled(worker.WorkerProcess._run)
