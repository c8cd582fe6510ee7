"""TLS and plain HTTP: certificates are verified by default, and the key crosses no network in clear text.

The simulator serves HTTPS with a certificate from a CA the tests make on the
spot, which no trust store holds: only `ca_path` or `validate_certs: false`
gets a task through.
"""

from __future__ import annotations

import re

import pytest
import tines_sim
from helpers.plays import calls, failure, md_path, non_loopback_ipv4, play, task
from helpers.tls_certs import make_ca_and_server_cert

INSECURE_WARNING = "validate_certs is false: the tenant's TLS certificate is not verified"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_ca_and_server_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def sim(tls_files):
    """Overrides the harness's simulator: the same kind of tenant, over HTTPS."""
    cases = {1: {"source": "edr"}, 2: {"source": "edr"}, 3: {"source": "edr"}}
    with tines_sim.Simulator(cases=cases, tls=(str(tls_files["cert"]), str(tls_files["key"]))) as simulator:
        yield simulator


def test_certificates_are_verified_by_default(sim, tls_files, run_playbook, ansible_path):
    assert sim.url.startswith("https://127.0.0.1:")
    tag = {"triage": "done"}
    result = run_playbook(
        play(
            [
                task("default validate_certs", case_id=1, metadata=tag, ignore_errors=True),
                task("ca_path names the CA", case_id=2, metadata=tag, ca_path=str(tls_files["ca"])),
                task("validate_certs false", case_id=3, metadata=tag, validate_certs=False),
            ]
        ),
        path=ansible_path,
    )
    assert result.rc == 0, result

    refused = failure(result, "default validate_certs")
    assert re.fullmatch(
        re.escape(f"GET {md_path(1)}: TLS verification of {sim.url} failed (")
        + r".*certificate verify failed.*"
        + re.escape("); set ca_path to the CA bundle that signed the tenant's certificate"),
        refused["msg"],
    ), refused["msg"]
    assert calls(sim, 1) == [], "no HTTP request got past the failed handshake"
    assert sim.get_case(1) == {"source": "edr"}

    for case_id, name in ((2, "ca_path names the CA"), (3, "validate_certs false")):
        assert calls(sim, case_id) == [("GET", 200), ("POST", 200)]
        assert result.task(name)["added"] == tag
        assert sim.get_case(case_id) == {"source": "edr", **tag}
    # The warning shows once: for the task that turned verification off, not for the one with ca_path.
    # (ansible-core 2.16 wraps warnings at the terminal width: compare with whitespace collapsed.)
    assert " ".join((result.stdout + result.stderr).split()).count(INSECURE_WARNING) == 1, result


def test_plain_http_only_to_loopback_unless_allowed(run_playbook, ansible_path):
    """A non-loopback http:// URL is refused before any connection; allow_plain_http lifts that."""
    address = non_loopback_ipv4()
    tag = {"triage": "done"}
    with tines_sim.Simulator(cases={7: {}}) as loopback:
        remote = tines_sim.Simulator(host=address, cases={8: {}}).start() if address else None
        try:
            loopback_url = loopback.url.replace("127.0.0.1", "localhost")
            tasks = [
                task(
                    "http to a name",
                    case_id=7,
                    metadata=tag,
                    tenant_url="http://tines.example.test",
                    ignore_errors=True,
                ),
                task(
                    "http to a name, allowed",
                    case_id=7,
                    metadata=tag,
                    tenant_url="http://tines.example.test",
                    allow_plain_http=True,
                    max_retries=0,
                    ignore_errors=True,
                ),
                task("http to localhost", case_id=7, metadata=tag, tenant_url=loopback_url, api_key=loopback.api_key),
            ]
            if remote:
                tasks += [
                    task("http to an address", case_id=8, metadata=tag, tenant_url=remote.url, ignore_errors=True),
                    task(
                        "http to an address, allowed",
                        case_id=8,
                        metadata=tag,
                        tenant_url=remote.url,
                        api_key=remote.api_key,
                        allow_plain_http=True,
                    ),
                ]
            result = run_playbook(play(tasks), path=ansible_path)
            assert result.rc == 0, result
            if remote:
                # The refused task never connected: the only request is the allowed one's.
                assert [(e["method"], e["headers"]["authorization"]) for e in remote.log] == [
                    ("GET", f"Bearer {remote.api_key}"),
                    ("POST", f"Bearer {remote.api_key}"),
                ]
                assert failure(result, "http to an address")["msg"] == refusal(remote.url)
                assert result.task("http to an address, allowed")["added"] == tag
                assert remote.get_case(8) == tag
        finally:
            if remote:
                remote.stop()
        assert calls(loopback, 7) == [("GET", 200), ("POST", 200)]
        assert result.task("http to localhost")["added"] == tag

    assert failure(result, "http to a name")["msg"] == refusal("http://tines.example.test")
    allowed = failure(result, "http to a name, allowed")["msg"]
    assert "plain HTTP" not in allowed
    assert allowed.startswith(f"GET {md_path(7)}: connection to http://tines.example.test failed ("), allowed


