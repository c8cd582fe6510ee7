# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Attributes every module of the collection shares."""

    DOCUMENTATION = r"""
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
