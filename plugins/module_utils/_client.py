# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""How we talk to Tines: one client, one retry policy, one error type.

Every rule about URLs, authentication, retries and error messages lives here;
what to change on a case does not (see _metadata_plan.py).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import os
import random
import re
import time
import traceback
from urllib.parse import urlsplit

from ansible_collections.tines.cases.plugins.module_utils._budget import (
    MAX_RETRY_AFTER,
    MIN_WAIT,
    WINDOW,
    backoff,
    budget_for,
)
from ansible_collections.tines.cases.plugins.module_utils._redact import redact_text, secret_forms

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.packages.urllib3.exceptions import InsecureRequestWarning  # pylint: disable=import-error
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

# The version is galaxy.yml's (a module cannot read that file); test_user_agent.py fails when they differ.
USER_AGENT = "tines.cases-ansible/0.3.0"
RETRY_STATUSES = frozenset((500, 502, 503, 504))
BACKOFF_BASE = 0.5
MAX_SINGLE_WAIT = MAX_RETRY_AFTER
MAX_TOTAL_WAIT = 120.0
RATE_LIMIT_TIMEOUT = 600.0
MESSAGE_LIMIT = 300
# How deep a decoded error body is searched for its message: Tines nests two or three levels.
MESSAGE_DEPTH = 32
# What an HTTP header can carry of an API key: visible ASCII. Tines keys are letters, digits and dashes.
HEADER_SAFE_KEY = re.compile(r"[!-~]+\Z")
# How OpenSSL reports a TLS handshake that got a plain-HTTP answer.
PLAIN_HTTP_ANSWER = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL")
AUTH_HEADERS = {
    "bearer": lambda key: ("Authorization", "Bearer " + key),
    "x-user-token": lambda key: ("X-User-Token", key),
}
STATUS_HINTS = {
    401: "the API key is missing, wrong or revoked",
    403: "the API key's role does not allow this on the case (a read-only key, or another team's case)",
    404: "case not found or not visible to this API key",
    422: "Tines refused the change",
    429: "rate limit hit",
}


class TinesError(Exception):
    """Anything that stops a task: bad connection options, HTTP failures, unexpected answers."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status

    def redacted(self, secrets):
        """The same failure with every form of the secrets in its message masked."""
        return TinesError(redact_text(str(self), secrets), self.status)


class TransientError(TinesError):
    """A failure that may pass: 500, 502-504, a lost connection or a timeout."""

    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message, status)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """HTTP 429: the tenant's budget for this key is used up for now."""


def clean_api_key(api_key):
    """The key without the whitespace a paste, `echo` or Vault leaves around it; refused if a header cannot carry it."""
    if not api_key or not str(api_key).strip():
        raise TinesError("api_key is required: set the option or the TINES_API_KEY environment variable")
    key = str(api_key).strip()
    if not HEADER_SAFE_KEY.match(key):
        raise TinesError(
            "api_key contains characters an HTTP header cannot carry (spaces, control characters or non-ASCII "
            "characters inside the key); Tines API keys have none, so copy the key from Tines again"
        )
    return key


def is_loopback(host):
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shown_url(url):
    """`url` as a message may quote it: a user name and password before an `@` masked, even in a broken URL."""
    text = str(url)
    start = text.find("://") + 3 if "://" in text else 0
    end = text.rfind("@")
    return text if end < start else text[:start] + "********" + text[end:]


