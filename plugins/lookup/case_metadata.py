# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: case_metadata
short_description: Read the metadata of Tines cases in a template
version_added: 0.2.0
description:
  - Returns the metadata key/value pairs of each case given, with one request per case, as the module
    M(tines.cases.tines_case_metadata_info) would.
  - C(lookup) with one case returns its map; C(query) returns a list with one map per case, in the order given.
  - Runs on the controller, with the controller's environment. C(module_defaults) do not apply to lookups, so
    give the options as keyword arguments or through the environment variables.
author:
  - Tines Cases contributors (@tines-cases)
options:
  _terms:
    description:
      - The numbers of the cases to read, as in V(https://acme.tines.com/cases/318). Positive integers.
    type: list
    elements: int
    required: true
extends_documentation_fragment:
  - tines.cases.connection
requirements:
  - requests >= 2.25 (in the Python that runs Ansible on the controller)
seealso:
  - module: tines.cases.tines_case_metadata_info
  - module: tines.cases.tines_case_metadata
"""

EXAMPLES = r"""
- name: Show where case 318 came from (credentials from TINES_TENANT_URL and TINES_API_KEY)
  ansible.builtin.debug:
    msg: "Case 318 came from {{ lookup('tines.cases.case_metadata', 318).source | default('nowhere') }}"

- name: Pick the cases of several that already have a ticket
  ansible.builtin.set_fact:
    ticketed: "{{ cases | zip(query('tines.cases.case_metadata', *cases, api_key=tines_api_key))
                  | selectattr('1.ticket', 'defined') | map(attribute='0') | list }}"
  vars:
    cases: [318, 319, 320]
"""

RETURN = r"""
_raw:
  description: One dictionary per case, the case's metadata as Tines holds it (empty when it has none).
  type: list
  elements: dict
  sample: [{"source": "edr", "ticket": "OPS-7781"}]
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.tines.cases.plugins.module_utils._arguments import check_case_id, validated_options
from ansible_collections.tines.cases.plugins.module_utils._client import REQUESTS_IMPORT_ERROR, TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    client_from_params,
    connection_warnings,
)
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import read_metadata
from ansible_collections.tines.cases.plugins.module_utils._redact import redact, secrets_of


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if REQUESTS_IMPORT_ERROR:
            raise AnsibleLookupError(missing_required_lib("requests"))
        params, error = validated_options(CONNECTION_ARGUMENT_SPEC, kwargs, "tines.cases.case_metadata", "lookup")
        secrets = secrets_of(CONNECTION_ARGUMENT_SPEC, {**kwargs, **params})
        if error:
            raise AnsibleLookupError(redact(error, secrets))
        try:
            case_ids = [check_case_id(_case_number(term)) for term in terms]
            client = client_from_params(params)
            for warning in connection_warnings(params) + client.warnings:
                Display().warning(warning)
            return [redact(read_metadata(client, case_id), secrets) for case_id in case_ids]
        except TinesError as exc:
            raise AnsibleLookupError(str(exc)) from None


def _case_number(term):
    """A case number from a term: an int, or a string of digits as templates often give."""
    if isinstance(term, str) and term.strip().isdigit():
        return int(term)
    return term
