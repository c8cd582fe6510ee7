# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs tines.cases.tines_case_metadata_batch in-process when the task's connection is local."""

from __future__ import annotations

from functools import partial

from ansible.utils.display import Display
from ansible_collections.tines.cases.plugins.module_utils._arguments import BATCH_ARGUMENT_SPEC, check_batch_input
from ansible_collections.tines.cases.plugins.module_utils._batch_task import run_batch
from ansible_collections.tines.cases.plugins.plugin_utils._action_adapter import InProcessAction

display = Display()


class ActionModule(InProcessAction):
    MODULE = "tines.cases.tines_case_metadata_batch"
    ARGUMENT_SPEC = BATCH_ARGUMENT_SPEC
    RUN = staticmethod(run_batch)
    CHECK_INPUT = staticmethod(check_batch_input)

    def _runner(self):
        """At -v and above, a long run says how far it is about every ten seconds."""
        if display.verbosity < 1:
            return self.RUN
        return partial(self.RUN, progress=lambda line: display.display("%s: %s" % (self.MODULE, line)))
