# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection and authentication options shared by every module of the collection."""

    DOCUMENTATION = r"""
options:
  tenant_url:
    description:
      - Base URL of the Tines tenant, for example V(https://acme.tines.com).
      - A bare host name gets V(https://). One trailing V(/) is ignored; any other path is refused.
      - Plain V(http://) is accepted only for loopback addresses (V(localhost), V(127.0.0.0/8), V(::1))
        unless O(allow_plain_http=true), so that the API key is never sent unencrypted by accident.
      - If not set, the value of the E(TINES_TENANT_URL) environment variable is used.
      - One of the option or the environment variable is required.
    type: str
  api_key:
    description:
      - Tines API key (personal, service, tenant owner or team key) with edit rights on the case's team.
      - "Sent as C(Authorization: Bearer <key>), or as C(X-User-Token) when O(auth_header=x-user-token)."
      - If not set, the value of the E(TINES_API_KEY) environment variable is used.
      - One of the option or the environment variable is required. Never logged or returned.
    type: str
  auth_header:
    description:
      - How the API key is sent.
      - "V(bearer) sends C(Authorization: Bearer <key>), which every current Tines tenant accepts."
      - "V(x-user-token) sends C(X-User-Token: <key>), for older self-hosted tenants."
    type: str
    choices: [bearer, x-user-token]
    default: bearer
  validate_certs:
    description:
      - Whether to verify the tenant's TLS certificate.
      - Set to V(false) only for testing; the module then warns on every run.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM bundle of CA certificates used to verify the tenant's certificate, for self-hosted
        tenants with a private CA.
      - When unset, C(requests) uses its default bundle (C(certifi), or E(REQUESTS_CA_BUNDLE) when set).
    type: path
  timeout:
    description:
      - Seconds to wait for Tines to connect and to answer each request.
    type: float
    default: 30
  max_retries:
    description:
      - How many times a request is retried after HTTP 429, 500, 502, 503, 504, a timeout or a lost connection.
      - Waits honour C(Retry-After) (seconds or HTTP date, at most 60 seconds each); without it the wait grows
        exponentially from about half a second, with jitter. All waits of one request add up to at most
        120 seconds.
      - A write is retried only after a fresh read shows it is still needed, so a write that Tines applied
        before failing is never sent twice.
      - V(0) disables retries.
    type: int
    default: 5
  allow_plain_http:
    description:
      - Allow an V(http://) O(tenant_url) that is not a loopback address.
      - The API key then crosses the network unencrypted. Use only on networks you trust.
    type: bool
    default: false
requirements:
  - requests >= 2.25 (on the controller for tasks that run locally, otherwise on the target host)
notes:
  - Options can be set once per play with C(module_defaults) and the action group C(group/tines.cases.tines).
  - >-
    When the task's connection is local (C(hosts: localhost), C(connection: local) or C(delegate_to: localhost))
    the module runs in-process on the controller through an action plugin of the same name, which is much
    faster in loops. On any other connection it runs on the target host like any module. Either way the
    environment variables come from the task's C(environment) keyword first, then from the environment
    Ansible runs in (the controller's for in-process runs, the target's otherwise).
seealso:
  - name: Tines API authentication
    description: How to create an API key and the headers Tines accepts.
    link: https://www.tines.com/api/authentication
"""