def normalize_tenant_url(url, allow_plain_http=False):
    """Return `scheme://host[:port]` for the tenant, or raise before any request is made.

    A bare host gets `https://`. Plain HTTP would put the API key on the wire in
    clear text, so it is accepted only for loopback addresses unless allowed.
    Messages quote the URL without the credentials it may hold.
    """
    if not url or not str(url).strip():
        raise TinesError(
            "tenant_url is required: set the option or the TINES_TENANT_URL (or TINES_TENANT) environment variable"
        )
    text = str(url).strip()
    shown = shown_url(text)
    if shown != text:  # before parsing: a password holding "/" or "#" would pass for a path, its text for a port
        raise TinesError(
            "tenant_url %r must not hold a user name or password: Tines takes the API key (api_key) only" % (shown,)
        )
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise TinesError("tenant_url %r is not a valid URL: %s" % (shown, exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TinesError("tenant_url %r is not an http(s) URL such as https://acme.tines.com" % (shown,))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TinesError(
            "tenant_url %r must be the tenant's base URL only (one trailing / at most), such as "
            "https://acme.tines.com" % (shown,)
        )
    if parts.scheme == "http" and not allow_plain_http and not is_loopback(parts.hostname):
        raise TinesError(
            "tenant_url %r uses plain HTTP to a non-loopback host, which would send the API key unencrypted; "
            "use https:// or set allow_plain_http=true if you really mean it" % (shown,)
        )
    return "%s://%s" % (parts.scheme, parts.netloc)


def error_message(body_text):
    """Tines' own explanation from an error body of any known shape, or None.

    Shapes seen: {"errors": [str | {message, details}]}, a bare list of those,
    {"error": str | {type, message, field}}, {"message": str}, or plain text.
    """
    text = (body_text or "").strip()
    if not text:
        return None
    try:
        found = _message_from(json.loads(text))
    except (ValueError, RecursionError):  # not JSON, or JSON nested too deep to read: the text as it is
        return truncate(" ".join(text.split()))
    return truncate(found) if found else truncate(text)


def _message_from(data, depth=0):
    """The message in a decoded error body; None past MESSAGE_DEPTH levels, whatever Python's recursion limit."""
    if isinstance(data, str):
        return data.strip() or None
    if depth >= MESSAGE_DEPTH:
        return None
    if isinstance(data, list):
        parts = [_message_from(item, depth + 1) for item in data]
        return "; ".join(part for part in parts if part) or None
    if not isinstance(data, dict):
        return None
    for field in ("errors", "error"):
        if data.get(field):
            return _message_from(data[field], depth + 1)
    message = data.get("message")
    if isinstance(message, str) and message.strip():
        extra = [str(data[k]) for k in ("details", "field", "type") if isinstance(data.get(k), (str, int)) and data[k]]
        return message.strip() + (" (%s)" % ", ".join(extra) if extra else "")
    return None


def unexpected_message(exc):
    """What a user is told about an exception no rule expected: its type and its text."""
    text = str(exc).strip()
    return "unexpected error in tines.cases: %s%s" % (type(exc).__name__, ": " + text if text else "")


def truncate(text, limit=MESSAGE_LIMIT):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(retry, retry_after=None):
    """Wait before retry number `retry` (0-based): the server's word if given, else jittered exponential."""
    if retry_after is not None:
        return min(retry_after, MAX_SINGLE_WAIT)
    return min(BACKOFF_BASE * (2**retry) * random.uniform(0.5, 1.0), MAX_SINGLE_WAIT)


def describe_http_error(method, path, status, body_text):
    hint = STATUS_HINTS.get(status) or ("server error" if status >= 500 else None)
    tines_says = error_message(body_text)
    message = "%s %s failed with HTTP %d" % (method, path, status)
    if hint:
        message += ": " + hint
    if tines_says:
        message += " (Tines said: %s)" % tines_says
    return message


_SHARED_SESSION = None


def shared_session():
    """One kept-alive session per process: loop items run in-process reuse its connections.

    It ignores os.environ (and ~/.netrc): proxies and CA bundle come from
    `environment_settings`, read once per task from the environment the task
    runs in, which in-process is not the worker's own.
    """
    global _SHARED_SESSION  # pylint: disable=global-statement
    if _SHARED_SESSION is None:
        _SHARED_SESSION = requests.Session()
        _SHARED_SESSION.trust_env = False
    return _SHARED_SESSION


def environment_settings(url, environment):
    """The proxies and CA bundle requests would take from `environment` for `url`."""

    def get(name):
        return environment.get(name) or environment.get(name.upper())

    proxy = get(urlsplit(url).scheme + "_proxy") or get("all_proxy")
    if proxy and requests.utils.should_bypass_proxies(url, no_proxy=get("no_proxy") or ""):
        proxy = None
    proxies = {"all": proxy} if proxy else {}
    return proxies, environment.get("REQUESTS_CA_BUNDLE") or environment.get("CURL_CA_BUNDLE")


class TinesClient:
    """A small JSON client for the Tines REST API: paced under the rate limit, with bounded retries.

    Every error it raises has the API key masked in every form, whatever text the
    server or a library put into it, so no caller has to rely on Ansible's masking.
    """

    def __init__(
        self,
        tenant_url,
        api_key,
        auth_header="bearer",
        validate_certs=True,
        ca_path=None,
        timeout=30,
        max_retries=5,
        environment=None,
        rate_limit=5000,
        rate_limit_timeout=RATE_LIMIT_TIMEOUT,
        rate_limit_window=WINDOW,
        allow_plain_http=False,
    ):
        self.secrets = secret_forms(api_key) if api_key else []
        try:
            key = clean_api_key(api_key)
        except TinesError as exc:
            raise exc.redacted(self.secrets) from None
        self.base_url = tenant_url
        name, value = AUTH_HEADERS[auth_header](key)
        self.headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            name: value,
        }
        environment = os.environ if environment is None else environment
        self.proxies, ca_bundle = environment_settings(tenant_url, environment)
        self.verify = (ca_path or ca_bundle or True) if validate_certs else False
        self.timeout = timeout
        self.max_retries = max_retries
        self.rate_limit_timeout = rate_limit_timeout
        self.rate_limit_window = rate_limit_window
        self.allow_plain_http = allow_plain_http
        self.warnings = []
        self.budget = None
        if rate_limit:
            self.budget, warning = budget_for(tenant_url, key, rate_limit, rate_limit_window)
            if warning:
                self.warnings.append(warning)
            self._take_budget_warnings()
        self.session = shared_session()
        self.requests_sent = 0
        if not validate_certs:
            requests.packages.urllib3.disable_warnings(InsecureRequestWarning)

    def request(self, method, path, body=None, refresh=None, allow_empty=False):
        """Send one API call and return its decoded JSON (None for an allowed empty answer).

        HTTP 429 is waited out, told to every process sharing the budget, for up to
        `rate_limit_timeout` seconds. Other transient failures are retried up to
        `max_retries` times. For writes that may have been applied before a failure,
        `refresh` is called before each retry: it re-reads the case and returns the
        body still worth sending, or None when nothing is left to do (and None is returned).
        """
        try:
            return self._request(method, path, body, refresh, allow_empty)
        except TinesError as exc:
            raise exc.redacted(self.secrets) from None
        finally:
            self._take_budget_warnings()

    def _take_budget_warnings(self):
        """Move what the shared budget met (a damaged file it rebuilt, say) into this task's warnings.

        The budget outlives a task (every loop item and thread of the process shares it),
        so each warning goes to the task whose request met it, and only to that one.
        """
        if self.budget is not None:
            self.warnings.extend(text for text in self.budget.notices.take() if text not in self.warnings)

    def _request(self, method, path, body, refresh, allow_empty):
        waited = 0.0
        retry = 0
        limited_since = None
        strikes = 0
        while True:
            slot = self.budget.wait_for_slot() if self.budget is not None else None
            try:
                answer = self._send_once(method, path, body, allow_empty)
            except RateLimited as exc:
                # Tines refused the request without acting on it: wait, then send the same again.
                now = time.monotonic()
                limited_since = now if limited_since is None else limited_since
                strikes += 1
                retry_after = None if exc.retry_after is None else min(max(exc.retry_after, MIN_WAIT), MAX_SINGLE_WAIT)
                if self.budget is not None:
                    delay = self.budget.rate_limited(slot, retry_after)
                elif retry_after is not None:
                    delay = retry_after
                else:
                    delay = backoff(strikes, self.rate_limit_window, random.uniform(0.5, 1.0))
                if now - limited_since + delay > self.rate_limit_timeout:
                    raise TinesError(
                        "%s; still rate limited after %.0f s of waiting (rate_limit_timeout is %s s)"
                        % (exc, now - limited_since, _number(self.rate_limit_timeout)),
                        exc.status,
                    ) from None
                if self.budget is None:
                    time.sleep(delay)
                continue
            except TinesError as exc:
                self._answered(slot)
                if not isinstance(exc, TransientError):
                    raise
                delay = backoff_delay(retry, exc.retry_after)
                if retry >= self.max_retries or waited + delay > MAX_TOTAL_WAIT:
                    raise TinesError(
                        "%s; gave up after %d %s (%.1f s waited)"
                        % (exc, retry, "retry" if retry == 1 else "retries", waited),
                        exc.status,
                    ) from None
                time.sleep(delay)
                waited += delay
                retry += 1
            else:
                self._answered(slot)
                return answer
            if refresh is not None:
                body = refresh()
                if body is None:
                    return None

    def _answered(self, slot):
        """The tenant counted the request by the time its answer came: the slot holds that time, so that
        no later request is paced from an earlier one (a slow start or a busy machine delays a send).
        A 429 keeps its slot as planned: the budget forgets the refused request by it."""
        if slot is not None:
            self.budget.confirm(slot)

    def scrub(self, text):
        """`text` with the API key masked in every form: for messages built outside the client."""
        return redact_text(text, self.secrets)

    def widen_pool(self, connections):
        """Keep up to `connections` connections to the tenant alive, for that many requests in flight at once."""
        adapter = self.session.get_adapter(self.base_url)
        if getattr(adapter, "_pool_maxsize", 0) < connections:
            self.session.mount(self.base_url, requests.adapters.HTTPAdapter(pool_maxsize=connections))

    def _send_once(self, method, path, body, allow_empty):
        url = self.base_url + path
        self.requests_sent += 1
        try:
            response = self.session.request(
                method,
                url,
                data=None if body is None else json.dumps(body),
                headers=self.headers,
                timeout=self.timeout,
                verify=self.verify,
                proxies=self.proxies,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise TinesError("%s %s: %s" % (method, path, self._tls_problem(exc))) from None
        except requests.exceptions.Timeout:
            raise TransientError(
                "%s %s: no answer from %s within %s s" % (method, path, self.base_url, self.timeout)
            ) from None
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise TransientError(
                "%s %s: connection to %s failed (%s)" % (method, path, self.base_url, _reason(exc))
            ) from None
        except (requests.exceptions.RequestException, OSError, ValueError) as exc:
            raise TinesError("%s %s: request failed (%s)" % (method, path, _reason(exc))) from None
        return self._decode(method, path, response, allow_empty)

    def _tls_problem(self, exc):
        """What a failed TLS handshake means for the user, with the fix that applies to this tenant_url."""
        reason = _reason(exc)
        if not any(marker in _chain_text(exc).upper() for marker in PLAIN_HTTP_ANSWER):
            return (
                "TLS verification of %s failed (%s); set ca_path to the CA bundle that signed the tenant's "
                "certificate" % (self.base_url, reason)
            )
        plain = "http://" + urlsplit(self.base_url).netloc
        if self.allow_plain_http or is_loopback(urlsplit(self.base_url).hostname):
            fix = "if it really serves plain HTTP, set tenant_url to %s" % plain
        else:
            fix = "check the port in tenant_url, or the proxy in between"
        return "%s answered the TLS handshake in plain HTTP (%s); %s" % (self.base_url, reason, fix)

    def _decode(self, method, path, response, allow_empty):
        status = response.status_code
        if 300 <= status < 400:
            raise TinesError(
                "%s %s: Tines answered HTTP %d redirecting to %s; redirects are not followed so that the "
                "API key never goes to another address; check tenant_url"
                % (method, path, status, response.headers.get("Location", "(no Location)")),
                status,
            )
        if status == 429:
            raise RateLimited(
                describe_http_error(method, path, status, response.text),
                status,
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if status in RETRY_STATUSES:
            raise TransientError(
                describe_http_error(method, path, status, response.text),
                status,
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if not 200 <= status < 300:
            raise TinesError(describe_http_error(method, path, status, response.text), status)
        if not response.content.strip():
            if allow_empty:
                return None
            raise TinesError(
                "%s %s: HTTP %d with an empty body where JSON was expected" % (method, path, status), status
            )
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise TinesError(
                "%s %s: HTTP %d but the body is not JSON (%s: %s); is tenant_url the Tines API, not a proxy or login page?"
                % (
                    method,
                    path,
                    status,
                    response.headers.get("Content-Type", "no content type"),
                    truncate(" ".join(response.text.split()), 120),
                ),
                status,
            ) from None


def _reason(exc):
    """The underlying cause of a requests exception (urllib3 nests it in `reason`), kept short."""
    inner = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", inner)
    return truncate(str(inner) or type(inner).__name__, 200)


def _chain_text(exc, depth=0):
    """The text of an exception and of everything it wraps (requests nests urllib3 nests ssl)."""
    if depth > 6 or exc is None:
        return ""
    parts = [str(exc), str(getattr(exc, "reason", "") or "")]
    for inner in [*getattr(exc, "args", ()), getattr(exc, "reason", None), exc.__cause__, exc.__context__]:
        if isinstance(inner, BaseException) and inner is not exc:
            parts.append(_chain_text(inner, depth + 1))
    return " ".join(parts)


def _number(value):
    return "%g" % value