def refusal(url):
    return (
        f"tenant_url {url!r} uses plain HTTP to a non-loopback host, which would send the API key unencrypted; "
        "use https:// or set allow_plain_http=true if you really mean it"
    )


def test_a_tls_handshake_answered_in_plain_http_says_so(run_playbook, ansible_path):
    """https:// (or no scheme) to a plain-HTTP server: the message names the cause, and http:// only where allowed."""
    address = non_loopback_ipv4()
    tag = {"triage": "done"}
    with tines_sim.Simulator(cases={7: {}}) as loopback:
        remote = tines_sim.Simulator(host=address, cases={8: {}}).start() if address else None
        try:
            bare = loopback.url.removeprefix("http://")
            tasks = [
                task("no scheme, plain HTTP on loopback", case_id=7, metadata=tag, tenant_url=bare, ignore_errors=True),
                task(
                    "two trailing slashes",
                    case_id=7,
                    metadata=tag,
                    tenant_url=loopback.url + "//",
                    ignore_errors=True,
                ),
            ]
            if remote:
                https_remote = remote.url.replace("http://", "https://")
                tasks += [
                    task(
                        "https to a plain-HTTP address",
                        case_id=8,
                        metadata=tag,
                        tenant_url=https_remote,
                        ignore_errors=True,
                    ),
                    task(
                        "https to a plain-HTTP address, plain HTTP allowed",
                        case_id=8,
                        metadata=tag,
                        tenant_url=https_remote,
                        allow_plain_http=True,
                        ignore_errors=True,
                    ),
                ]
            result = run_playbook(play(tasks), path=ansible_path)
            assert result.rc == 0, result
            if remote:
                refused = failure(result, "https to a plain-HTTP address")["msg"]
                assert f"{https_remote} answered the TLS handshake in plain HTTP" in refused, refused
                assert "http://" not in refused and "ca_path" not in refused, refused
                assert refused.endswith("check the port in tenant_url, or the proxy in between"), refused
                allowed = failure(result, "https to a plain-HTTP address, plain HTTP allowed")["msg"]
                assert allowed.endswith(f"if it really serves plain HTTP, set tenant_url to {remote.url}"), allowed
                assert remote.log == []
        finally:
            if remote:
                remote.stop()
        assert loopback.log == [], "no request got past the handshake or the URL check"

    loopback_refused = failure(result, "no scheme, plain HTTP on loopback")["msg"]
    assert f"https://{bare} answered the TLS handshake in plain HTTP" in loopback_refused, loopback_refused
    assert loopback_refused.endswith(f"set tenant_url to http://{bare}"), loopback_refused
    slashes = failure(result, "two trailing slashes")["msg"]
    assert slashes == (
        f"tenant_url {loopback.url + '//'!r} must be the tenant's base URL only (one trailing / at most), "
        "such as https://acme.tines.com"
    )
