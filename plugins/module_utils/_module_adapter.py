# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The one place where a module's errors become `fail_json`."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.tines.cases.plugins.module_utils._case_task import connection_warnings, failure_result
from ansible_collections.tines.cases.plugins.module_utils._client import REQUESTS_IMPORT_ERROR, TinesError


def run_as_module(argument_spec, run):
    """Parse options, run the task and exit; `run(params, check_mode, diff_mode)` returns the result."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    for warning in connection_warnings(module.params):
        module.warn(warning)
    try:
        result = run(module.params, module.check_mode, module._diff)  # pylint: disable=protected-access
    except TinesError as exc:
        failure = failure_result(exc)
        del failure["failed"]
        module.fail_json(**failure)
    module.exit_json(**result)
