# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""How we talk to Tines: one client, one retry policy, one error type.

Every rule about URLs, authentication, retries and error messages lives here;
what to change on a case does not (see _plan.py).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import os
import random
import time
import traceback
from urllib.parse import urlsplit

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.packages.urllib3.exceptions import InsecureRequestWarning  # pylint: disable=import-error
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

USER_AGENT = "tines.cases-ansible/0.1.0"
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
BACKOFF_BASE = 0.5
MAX_SINGLE_WAIT = 60.0
MAX_TOTAL_WAIT = 120.0
MESSAGE_LIMIT = 300
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


class TransientError(TinesError):
    """A failure that may pass: 429, 500, 502-504, a lost connection or a timeout."""

    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message, status)
        self.retry_after = retry_after


def is_loopback(host):
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_tenant_url(url, allow_plain_http=False):
    """Return `scheme://host[:port]` for the tenant, or raise before any request is made.

    A bare host gets `https://`. Plain HTTP would put the API key on the wire in
    clear text, so it is accepted only for loopback addresses unless allowed.
    """
    if not url or not str(url).strip():
        raise TinesError("tenant_url is required: set the option or the TINES_TENANT_URL environment variable")
    text = str(url).strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise TinesError("tenant_url %r is not a valid URL: %s" % (url, exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TinesError("tenant_url %r is not an http(s) URL such as https://acme.tines.com" % (url,))
    if parts.path.rstrip("/") or parts.query or parts.fragment or parts.username or parts.password:
        raise TinesError("tenant_url %r must be the tenant's base URL only, such as https://acme.tines.com" % (url,))
    if parts.scheme == "http" and not allow_plain_http and not is_loopback(parts.hostname):
        raise TinesError(
            "tenant_url %r uses plain HTTP to a non-loopback host, which would send the API key unencrypted; "
            "use https:// or set allow_plain_http=true if you really mean it" % (url,)
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
        data = json.loads(text)
    except ValueError:
        return truncate(" ".join(text.split()))
    found = _message_from(data)
    return truncate(found) if found else truncate(text)


def _message_from(data):
    if isinstance(data, str):
        return data.strip() or None
    if isinstance(data, list):
        parts = [_message_from(item) for item in data]
        return "; ".join(part for part in parts if part) or None
    if not isinstance(data, dict):
        return None
    for field in ("errors", "error"):
        if data.get(field):
            return _message_from(data[field])
    message = data.get("message")
    if isinstance(message, str) and message.strip():
        extra = [str(data[k]) for k in ("details", "field", "type") if isinstance(data.get(k), (str, int)) and data[k]]
        return message.strip() + (" (%s)" % ", ".join(extra) if extra else "")
    return None


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
    """A small JSON client for the Tines REST API with bounded, Retry-After-aware retries."""

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
    ):
        if not api_key:
            raise TinesError("api_key is required: set the option or the TINES_API_KEY environment variable")
        self.base_url = tenant_url
        name, value = AUTH_HEADERS[auth_header](api_key)
        self.headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            name: value,
        }
        self.proxies, ca_bundle = environment_settings(tenant_url, os.environ if environment is None else environment)
        self.verify = (ca_path or ca_bundle or True) if validate_certs else False
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = shared_session()
        if not validate_certs:
            requests.packages.urllib3.disable_warnings(InsecureRequestWarning)

    def request(self, method, path, body=None, refresh=None, allow_empty=False):
        """Send one API call and return its decoded JSON (None for an allowed empty answer).

        Transient failures are retried up to `max_retries` times. For writes that
        may have been applied before the failure, `refresh` is called before each
        retry: it re-reads the case and returns the body still worth sending, or
        None when nothing is left to do (and None is returned).
        """
        waited = 0.0
        retry = 0
        while True:
            try:
                return self._send_once(method, path, body, allow_empty)
            except TransientError as exc:
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
                if refresh is not None:
                    body = refresh()
                    if body is None:
                        return None

    def _send_once(self, method, path, body, allow_empty):
        url = self.base_url + path
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
            raise TinesError(
                "%s %s: TLS verification of %s failed (%s); set ca_path to the CA bundle that signed the "
                "tenant's certificate" % (method, path, self.base_url, _reason(exc))
            ) from None
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
        except (requests.exceptions.RequestException, OSError) as exc:
            raise TinesError("%s %s: request failed (%s)" % (method, path, _reason(exc))) from None
        return self._decode(method, path, response, allow_empty)

    def _decode(self, method, path, response, allow_empty):
        status = response.status_code
        if 300 <= status < 400:
            raise TinesError(
                "%s %s: Tines answered HTTP %d redirecting to %s; redirects are not followed so that the "
                "API key never goes to another address; check tenant_url"
                % (method, path, status, response.headers.get("Location", "(no Location)")),
                status,
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
