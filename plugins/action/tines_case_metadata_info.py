# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs tines.cases.tines_case_metadata_info in-process when the task's connection is local."""

from __future__ import annotations

from ansible_collections.tines.cases.plugins.module_utils._arguments import INFO_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import run_metadata_info
from ansible_collections.tines.cases.plugins.plugin_utils._action_adapter import InProcessAction


class ActionModule(InProcessAction):
    MODULE = "tines.cases.tines_case_metadata_info"
    ARGUMENT_SPEC = INFO_ARGUMENT_SPEC
    RUN = staticmethod(run_metadata_info)
