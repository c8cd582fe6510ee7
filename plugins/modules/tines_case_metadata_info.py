#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tines_case_metadata_info
short_description: Read the metadata of a Tines case
version_added: 0.1.0
description:
  - Returns the metadata key/value pairs of a Tines case, with one request. Never changes anything.
author:
  - Tines Cases contributors (@tines-cases)
options:
  case_id:
    description:
      - The case's number, as in V(https://acme.tines.com/cases/318). A positive integer.
    type: int
    required: true
extends_documentation_fragment:
  - tines.cases.connection
  - tines.cases.attributes
  - tines.cases.attributes.info_module
seealso:
  - module: tines.cases.tines_case_metadata
"""

EXAMPLES = r"""
- name: Read a case's metadata
  tines.cases.tines_case_metadata_info:
    tenant_url: https://acme.tines.com
    api_key: "{{ tines_api_key }}"
    case_id: 318
  register: case_318

- name: Escalate only cases that came from the EDR
  ansible.builtin.debug:
    msg: "Case 318 came from {{ case_318.metadata.source }}"
  when: case_318.metadata.source | default('') == 'edr'
"""

RETURN = r"""
case_id:
  description: The case's number.
  returned: success
  type: int
  sample: 318
metadata:
  description: The case's metadata, as Tines holds it (an empty dictionary when it has none).
  returned: success
  type: dict
  sample: {"source": "edr", "ticket": "OPS-7781"}
status:
  description: The HTTP status of the request that failed, when the failure was an HTTP answer.
  returned: failure
  type: int
  sample: 404
"""

from ansible_collections.tines.cases.plugins.module_utils._arguments import INFO_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import run_metadata_info
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import run_as_module


def main():
    run_as_module(INFO_ARGUMENT_SPEC, run_metadata_info)


if __name__ == "__main__":
    main()
