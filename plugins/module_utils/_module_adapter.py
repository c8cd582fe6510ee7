# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Where task results and errors take Ansible's shape, for the module and the in-process action alike.

The tasks only return results and raise TinesError. Everything else a user sees
(the failure result, warnings, and the masking of secrets in every value of the
result) is decided here, so both execution paths give the same result on every
ansible-core release, whether or not that release masks no_log values itself.
Any other exception is a fault of ours or of a library: it fails the task too, with
a message naming it and the traceback where Ansible shows tracebacks, never as
Ansible's raw "Task failed" with an unmasked traceback.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.tines.cases.plugins.module_utils._client import (
    REQUESTS_IMPORT_ERROR,
    TinesError,
    shown_url,
    unexpected_message,
)
from ansible_collections.tines.cases.plugins.module_utils._connection import connection_warnings
from ansible_collections.tines.cases.plugins.module_utils._redact import invocation, redact, secrets_of


def failure_result(error):
    """The failed task result for an error: its message and, when there was one, the HTTP status."""
    result = dict(failed=True, msg=str(error))
    if error.status is not None:
        result["status"] = error.status
    return result


def reported_invocation(argument_spec, params):
    """The task's `invocation`: no_log options masked, and no user name or password a tenant_url may hold."""
    if isinstance(params.get("tenant_url"), str):
        params = dict(params, tenant_url=shown_url(params["tenant_url"]))
    return invocation(argument_spec, params)


def unexpected_failure(exc):
    """The failed task result for an unexpected exception; Ansible shows `exception` (the traceback) when asked."""
    return dict(failed=True, msg=unexpected_message(exc), exception=traceback.format_exc())


def task_result(argument_spec, params, run, check_mode, diff_mode, environment=None):
    """Run a task and shape its result: failures from any exception, warnings in one list, secrets masked."""
    warnings = connection_warnings(params)
    try:
        result = run(params, check_mode, diff_mode, environment)
    except TinesError as exc:
        result = failure_result(exc)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        result = unexpected_failure(exc)
    warnings.extend(result.pop("warnings", ()))
    if warnings:
        result["warnings"] = warnings
    return redact(result, secrets_of(argument_spec, params))


class _MaskingModule(AnsibleModule):
    """AnsibleModule whose own failures (argument errors in __init__) report a masked `invocation` too.

    ansible-core 2.22 no longer masks a module's result: its `invocation` would hold the key.
    """

    def fail_json(self, msg, **kwargs):  # pylint: disable=arguments-differ
        kwargs.setdefault("invocation", reported_invocation(self.argument_spec, self.params))
        super().fail_json(msg=redact(msg, secrets_of(self.argument_spec, self.params)), **kwargs)


def run_as_module(argument_spec, run):
    """The module's main(): parse options, run the task and exit; `run(params, check_mode, diff_mode, env)`."""
    module = _MaskingModule(argument_spec=argument_spec, supports_check_mode=True)
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    result = task_result(argument_spec, module.params, run, module.check_mode, module._diff)  # pylint: disable=protected-access
    # Ours, masked: ansible-core 2.22 reports the parameters unmasked. Releases that honour
    # INJECT_INVOCATION drop it when the setting is off.
    result["invocation"] = reported_invocation(argument_spec, module.params)
    for warning in result.pop("warnings", ()):
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)
