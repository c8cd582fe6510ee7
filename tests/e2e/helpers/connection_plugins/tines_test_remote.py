"""Test-only connection: runs locally but is not called "local".

Action plugins that take an in-process shortcut for ``ansible_connection=local``
see this host as remote and ship the module normally, so the module path can be
exercised without SSH.
"""

from __future__ import annotations

from ansible.plugins.connection.local import Connection as LocalConnection

DOCUMENTATION = """
    name: tines_test_remote
    short_description: local execution that presents itself as a remote connection (tests only)
    description:
        - Behaves exactly like the C(local) connection, but its transport and load name are C(tines_test_remote).
    author: tines.cases maintainers
    options:
        become_success_timeout:
            type: int
            default: 10
            description: Seconds to wait for become to succeed.
            vars:
                - name: ansible_local_become_success_timeout
        become_strip_preamble:
            type: bool
            default: true
            description: Strip internal become output preceding command execution.
            vars:
                - name: ansible_local_become_strip_preamble
    extends_documentation_fragment:
        - connection_pipelining
"""


class Connection(LocalConnection):
    transport = "tines_test_remote"
