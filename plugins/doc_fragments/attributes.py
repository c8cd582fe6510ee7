# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Attributes, requirements and notes every module of the collection shares."""

    DOCUMENTATION = r"""
requirements:
  - requests >= 2.25 (on the controller for tasks that run locally, otherwise on the target host)
notes:
  - Options can be set once per play with C(module_defaults) and the action group C(group/tines.cases.tines).
  - >-
    When a synchronous task's connection is local (C(hosts: localhost), C(connection: local) or
    C(delegate_to: localhost)) the module runs in-process on the controller through an action plugin of the same
    name, which is much faster in loops. On any other connection, and for C(async) tasks, it runs as a module on
    the target host (through Ansible's async wrapper for C(async)). Either way the environment variables come
    from the task's C(environment) keyword first, then from the environment Ansible runs in (the controller's
    for in-process runs, the target's otherwise).
attributes:
  action:
    description: Has an action plugin of the same name that runs the task in-process on the controller when
      the task's connection is local.
    support: full
  action_group:
    description: Use C(group/tines.cases.tines) in C(module_defaults) to set options for every module at once.
    support: full
    membership:
      - tines.cases.tines
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
"""

    # The modules that only read (tines.cases.attributes.info_module, beside tines.cases.attributes).
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Reads as in a normal run; nothing is ever written.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
"""
