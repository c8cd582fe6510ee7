# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The connection options every plugin takes, and the one place a client is built from them.

Modules, action plugins, the lookup and the event source all get their TinesClient
from `client_from_params`, so an option means the same everywhere.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.parameters import env_fallback
from ansible_collections.tines.cases.plugins.module_utils._budget import MAX_RATE_LIMIT, WINDOW
from ansible_collections.tines.cases.plugins.module_utils._client import (
    AUTH_HEADERS,
    RATE_LIMIT_TIMEOUT,
    TinesClient,
    TinesError,
    normalize_tenant_url,
)

TENANT_URL_VARIABLES = ["TINES_TENANT_URL", "TINES_TENANT"]
# The options no request can be made without, and the variables they fall back to, as messages name them.
CREDENTIAL_VARIABLES = {"tenant_url": "TINES_TENANT_URL (or TINES_TENANT)", "api_key": "TINES_API_KEY"}

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


def fallback_variables(argument_spec):
    """Option name -> the environment variables it falls back to."""
    return {
        name: spec["fallback"][1]
        for name, spec in argument_spec.items()
        if spec.get("fallback") and spec["fallback"][0] is env_fallback
    }


def is_blank(value):
    """A string with nothing in it: `tenant_url: "{{ url | default('') }}"` means "not given"."""
    return isinstance(value, str) and not value.strip()


class MissingCredential(TinesError):
    """tenant_url or api_key neither given nor found in the environment variables they fall back to."""


def with_environment_fallbacks(params, environment):
    """The options, with empty ones that fall back to the environment taken from `environment`.

    AnsibleModule falls back only for options that are missing; an option templated
    to "" counts as missing too, the same way on every path. (A null stays null, as
    AnsibleModule keeps it.) An empty option that finds no variable stays empty, so
    that the message can say it is empty.
    """
    filled = dict(params)
    for name, variables in fallback_variables(CONNECTION_ARGUMENT_SPEC).items():
        if is_blank(filled.get(name)):
            found = [environment[var] for var in variables if environment.get(var) and not is_blank(environment[var])]
            if found:
                filled[name] = found[0]
    return filled


def check_credentials(params):
    """Refuse a task without tenant_url or api_key, saying whether the option was missing or empty."""
    for name, variables in CREDENTIAL_VARIABLES.items():
        if params.get(name) is None:
            raise MissingCredential("%s is required: set the option or the %s environment variable" % (name, variables))
        if is_blank(params[name]):
            raise MissingCredential(
                "%s is empty and the %s environment variable is not set either (an empty option falls back to it): "
                "give the option a value or set the variable" % (name, variables)
            )


def check_connection(params):
    """Refuse connection options no request could be made with."""
    if params["timeout"] <= 0:
        raise TinesError("timeout must be a positive number of seconds")
    if params["max_retries"] < 0:
        raise TinesError("max_retries must be 0 or more")
    if not 0 <= params["rate_limit"] <= MAX_RATE_LIMIT:
        raise TinesError(
            "rate_limit must be 0 (no pacing) or a number of requests per minute up to %d" % MAX_RATE_LIMIT
        )
    if params["rate_limit_timeout"] < 0:
        raise TinesError("rate_limit_timeout must be 0 or more seconds")
    if params["rate_limit_window"] <= 0:
        raise TinesError("rate_limit_window must be a positive number of seconds")
    if params["ca_path"] and not os.path.isfile(params["ca_path"]):
        raise TinesError("ca_path %s is not a readable file of CA certificates" % params["ca_path"])


def client_from_params(params, environment=None):
    """Check the connection options and build the client; raises TinesError before any request.

    `environment` is where fallbacks, proxy and CA bundle variables are read
    (os.environ when None: the target's on the module path, the controller's in the lookup).
    """
    environment = os.environ if environment is None else environment
    params = with_environment_fallbacks(params, environment)
    check_credentials(params)
    check_connection(params)
    return TinesClient(
        normalize_tenant_url(params["tenant_url"], params["allow_plain_http"]),
        params["api_key"],
        auth_header=params["auth_header"],
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"],
        timeout=params["timeout"],
        max_retries=params["max_retries"],
        environment=environment,
        rate_limit=params["rate_limit"],
        rate_limit_timeout=params["rate_limit_timeout"],
        rate_limit_window=params["rate_limit_window"],
        allow_plain_http=params["allow_plain_http"],
    )


def connection_warnings(params):
    if params.get("validate_certs") is False:
        return ["validate_certs is false: the tenant's TLS certificate is not verified"]
    return []


def with_warnings(result, client):
    """The result, carrying what the client found worth a warning (a budget it could not share)."""
    if client.warnings:
        result["warnings"] = list(client.warnings)
    return result
