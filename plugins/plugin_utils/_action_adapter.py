# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Run a module's task in-process on the controller when the task's connection is local.

Shipping and starting a module costs about half a second per loop item, while the
API calls take milliseconds. When a synchronous task would run on the controller
anyway, the action plugin runs the same code (argument spec, checks, client,
decisions from module_utils) in the worker process and keeps one HTTP session and
one rate budget for the whole loop. Otherwise (another connection, async, become,
no `requests` on the controller) it runs the module as usual. Both paths shape their
results in module_utils/_module_adapter.py, so they look the same.
"""

from __future__ import annotations

import os

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible_collections.tines.cases.plugins.module_utils._arguments import validated_options
from ansible_collections.tines.cases.plugins.module_utils._client import REQUESTS_IMPORT_ERROR, TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import fallback_variables, is_blank
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import reported_invocation, task_result
from ansible_collections.tines.cases.plugins.module_utils._redact import redact, secrets_of

LOCAL_TRANSPORTS = frozenset(("local", "ansible.builtin.local"))


def injects_invocation(task_vars):
    """Whether modules add `invocation` to their results: always before ansible-core 2.21, then INJECT_INVOCATION."""
    if "INJECT_INVOCATION" not in C.config.get_configuration_definitions():
        return True
    return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars))


class InProcessAction(ActionBase):
    """Base for action plugins that mirror a module: subclasses set the names below."""

    MODULE = None  # FQCN of the module run on non-local connections
    ARGUMENT_SPEC = None
    RUN = None  # run(params, check_mode, diff_mode, environment) -> result, raising TinesError
    CHECK_INPUT = None  # optional check(args) run on the controller before a module is shipped

    TRANSFERS_FILES = False
    _supports_async = True  # async tasks run the module through Ansible's async wrapper

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_env = self._task_environment()
        args = self._args_with_fallbacks(task_env)
        params, error = validated_options(self.ARGUMENT_SPEC, args, self.MODULE)
        in_process = self._runs_in_process()
        if not (error or in_process):
            error = self._refusal_before_shipping(params)
            if not error:
                return self._run_module(result, args, task_vars)
        if error:
            result.update(failed=True, msg=error)
        else:
            check_mode, diff_mode = bool(self._task.check_mode), bool(self._task.diff)
            environment = dict(os.environ, **task_env)
            result.update(task_result(self.ARGUMENT_SPEC, params, self._runner(), check_mode, diff_mode, environment))
        given = {**args, **params}  # as AnsibleModule reports them: raw arguments, then validated values
        if injects_invocation(task_vars):
            result["invocation"] = reported_invocation(self.ARGUMENT_SPEC, given)
        return redact(result, secrets_of(self.ARGUMENT_SPEC, given))

    def _runner(self):
        """The task function to run in-process: RUN, which a subclass may give more to (a progress display)."""
        return self.RUN

    def _runs_in_process(self):
        """True for a synchronous task on a local connection, with requests in the controller's Python.

        A task that becomes another user runs the module, through the become method, as
        that user: in-process it would run as the user running ansible-playbook.
        """
        if REQUESTS_IMPORT_ERROR or self._task.async_val or self._play_context.become:
            return False
        return self._connection is not None and getattr(self._connection, "transport", None) in LOCAL_TRANSPORTS

    def _refusal_before_shipping(self, params):
        """Why the module must not be shipped: input its JSON arguments would quietly change (else None)."""
        if self.CHECK_INPUT is not None:
            try:
                self.CHECK_INPUT(params)
            except TinesError as exc:
                return str(exc)
        return None

    def _run_module(self, result, args, task_vars):
        """Ship the module, through the async wrapper when the task is async.

        Ansible polls an async task with async_status commands built from the task's
        `environment`, and prints them at -vvv: the task keeps only what the module gets.
        """
        if self._task.async_val:
            self._task.environment = [self._module_environment()]
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result.update(
            self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        )
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result

    def _task_environment(self):
        """The task's `environment` keyword, templated, with string values."""
        environment = {}
        super()._compute_environment_string(environment)
        return {name: str(value) for name, value in environment.items()}

    def _args_with_fallbacks(self, task_env):
        """Task args, with options missing (or empty strings) taken from the task's `environment` keyword.

        In-process, the validator would only see the controller's environment. On
        the module path, values move into (no_log) options instead of the module's
        command line, which Ansible prints at -vvv.
        """
        args = dict(self._task.args)
        for name, variables in fallback_variables(self.ARGUMENT_SPEC).items():
            found = [task_env[var] for var in variables if task_env.get(var) and not is_blank(task_env[var])]
            if (name not in args or is_blank(args[name])) and found:  # a null stays null, as in AnsibleModule
                args[name] = found[0]
        return args

    def _module_environment(self):
        """The task's environment without the variables `_args_with_fallbacks` turned into options."""
        environment = self._task_environment()
        for variables in fallback_variables(self.ARGUMENT_SPEC).values():
            for var in variables:
                environment.pop(var, None)
        return environment

    def _compute_environment_string(self, raw_environment_out=None):
        """The module's environment string, without the variables that became options (-vvv prints it)."""
        environment = self._module_environment()
        if isinstance(raw_environment_out, dict):
            raw_environment_out.clear()
            raw_environment_out.update(environment)
        return self._connection._shell.env_prefix(**environment)  # pylint: disable=protected-access
