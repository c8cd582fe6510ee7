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
  - Runs on the controller. It reads E(TINES_TENANT_URL), E(TINES_TENANT), E(TINES_API_KEY) and
    E(TINES_RATE_LIMIT) from the environment C(ansible-playbook) runs in; a play's or task's C(environment)
    keyword does not reach lookups, and neither do C(module_defaults). Give the options as keyword arguments or
    through those environment variables.
author:
  - Tines Cases contributors (@tines-cases)
options:
  _terms:
    description:
      - The numbers of the cases to read, as in V(https://acme.tines.com/cases/318). Positive integers, or strings
        of digits.
      - A list given as one term is read as its items, as other lookups do, so
        C(query('tines.cases.case_metadata', [318, 319])) is C(query('tines.cases.case_metadata', 318, 319)).
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
    ticketed: "{{ cases | zip(query('tines.cases.case_metadata', cases, api_key=tines_api_key))
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

import traceback

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.tines.cases.plugins.module_utils._arguments import check_case_id, validated_options
from ansible_collections.tines.cases.plugins.module_utils._client import (
    REQUESTS_IMPORT_ERROR,
    TinesError,
    unexpected_message,
)
from ansible_collections.tines.cases.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    MissingCredential,
    client_from_params,
    connection_warnings,
)
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import case_number
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import read_metadata
from ansible_collections.tines.cases.plugins.module_utils._redact import redact, secrets_of

WHERE_VARIABLES_ARE_READ = (
    "a lookup reads these variables from the environment ansible-playbook runs in on the controller, "
    "not from a play's or task's environment keyword"
)


class LookupModule(LookupBase):
    """The lookup, over the same option spec, checks, client and read as the modules.

    Its options are checked by `validated_options` against the modules' own argument
    spec, not through the usual `set_options`/`get_option`: that machinery converts
    types, applies environment fallbacks and words its refusals by rules of its own
    (Ansible's configuration manager), while this way an option is read, falls back to
    TINES_* and is refused exactly as in a task on either execution path.
    """

    def run(self, terms, variables=None, **kwargs):
        if REQUESTS_IMPORT_ERROR:
            raise AnsibleLookupError(missing_required_lib("requests"))
        params, error = validated_options(CONNECTION_ARGUMENT_SPEC, kwargs, "tines.cases.case_metadata", "lookup")
        secrets = secrets_of(CONNECTION_ARGUMENT_SPEC, {**kwargs, **params})
        if error:
            raise AnsibleLookupError(redact(error, secrets))
        try:
            return [redact(metadata, secrets) for metadata in self._read(self._flatten(terms), params)]
        except MissingCredential as exc:
            raise AnsibleLookupError("%s; %s" % (exc, WHERE_VARIABLES_ARE_READ)) from None
        except TinesError as exc:
            raise AnsibleLookupError(redact(str(exc), secrets)) from None
        except Exception as exc:  # pylint: disable=broad-exception-caught
            Display().vvv(redact(traceback.format_exc(), secrets))
            raise AnsibleLookupError(redact(unexpected_message(exc), secrets)) from None

    @staticmethod
    def _read(terms, params):
        case_ids = [check_case_id(case_number(term) or term) for term in terms]
        client = client_from_params(params)
        try:
            return [read_metadata(client, case_id) for case_id in case_ids]
        finally:
            for warning in connection_warnings(params) + client.warnings:
                Display().warning(warning)
