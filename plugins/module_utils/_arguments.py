# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The options every plugin takes, and the checks on them that Ansible's argument spec cannot express.

Each check raises TinesError before any request, and runs the same on the module
path, in-process and in the lookup.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible_collections.tines.cases.plugins.module_utils._batch_plan import (
    BatchInputError,
    cases_from_ids,
    cases_from_items,
)
from ansible_collections.tines.cases.plugins.module_utils._case_list import (
    ORDERS,
    FilterInputError,
    check_filters,
    check_limit,
    check_team_id,
)
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import MetadataInputError, desired_metadata

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

BATCH_ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    cases=dict(type="list", elements="raw"),
    case_ids=dict(type="list", elements="raw"),
    filters=dict(type="dict"),
    team_id=dict(type="int"),
    metadata=dict(type="dict"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    overwrite=dict(type="bool", default=False),
    purge=dict(type="bool", default=False),
    concurrency=dict(type="int", default=16),
)

CaseQuery = namedtuple("CaseQuery", ["filters", "team_id", "order", "limit"])
BatchRequest = namedtuple("BatchRequest", ["chosen", "query", "desired", "concurrency"])
"""`chosen`: the BatchCases of `cases`/`case_ids` (None with filters); `query`: the CaseQuery of
`filters`/`team_id` (None otherwise); `desired`: the metadata every chosen case must have."""


def plain(value):
    """A copy with Ansible's tagged subclasses of str, int, dict... turned into the plain types a module gets."""
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def validated_options(argument_spec, args, name, kind="module"):
    """Validate `args` as AnsibleModule would: (params, None), or (params, the message AnsibleModule gives).

    The action plugins and the lookup validate on the controller with the module's own
    spec, so an option is refused the same way, in the same words, on every path.
    """
    validation = ArgumentSpecValidator(argument_spec).validate(plain(args))
    if not validation.error_messages:
        return validation.validated_parameters, None
    message = validation.errors.msg
    if isinstance(validation.errors[0], UnsupportedError):
        message = "Unsupported parameters for (%s) %s: %s" % (name, kind, message)
    return validation.validated_parameters, message


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
    _check_purge(params)
    if not isinstance(params.get("metadata"), Mapping):
        return None  # missing, or a string Ansible's dict type converts: left to argument validation
    try:
        return desired_metadata(params["metadata"], allow_null=params.get("state") == "absent")
    except MetadataInputError as exc:
        raise TinesError(str(exc)) from None


def _check_purge(params):
    if params.get("purge") and params.get("state") == "absent":
        raise TinesError("purge applies to state=present only; with state=absent list the keys to remove")


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


def check_batch_input(params):
    """The cases a batch task chooses and what each must hold, or TinesError before any request.

    Run on the controller before the module is shipped too, like check_metadata_input.
    """
    selectors = [name for name in ("cases", "case_ids") if params.get(name) is not None]
    if params.get("filters") is not None or params.get("team_id") is not None:
        selectors.append("filters/team_id")
    if len(selectors) != 1:
        raise TinesError(
            "choose the cases in exactly one way: cases, case_ids, or filters and/or team_id (%s)"
            % ("got " + " and ".join(selectors) if selectors else "none given")
        )
    _check_purge(params)
    if params.get("metadata") is None and selectors[0] != "cases":
        raise TinesError("metadata is required with %s: the pairs every chosen case must have" % selectors[0])
    if params.get("concurrency") is not None and params["concurrency"] < 1:
        raise TinesError("concurrency must be 1 or more, got %r" % (params["concurrency"],))
    allow_null = params.get("state") == "absent"
    try:
        desired = desired_metadata(params.get("metadata") or {}, allow_null=allow_null)
        if selectors[0] == "cases":
            chosen = cases_from_items(params["cases"], params.get("metadata"), allow_null)
        elif selectors[0] == "case_ids":
            chosen = cases_from_ids(params["case_ids"], params["metadata"], allow_null)
        else:
            chosen = None
    except (BatchInputError, MetadataInputError) as exc:
        raise TinesError(str(exc)) from None
    query = check_case_info_input(params) if chosen is None else None
    return BatchRequest(chosen, query, desired, params.get("concurrency") or 16)
