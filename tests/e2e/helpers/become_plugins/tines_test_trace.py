"""Test-only become method: runs the command unchanged, as the same user, and leaves a trace.

A task that becomes must reach the target through the become method. Every
command this method wraps first appends one line to the file named by
TINES_TEST_BECOME_TRACE, so a test can tell that a module ran through it.
"""

from __future__ import annotations

import os
import shlex

from ansible.plugins.become import BecomeBase

TRACE_VARIABLE = "TINES_TEST_BECOME_TRACE"

DOCUMENTATION = """
    name: tines_test_trace
    short_description: run commands unchanged and record each one (tests only)
    description:
        - Appends a line to the file named by E(TINES_TEST_BECOME_TRACE) on the controller, then runs the command
          as the connection's own user. No password, no prompt.
    author: tines.cases maintainers
    options:
        become_user:
            description: Recorded only; the command runs as the connection's user.
            default: root
            vars:
                - name: ansible_become_user
"""


class BecomeModule(BecomeBase):
    name = "tines_test_trace"

    def build_become_command(self, cmd, shell):
        super().build_become_command(cmd, shell)
        if not cmd:
            return cmd
        trace = shlex.quote(os.environ[TRACE_VARIABLE])
        record = "echo %s >> %s" % (shlex.quote("became for: " + cmd), trace)
        return "%s %s %s" % (record, shell.COMMAND_SEP, self._build_success_command(cmd, shell))
