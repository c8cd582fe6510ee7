# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs tines.cases.tines_case_metadata in-process when the task's connection is local."""

from __future__ import annotations

from ansible_collections.tines.cases.plugins.module_utils._arguments import (
    METADATA_ARGUMENT_SPEC,
    check_metadata_input,
)
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import run_metadata
from ansible_collections.tines.cases.plugins.plugin_utils._action_adapter import InProcessAction


class ActionModule(InProcessAction):
    MODULE = "tines.cases.tines_case_metadata"
    ARGUMENT_SPEC = METADATA_ARGUMENT_SPEC
    RUN = staticmethod(run_metadata)
    CHECK_INPUT = staticmethod(check_metadata_input)
