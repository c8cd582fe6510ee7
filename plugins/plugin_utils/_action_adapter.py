# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Run a module's task in-process on the controller when the task's connection is local.

Shipping and starting a module costs about half a second per loop item, while the
API calls take milliseconds. When the task would run on the controller anyway,
the action plugin runs the same code (argument spec, client, decisions from
module_utils) in the worker process and keeps one HTTP session for the whole
loop. On any other connection it runs the module on the target as usual.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import env_fallback, remove_values
from ansible.plugins.action import ActionBase
from ansible_collections.tines.cases.plugins.module_utils._case_task import connection_warnings, failure_result
from ansible_collections.tines.cases.plugins.module_utils._client import REQUESTS_IMPORT_ERROR, TinesError

LOCAL_TRANSPORTS = frozenset(("local", "ansible.builtin.local"))
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class InProcessAction(ActionBase):
    """Base for action plugins that mirror a module: subclasses set the names below."""

    MODULE = None  # FQCN of the module run on non-local connections
    ARGUMENT_SPEC = None
    RUN = None  # run(params, check_mode, diff_mode, environment) -> result, raising TinesError
    CHECK_INPUT = None  # optional check(args) run on the controller before a module is shipped

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_env = self._task_environment()
        args = self._args_with_fallbacks(task_env)
        if not self._runs_on_controller():
            refused = self._refuse_before_shipping(args)
            if refused:
                return refused
            return self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        result = super().run(tmp, task_vars)
        validation = ArgumentSpecValidator(self.ARGUMENT_SPEC).validate(args)
        secrets = validation._no_log_values  # pylint: disable=protected-access
        params = validation.validated_parameters
        if validation.error_messages:
            result.update(failed=True, msg=validation.errors.msg)
        else:
            result.update(self._run_task(params, dict(os.environ, **task_env)))
            result["invocation"] = {"module_args": self._invocation_args(params)}
        return remove_values(result, secrets)

    def _refuse_before_shipping(self, args):
        """A failed result for input the module's JSON arguments would quietly change, else None."""
        if self.CHECK_INPUT is None:
            return None
        try:
            self.CHECK_INPUT(args)
        except TinesError as exc:
            return failure_result(exc)
        return None

    def _runs_on_controller(self):
        """True when the task's connection is local and the controller's Python has requests."""
        if REQUESTS_IMPORT_ERROR:
            return False
        return self._connection is not None and getattr(self._connection, "transport", None) in LOCAL_TRANSPORTS

    def _fallback_variables(self):
        """Option name -> environment variables it falls back to."""
        return {
            name: spec["fallback"][1]
            for name, spec in self.ARGUMENT_SPEC.items()
            if spec.get("fallback") and spec["fallback"][0] is env_fallback
        }

    def _task_environment(self):
        """The task's `environment` keyword, templated, with string values."""
        environment = {}
        super()._compute_environment_string(environment)
        return {name: str(value) for name, value in environment.items()}

    def _args_with_fallbacks(self, task_env):
        """Task args, with options unset taken from the task's `environment` keyword.

        In-process, the validator would only see the controller's environment. On
        the module path, values move into (no_log) options instead of the module's
        command line, which Ansible prints at -vvv.
        """
        args = dict(self._task.args)
        for name, variables in self._fallback_variables().items():
            found = [task_env[var] for var in variables if task_env.get(var) is not None]
            if args.get(name) is None and found:
                args[name] = found[0]
        return args

    def _compute_environment_string(self, raw_environment_out=None):
        """The module's environment, without the variables `_args_with_fallbacks` turned into options."""
        environment = self._task_environment()
        for variables in self._fallback_variables().values():
            for var in variables:
                environment.pop(var, None)
        if isinstance(raw_environment_out, dict):
            raw_environment_out.clear()
            raw_environment_out.update(environment)
        return self._connection._shell.env_prefix(**environment)  # pylint: disable=protected-access

    def _run_task(self, params, environment):
        warnings = connection_warnings(params)
        try:
            result = self.RUN(params, bool(self._task.check_mode), bool(self._task.diff), environment)
        except TinesError as exc:
            result = failure_result(exc)
        if warnings:
            result["warnings"] = warnings
        return result

    def _invocation_args(self, params):
        """What a module reports as `invocation`: the parameters, with no_log options masked."""
        return {
            name: NO_LOG_PLACEHOLDER if spec.get("no_log") and params.get(name) is not None else params.get(name)
            for name, spec in self.ARGUMENT_SPEC.items()
        }
