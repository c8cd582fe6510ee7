# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection, authentication and rate-limit options shared by every module and plugin of the collection."""

    DOCUMENTATION = r"""
options:
  tenant_url:
    description:
      - Base URL of the Tines tenant, for example V(https://acme.tines.com).
      - A bare host name gets V(https://). One trailing V(/) is ignored; any other path is refused.
      - Plain V(http://) is accepted only for loopback addresses (V(localhost), V(127.0.0.0/8), V(::1))
        unless O(allow_plain_http=true), so that the API key is never sent unencrypted by accident.
      - If not set, the value of the E(TINES_TENANT_URL) environment variable is used, and failing that the value
        of E(TINES_TENANT) (which Tines' Terraform provider reads too).
      - An empty or blank value, such as C({{ url | default('') }}) with C(url) undefined, counts as not set and
        falls back to the variables the same way; when they are not set either, the task fails saying that the
        option is empty. V(null) does not fall back.
      - One of the option or the environment variables is required.
      - It must not hold a user name or password (V(https://user:pw@acme.tines.com) is refused); messages never
        repeat them.
    type: str
  api_key:
    description:
      - Tines API key (personal, service, tenant owner or team key) whose role on the case's team allows what the
        task does. Reading (M(tines.cases.tines_case_metadata_info), M(tines.cases.tines_case_info) and the
        P(tines.cases.case_metadata#lookup) lookup) needs no more than the Viewer role;
        M(tines.cases.tines_case_metadata) needs edit rights (Team Admin, Editor or Case manager by default).
      - "Sent as C(Authorization: Bearer <key>), or as C(X-User-Token) when O(auth_header=x-user-token)."
      - If not set, the value of the E(TINES_API_KEY) environment variable is used. An empty or blank value counts
        as not set, as for O(tenant_url).
      - One of the option or the environment variable is required.
      - Spaces, tabs and line breaks around the key are removed (a key stored with C(echo key | ansible-vault
        encrypt_string) ends in a newline). A key with such characters, or non-ASCII ones, inside it is refused
        before any request.
      - Never logged or returned; every message built from a server answer or a library error has the key masked
        as C(********), in whatever form it appears there.
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
      - How many times a request is retried after HTTP 500, 502, 503, 504, a timeout or a lost connection.
      - Waits honour C(Retry-After) (seconds or HTTP date, at most 60 seconds each); without it the wait grows
        exponentially from about half a second, with jitter. All waits of one request add up to at most
        120 seconds.
      - A write is retried only after a fresh read shows it is still needed, so a write that Tines applied
        before failing is never sent twice.
      - V(0) disables these retries. HTTP 429 is not counted here; see O(rate_limit_timeout).
    type: int
    default: 5
  rate_limit:
    description:
      - The number of requests per minute that this host may send to the tenant with this API key. Tines allows
        5000 by default, counted per client IP address and API key.
      - Every task, loop item and fork on one host that uses the same O(tenant_url) and O(api_key) shares this
        budget, through a small state file in a directory only the user can read (E(XDG_RUNTIME_DIR), else
        C(~/.cache)). The file is named by a keyed hash, never by the key. Requests are paced so that no window
        of O(rate_limit_window) seconds holds more than O(rate_limit) of them; runs below the budget are not
        slowed down.
      - Tasks may use different values with the same key; each paces by its own value against the requests of
        all of them. A damaged budget file is rebuilt with a warning, never a failure.
      - When Tines still answers HTTP 429 (another tool uses the same key, or the tenant allows less), every
        process sharing the budget holds back, and the budget lowers itself to what the tenant allowed until
        two windows pass without another 429.
      - Set it below 5000 when other tools share the key, or to what your tenant allows. V(0) turns pacing off.
      - If not set, the value of the E(TINES_RATE_LIMIT) environment variable is used.
    type: int
    default: 5000
  rate_limit_timeout:
    description:
      - How long, in seconds, one request may keep being answered HTTP 429 before the task fails.
      - A 429 is waited out, however many there are, for as long as C(Retry-After) asks (at least half a second,
        at most 60 seconds at a time) or, without it, for a 64th of O(rate_limit_window), doubling with each 429
        in a row, at least half a second and at most O(rate_limit_window), times a random factor between 0.5 and
        1; then the same request is sent again (Tines did not act on it, so it is not read again first).
      - V(0) fails on the first 429.
    type: float
    default: 600
  rate_limit_window:
    description:
      - The length, in seconds, of the window Tines counts O(rate_limit) requests in.
      - Tines documents a per-minute limit; change this only for a tenant, gateway or test server that counts
        over another window.
    type: float
    default: 60
  allow_plain_http:
    description:
      - Allow an V(http://) O(tenant_url) that is not a loopback address.
      - The API key then crosses the network unencrypted. Use only on networks you trust.
    type: bool
    default: false
seealso:
  - name: Tines API authentication
    description: How to create an API key and the headers Tines accepts.
    link: https://www.tines.com/api/authentication
"""
