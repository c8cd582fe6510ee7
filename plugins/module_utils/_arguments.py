# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The options every plugin takes, and the checks on them that Ansible's argument spec cannot express.

Each check raises TinesError before any request, and runs the same on the module
path, in-process and in the lookup.
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Mapping

from ansible.module_utils.common.parameters import env_fallback
from ansible_collections.tines.cases.plugins.module_utils._budget import WINDOW
from ansible_collections.tines.cases.plugins.module_utils._case_list import (
    ORDERS,
    FilterInputError,
    check_filters,
    check_limit,
    check_team_id,
)
from ansible_collections.tines.cases.plugins.module_utils._client import (
    AUTH_HEADERS,
    RATE_LIMIT_TIMEOUT,
    TinesError,
)
from ansible_collections.tines.cases.plugins.module_utils._plan import MetadataInputError, desired_metadata

TENANT_URL_VARIABLES = ["TINES_TENANT_URL", "TINES_TENANT"]

CONNECTION_ARGUMENT_SPEC = dict(
    tenant_url=dict(type="str", fallback=(env_fallback, TENANT_URL_VARIABLES)),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["TINES_API_KEY"])),
    auth_header=dict(type="str", default="bearer", choices=sorted(AUTH_HEADERS)),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=30),
    max_retries=dict(type="int", default=5),
    allow_plain_http=dict(type="bool", default=False),
    rate_limit=dict(type="int", default=5000, fallback=(env_fallback, ["TINES_RATE_LIMIT"])),
    rate_limit_timeout=dict(type="float", default=RATE_LIMIT_TIMEOUT),
    rate_limit_window=dict(type="float", default=WINDOW),
)

METADATA_ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    case_id=dict(type="int", required=True),
    metadata=dict(type="dict", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    overwrite=dict(type="bool", default=False),
    purge=dict(type="bool", default=False),
)

INFO_ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    case_id=dict(type="int", required=True),
)


CASE_INFO_ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    filters=dict(type="dict"),
    team_id=dict(type="int"),
    order=dict(type="str", choices=list(ORDERS)),
    limit=dict(type="int"),
)

CaseQuery = namedtuple("CaseQuery", ["filters", "team_id", "order", "limit"])


def check_connection(params):
    """Refuse connection options no request could be made with."""
    if params["timeout"] <= 0:
        raise TinesError("timeout must be a positive number of seconds")
    if params["max_retries"] < 0:
        raise TinesError("max_retries must be 0 or more")
    if params["rate_limit"] < 0:
        raise TinesError("rate_limit must be 0 (no pacing) or a number of requests per minute")
    if params["rate_limit_timeout"] < 0:
        raise TinesError("rate_limit_timeout must be 0 or more seconds")
    if params["rate_limit_window"] <= 0:
        raise TinesError("rate_limit_window must be a positive number of seconds")
    if params["ca_path"] and not os.path.isfile(params["ca_path"]):
        raise TinesError("ca_path %s is not a readable file of CA certificates" % params["ca_path"])


def check_case_id(case_id):
    """A case number Tines can have: a positive integer (a YAML `true` is not case 1)."""
    if isinstance(case_id, bool) or not isinstance(case_id, int) or case_id <= 0:
        raise TinesError("case_id must be a positive integer, got %r" % (case_id,))
    return case_id


def check_metadata_input(params):
    """The task's desired metadata, or TinesError for input Tines must never see.

    Runs on the controller before a module is shipped too: the module's JSON
    arguments would silently turn `1:` and `"1":` into one key and `true:` into "true".
    """
    if params.get("purge") and params.get("state") == "absent":
        raise TinesError("purge applies to state=present only; with state=absent list the keys to remove")
    if not isinstance(params.get("metadata"), Mapping):
        return None  # missing, or a string Ansible's dict type converts: left to argument validation
    try:
        return desired_metadata(params["metadata"], allow_null=params.get("state") == "absent")
    except MetadataInputError as exc:
        raise TinesError(str(exc)) from None


def check_case_info_input(params):
    """The listing the task asks for, or TinesError before any request.

    The action plugin runs it on the controller before shipping the module too,
    where the filters are still what the playbook gave (JSON would merge metadata
    keys such as 1 and "1").
    """
    try:
        return CaseQuery(
            filters=check_filters(params.get("filters")),
            team_id=check_team_id(params.get("team_id")),
            order=params.get("order"),
            limit=check_limit(params.get("limit")),
        )
    except FilterInputError as exc:
        raise TinesError(str(exc)) from None
