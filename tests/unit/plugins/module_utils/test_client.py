"""The client's pure helpers: URLs, error messages, Retry-After and backoff."""

from __future__ import annotations

import pytest
from ansible_collections.tines.cases.plugins.module_utils._client import (
    MAX_SINGLE_WAIT,
    TinesError,
    backoff_delay,
    describe_http_error,
    error_message,
    is_loopback,
    normalize_tenant_url,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.tines.com", "https://acme.tines.com"),
        ("https://acme.tines.com/", "https://acme.tines.com"),
        ("acme.tines.com", "https://acme.tines.com"),
        ("  acme.tines.com:8443 ", "https://acme.tines.com:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("HTTPS://Acme.Tines.com", "https://Acme.Tines.com"),
    ],
)
def test_normalize_tenant_url(url, expected):
    assert normalize_tenant_url(url) == expected


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("", "tenant_url is required"),
        (None, "tenant_url is required"),
        ("ftp://acme.tines.com", "not an http"),
        ("file:///etc/passwd", "not an http"),
        ("https://", "not an http"),
        ("https://acme.tines.com/api/v2", "base URL only"),
        ("https://user:pw@acme.tines.com", "must not hold a user name or password"),
        ("https://@acme.tines.com", "must not hold a user name or password"),
        ("https://acme.tines.com:99999", "not a valid URL"),
        ("http://acme.tines.com", "plain HTTP to a non-loopback host"),
        ("http://10.0.0.8", "plain HTTP"),
    ],
)
def test_normalize_tenant_url_refuses(url, match):
    with pytest.raises(TinesError, match=match):
        normalize_tenant_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://deploy:Hunter2pw@acme.tines.com",
            "tenant_url 'https://********@acme.tines.com' must not hold a user name or password: Tines takes the "
            "API key (api_key) only",
        ),
        ("deploy:Hunter2pw@acme.tines.com", "tenant_url '********@acme.tines.com' must not hold a user name or"),
        ("https://deploy:Hunter2pw@acme.tines.com:99999", "tenant_url 'https://********@acme.tines.com:99999' must"),
        ("ftp://deploy:Hunter2pw@acme.tines.com", "tenant_url 'ftp://********@acme.tines.com' must not hold"),
        ("https://deploy:Hunter2pw@", "tenant_url 'https://********@' must not hold"),
        ("https://deploy:Hunter2pw/x@acme.tines.com", "tenant_url 'https://********@acme.tines.com' must not hold"),
        ("https://deploy:Hunter2pw#x@acme.tines.com", "tenant_url 'https://********@acme.tines.com' must not hold"),
        ("http://deploy:Hunter2pw@@tines.example.com/api", "tenant_url 'http://********@tines.example.com/api' must"),
    ],
)
def test_no_message_repeats_a_password_in_the_url(url, message):
    with pytest.raises(TinesError) as refused:
        normalize_tenant_url(url)
    assert str(refused.value).startswith(message)
    assert "Hunter2pw" not in str(refused.value) and "deploy" not in str(refused.value)


def test_plain_http_can_be_allowed_explicitly():
    assert normalize_tenant_url("http://tines.internal", allow_plain_http=True) == "http://tines.internal"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("localhost.evil.com", False),
    ],
)
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"errors": [{"message": "Key limit", "details": "max 100"}]}', "Key limit (max 100)"),
        ('{"errors": ["first", {"message": "second"}]}', "first; second"),
        ('[{"message": "bare list"}]', "bare list"),
        (
            '{"error": {"type": "not_found", "message": "Case not found", "field": "case_id"}}',
            "Case not found (case_id, not_found)",
        ),
        ('{"error": "Forbidden"}', "Forbidden"),
        ('{"message": "Rate limited"}', "Rate limited"),
        ("Service Unavailable\n", "Service Unavailable"),
        ("<html><body>  Bad   gateway </body></html>", "<html><body> Bad gateway </body></html>"),
        ("", None),
        (None, None),
        ('{"unexpected": 1}', '{"unexpected": 1}'),
    ],
)
def test_error_message_reads_every_known_shape(body, expected):
    assert error_message(body) == expected


def test_error_message_is_truncated():
    assert len(error_message("x" * 1000)) == 300


@pytest.mark.parametrize(
    "body", ["[" * 100000 + "]" * 100000, '{"errors": ' + "[" * 900 + '"deep"' + "]" * 900 + "}"], ids=["json", "ours"]
)
def test_an_error_body_nested_too_deep_to_read_is_quoted_as_text(body):
    """Too deep for Python's JSON decoder, or deeper than a message is looked for: the start of the text is shown."""
    message = describe_http_error("GET", "/api/v2/cases/9/metadata", 400, body)
    assert message == "GET /api/v2/cases/9/metadata failed with HTTP 400 (Tines said: %s...)" % body[:297]


def test_a_message_is_looked_for_32_levels_deep_and_no_deeper():
    """The object is level 0: under "errors", 31 lists put the message at level 32, 32 lists one level deeper."""
    assert error_message('{"errors": ' + "[" * 31 + '"deep"' + "]" * 31 + "}") == "deep"
    too_deep = '{"errors": ' + "[" * 32 + '"deep"' + "]" * 32 + "}"
    assert error_message(too_deep) == too_deep


def test_describe_http_error_words_404_and_keeps_tines_text():
    message = describe_http_error("GET", "/api/v2/cases/9/metadata", 404, '{"error": "Not found"}')
    assert message == (
        "GET /api/v2/cases/9/metadata failed with HTTP 404: case not found or not visible to this API key "
        "(Tines said: Not found)"
    )
    assert describe_http_error("POST", "/p", 500, "").endswith("HTTP 500: server error")
    assert "HTTP 418" in describe_http_error("PUT", "/p", 418, "teapot")


def test_parse_retry_after():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


def test_backoff_delay_honours_and_caps_retry_after():
    assert backoff_delay(0, retry_after=3) == 3
    assert backoff_delay(0, retry_after=3600) == MAX_SINGLE_WAIT
    for retry in range(6):
        assert 0.25 * 2**retry <= backoff_delay(retry) <= min(0.5 * 2**retry, MAX_SINGLE_WAIT)
