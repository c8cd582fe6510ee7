"""Real-HTTP tests of the Tines simulator, its command line and the playbook harness.

Other integration tests trust the simulator to behave as documented and to
switch exactly as asked, so each behaviour and fault kind is pinned here.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import tines_sim  # beside this file, so on sys.path under pytest

SIMULATOR_DIR = Path(__file__).resolve().parents[1] / "simulator"
KEY = "test-api-key"
MD = "/api/v2/cases/42/metadata"


@pytest.fixture
def sim():
    """A started simulator: case 42 = {"source": "edr", "ticket": "OPS-1"}, case 7 = {}."""
    with tines_sim.Simulator(cases={42: {"source": "edr", "ticket": "OPS-1"}, 7: {}}) as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {KEY}"
    yield Api(session, sim.url)
    session.close()


class Api:
    """requests.Session bound to the simulator's base URL."""

    def __init__(self, session, base):
        self.session = session
        self.base = base

    def __call__(self, method, path=MD, metadata=None, **kwargs):
        if metadata is not None:
            kwargs["json"] = {"metadata": metadata}
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)


# --- documented behaviour ----------------------------------------------------


def test_list_get_key_and_case(api):
    assert api("GET").json() == {"case_id": 42, "metadata": {"source": "edr", "ticket": "OPS-1"}}
    assert api("GET", "/api/v2/cases/7/metadata").json() == {"case_id": 7, "metadata": {}}
    response = api("GET", MD + "/ticket")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"case_id": 42, "metadata": {"ticket": "OPS-1"}}
    assert api("GET", MD + "/missing").status_code == 404
    case = api("GET", "/api/v2/cases/42").json()
    assert case["case_id"] == 42 and case["status"] == "OPEN" and case["metadata"]["source"] == "edr"


def test_get_key_is_url_decoded(api, sim):
    sim.set_case(42, {"a b/c": "x"})
    assert api("GET", MD + "/a%20b%2Fc").json()["metadata"] == {"a b/c": "x"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v2/nothing"),
        ("GET", "/api/v1/cases/42/metadata"),
        ("GET", "/api/v2/cases/abc/metadata"),
        ("POST", "/api/v2/cases/42"),
        ("PUT", MD + "/source"),
        ("PATCH", MD),
    ],
)
def test_unknown_paths_are_404(api, method, path):
    assert api(method, path, metadata={"a": "b"}).status_code == 404


def test_unknown_case_is_404(api):
    assert api("GET", "/api/v2/cases/9999/metadata").status_code == 404
    assert api("POST", "/api/v2/cases/9999/metadata", metadata={"a": "b"}).status_code == 404


def test_post_adds_and_keeps_other_keys(api, sim):
    response = api("POST", metadata={"owner": "blue"})
    assert response.status_code == 200
    assert response.json() == {"case_id": 42, "metadata": {"source": "edr", "ticket": "OPS-1", "owner": "blue"}}
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1", "owner": "blue"}


def test_put_changes_and_creates(api, sim):
    response = api("PUT", metadata={"ticket": "OPS-2", "sev": "2"})
    assert response.status_code == 200
    assert response.json()["metadata"] == {"source": "edr", "ticket": "OPS-2", "sev": "2"}


def test_delete_takes_array_body_and_answers_204(api, sim):
    response = api("DELETE", metadata=["ticket"])
    assert response.status_code == 204
    assert response.content == b""
    assert sim.get_case(42) == {"source": "edr"}
    assert sim.requests("DELETE")[0]["body"] == {"metadata": ["ticket"]}


@pytest.mark.parametrize(
    "method, body",
    [
        ("POST", b"{not json"),
        ("POST", b""),
        ("POST", b'{"metadata": ["a"]}'),
        ("PUT", b'{"meta": {"a": "b"}}'),
        ("PUT", b"[]"),
        ("DELETE", b'{"metadata": {"a": "b"}}'),
        ("DELETE", b'{"metadata": [1]}'),
        ("DELETE", b""),
    ],
)
def test_bad_body_is_400(api, sim, method, body):
    response = api(method, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1"}


# --- authentication and visibility -------------------------------------------


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Authorization": f"Bearer {KEY}"}, 200),
        ({"Authorization": f"bearer {KEY}"}, 200),
        ({"X-User-Token": KEY}, 200),
        ({"X-User-Token": KEY, "X-User-Email": "someone@example.com"}, 200),
        ({"X-User-Email": "someone@example.com"}, 401),
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": KEY}, 401),
    ],
)
def test_auth_headers(sim, headers, status):
    assert requests.get(sim.url + MD, headers=headers, timeout=10).status_code == status


def test_read_only_key_reads_but_cannot_write(sim):
    headers = {"Authorization": "Bearer read-only-key"}
    assert requests.get(sim.url + MD, headers=headers, timeout=10).status_code == 200
    for method in ("POST", "PUT"):
        response = requests.request(method, sim.url + MD, headers=headers, json={"metadata": {"a": "b"}}, timeout=10)
        assert response.status_code == 403
    response = requests.delete(sim.url + MD, headers=headers, json={"metadata": ["source"]}, timeout=10)
    assert response.status_code == 403
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1"}
    sim.set_options(read_only_status=404)
    assert requests.put(sim.url + MD, headers=headers, json={"metadata": {"a": "b"}}, timeout=10).status_code == 404


def test_hidden_cases(api, sim):
    sim.set_options(hidden_cases=[42])
    assert api("GET").status_code == 404
    sim.set_options(hidden_status=403)
    response = api("POST", metadata={"a": "b"})
    assert response.status_code == 403
    assert "another team" in response.json()["errors"][0]["details"]
    assert api("GET", "/api/v2/cases/7/metadata").status_code == 200


# --- section 10 switches ------------------------------------------------------


@pytest.mark.parametrize(
    "mode, status, stored",
    [("keep", 200, "OPS-1"), ("overwrite", 200, "OPS-9"), ("422", 422, "OPS-1")],
)
def test_post_existing(api, sim, mode, status, stored):
    sim.set_options(post_existing=mode)
    response = api("POST", metadata={"ticket": "OPS-9", "new": "x"})
    assert response.status_code == status
    assert sim.get_case(42)["ticket"] == stored
    assert ("new" in sim.get_case(42)) is (status == 200)


def test_response_metadata_sent(api, sim):
    sim.set_options(response_metadata="sent")
    assert api("POST", metadata={"owner": "blue"}).json() == {"case_id": 42, "metadata": {"owner": "blue"}}
    assert api("PUT", metadata={"ticket": "OPS-3"}).json()["metadata"] == {"ticket": "OPS-3"}
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-3", "owner": "blue"}


def test_post_status_201(api, sim):
    sim.set_options(post_status=201)
    assert api("POST", metadata={"a": "b"}).status_code == 201
    assert api("PUT", metadata={"a": "c"}).status_code == 200


@pytest.mark.parametrize(
    "mode, status, stored",
    [("create", 200, {"ticket": "OPS-2", "sev": "2"}), ("ignore", 200, {"ticket": "OPS-2"}), ("422", 422, {})],
)
def test_put_new_key(api, sim, mode, status, stored):
    sim.set_options(put_new_key=mode)
    response = api("PUT", metadata={"ticket": "OPS-2", "sev": "2"})
    assert response.status_code == status
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1", **stored}


@pytest.mark.parametrize("mode, status", [("ignore", 204), ("404", 404), ("422", 422)])
def test_delete_absent(api, sim, mode, status):
    sim.set_options(delete_absent=mode)
    assert api("DELETE", metadata=["ticket", "nope"]).status_code == status
    assert ("ticket" in sim.get_case(42)) is (status != 204)


@pytest.mark.parametrize("value", [1, True, None, {"nested": "x"}, ["a"]])
def test_non_string_values(api, sim, value):
    assert api("POST", metadata={"n": value, "s": "ok"}).status_code == 422
    assert "n" not in sim.get_case(42)
    sim.set_options(non_string_values="accept")
    assert api("POST", metadata={"n": value}).json()["metadata"]["n"] == value
    assert sim.get_case(42)["n"] == value


def test_key_limit(api, sim):
    sim.set_case(42, {f"k{i}": "v" for i in range(99)})
    assert api("POST", metadata={"k99": "v"}).status_code == 200
    response = api("POST", metadata={"k100": "v"})
    assert response.status_code == 422
    assert "100" in response.json()["errors"][0]["message"]
    assert len(sim.get_case(42)) == 100
    sim.set_options(key_limit=2)
    assert api("PUT", "/api/v2/cases/7/metadata", metadata={"a": "1", "b": "2", "c": "3"}).status_code == 422
    assert sim.get_case(7) == {}


@pytest.mark.parametrize(
    "shape, content_type, check",
    [
        ("errors", "application/json", lambda b: json.loads(b)["errors"][0]["message"] == "Case not found"),
        ("error_object", "application/json", lambda b: json.loads(b)["error"]["type"] == "not_found"),
        ("error_string", "application/json", lambda b: json.loads(b)["error"] == "Case not found"),
        ("message", "application/json", lambda b: json.loads(b)["message"] == "Case not found"),
        ("text", "text/plain", lambda b: b == b"Case not found"),
        ("empty", None, lambda b: b == b""),
    ],
)
def test_error_shapes(api, sim, shape, content_type, check):
    sim.set_options(error_shape=shape)
    response = api("GET", "/api/v2/cases/1/metadata")
    assert response.status_code == 404
    assert response.headers.get("Content-Type", "").split(";")[0] == (content_type or "")
    assert check(response.content)


def test_rate_limit_cycles(api, sim):
    sim.set_options(rate_limit_after=2, rate_limit_count=2)
    statuses = [api("GET").status_code for _attempt in range(8)]
    assert statuses == [200, 200, 429, 429, 200, 200, 429, 429]
    response = api("GET", "/nowhere")
    assert response.status_code == 404
    sim.set_options(rate_limit_after=0)
    response = api("GET")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_retry_after_variants(api, sim):
    sim.set_options(rate_limit_after=0, retry_after=None)
    assert "Retry-After" not in api("GET").headers
    sim.set_options(retry_after="date", retry_after_seconds=30)
    date = email.utils.parsedate_to_datetime(api("GET").headers["Retry-After"])
    assert 20 < date.timestamp() - time.time() <= 31
    sim.set_options(retry_after=7)
    assert api("GET").headers["Retry-After"] == "7"


def test_latency_delays_answers(api, sim):
    sim.set_options(latency=0.2)
    start = time.monotonic()
    api("GET")
    assert time.monotonic() - start >= 0.2


def test_interleaved_writes_lose_nothing(sim):
    sim.set_options(interleave=0.05)

    def write(i):
        method = "POST" if i % 2 else "PUT"
        headers = {"Authorization": f"Bearer {KEY}"}
        body = {"metadata": {f"key{i}": str(i)}}
        return requests.request(method, sim.url + "/api/v2/cases/7/metadata", json=body, headers=headers, timeout=10)

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = [r.status_code for r in pool.map(write, range(40))]
    assert statuses == [200] * 40
    assert sim.get_case(7) == {f"key{i}": str(i) for i in range(40)}


# --- faults ------------------------------------------------------------------


def test_status_fault_matches_method_and_path_then_is_consumed(api, sim):
    sim.add_fault(method="put", path_contains="/cases/42/", count=2, status=503, retry_after="5")
    assert api("GET").status_code == 200
    assert api("PUT", "/api/v2/cases/7/metadata", metadata={"a": "b"}).status_code == 200
    for _attempt in range(2):
        response = api("PUT", metadata={"a": "b"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["errors"][0]["message"]
    assert "a" not in sim.get_case(42)
    assert api("PUT", metadata={"a": "b"}).status_code == 200


def test_faults_match_in_queue_order(api, sim):
    sim.add_fault(status=502)
    sim.add_fault(status=504)
    assert [api("GET").status_code for _attempt in range(3)] == [502, 504, 200]


def test_status_fault_custom_body_and_shape(api, sim):
    sim.set_options(error_shape="error_string")
    sim.add_fault(status=500)
    sim.add_fault(status=429, body={"custom": True})
    sim.add_fault(status=500, body="oops")
    assert api("GET").json() == {"error": "Simulated server fault"}
    response = api("GET")
    assert (response.status_code, response.json()) == (429, {"custom": True})
    response = api("GET")
    assert response.text == "oops" and response.headers["Content-Type"].startswith("text/plain")


def test_apply_fault_stores_then_fails(api, sim):
    sim.add_fault(method="POST", apply=True, status=500)
    assert api("POST", metadata={"owner": "blue"}).status_code == 500
    assert sim.get_case(42)["owner"] == "blue"
    sim.add_fault(method="DELETE", kind="reset", apply=True)
    with pytest.raises(requests.ConnectionError):
        api("DELETE", metadata=["owner"])
    assert "owner" not in sim.get_case(42)


@pytest.mark.parametrize(
    "kind, content_type, body",
    [("html", "text/html", b"<!DOCTYPE html>"), ("empty", "application/json", b"")],
)
def test_200_faults_without_json(api, sim, kind, content_type, body):
    sim.add_fault(kind=kind, apply=True)
    response = api("PUT", metadata={"ticket": "OPS-5"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    assert response.content.startswith(body) and (body or response.content == b"")
    assert sim.get_case(42)["ticket"] == "OPS-5"


def test_truncated_fault(api, sim):
    sim.add_fault(kind="truncated")
    with pytest.raises(requests.RequestException):
        api("GET").json()
    assert api("GET").status_code == 200
    assert sim.log[0]["status"] == 200


def test_reset_fault(api, sim):
    sim.add_fault(kind="reset")
    with pytest.raises(requests.ConnectionError):
        api("GET")
    assert api("GET").status_code == 200
    assert [entry["status"] for entry in sim.log] == [None, 200]


def test_slow_fault_times_out_but_still_applies(api, sim):
    sim.add_fault(kind="slow", delay=0.5)
    with pytest.raises(requests.Timeout):
        api("POST", metadata={"late": "yes"}, timeout=0.1)
    deadline = time.monotonic() + 5
    while "late" not in sim.get_case(42) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.get_case(42)["late"] == "yes"


def test_redirect_fault(api, sim):
    sim.add_fault(kind="redirect", location="http://127.0.0.1:9/")
    response = api("GET", MD + "?x=1", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:9" + MD + "?x=1"
    sim.add_fault(kind="redirect", status=307)
    response = api("GET")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [307]


def test_add_fault_rejects_unknown_kind(sim):
    with pytest.raises(ValueError):
        sim.add_fault(kind="meltdown")


# --- log, options and lifecycle ----------------------------------------------


def test_log_records_requests(api, sim):
    api("POST", MD + "?dry=1", metadata={"a": "b"}, headers={"X-User-Email": "me@example.com"})
    api("GET", "/api/v2/cases/7/metadata")
    api("PUT", data=b"{oops", headers={"Content-Type": "application/json"})
    requests.get(sim.url + "/_sim/log", timeout=10)
    first, second, third = sim.log
    assert first["method"] == "POST" and first["path"] == MD and first["query"] == {"dry": "1"}
    assert first["headers"]["x-user-email"] == "me@example.com"
    assert first["body"] == {"metadata": {"a": "b"}} and first["status"] == 200
    assert first["time"] <= second["time"]
    assert second["body"] is None
    assert third["body"] == "{oops" and third["status"] == 400
    assert [e["path"] for e in sim.requests(method="get")] == ["/api/v2/cases/7/metadata"]
    assert len(sim.requests(path_prefix=MD)) == 2
    sim.clear_log()
    assert sim.log == []


def test_options_are_validated_and_reset(sim):
    with pytest.raises(ValueError):
        sim.set_options(post_existing="explode")
    with pytest.raises(ValueError):
        sim.set_options(no_such_option=1)
    sim.set_options(post_status="201", non_string_values=422, hidden_cases=["5"], latency="0")
    assert sim.options["post_status"] == 201
    assert sim.options["non_string_values"] == "422"
    assert sim.options["hidden_cases"] == frozenset({5})
    sim.add_fault()
    sim.reset(cases={"1": {"a": "b"}})
    assert sim.options == tines_sim.DEFAULT_OPTIONS
    assert sim.cases == {1: {"a": "b"}}
    assert requests.get(sim.url + "/api/v2/cases/1/metadata", headers={"X-User-Token": KEY}, timeout=10).ok


def test_control_endpoints(sim):
    control = sim.url + "/_sim"
    assert requests.put(control + "/cases", json={"5": {"k": "v"}}, timeout=10).status_code == 200
    assert requests.get(control + "/cases", timeout=10).json() == {"5": {"k": "v"}}
    assert requests.post(control + "/options", json={"post_status": 201}, timeout=10).json()["post_status"] == 201
    assert requests.post(control + "/options", json={"bogus": 1}, timeout=10).status_code == 400
    assert requests.post(control + "/faults", json={"status": 502}, timeout=10).json() == {"queued": 1}
    assert requests.post(control + "/faults", json={"kind": "nope"}, timeout=10).status_code == 400
    headers = {"Authorization": f"Bearer {KEY}"}
    assert requests.get(sim.url + "/api/v2/cases/5/metadata", headers=headers, timeout=10).status_code == 502
    assert (
        requests.post(
            sim.url + "/api/v2/cases/5/metadata", headers=headers, json={"metadata": {}}, timeout=10
        ).status_code
        == 201
    )
    log = requests.get(control + "/log", timeout=10).json()
    assert [entry["status"] for entry in log] == [502, 201]
    assert requests.delete(control + "/log", timeout=10).status_code == 204
    assert requests.get(control + "/log", timeout=10).json() == []
    assert requests.post(control + "/reset", json={"cases": {"8": {}}}, timeout=10).ok
    assert sim.cases == {8: {}} and sim.options["post_status"] == 200
    assert requests.get(control + "/nothing", timeout=10).status_code == 404


def test_keep_alive_latency(api, capsys):
    api("GET")
    start = time.perf_counter()
    for _attempt in range(200):
        response = api("GET")
    average_ms = (time.perf_counter() - start) / 200 * 1000
    assert response.headers["Connection"] == "keep-alive"
    with capsys.disabled():
        print(f"\n200 keep-alive GETs: {average_ms:.2f} ms per request")


def test_stop_leaves_nothing_running():
    before = set(threading.enumerate())
    sim = tines_sim.Simulator(cases={1: {}}).start()
    session = requests.Session()
    assert session.get(sim.url + "/api/v2/cases/1/metadata", headers={"X-User-Token": KEY}, timeout=10).ok
    sim.stop()
    assert set(threading.enumerate()) <= before
    with pytest.raises(requests.ConnectionError):
        requests.get(sim.url + "/api/v2/cases/1/metadata", timeout=2)
    session.close()


def test_context_manager():
    with tines_sim.Simulator() as sim:
        assert requests.get(sim.url + "/_sim/cases", timeout=10).json() == {}
    assert sim._server is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not available")
def test_https(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    with tines_sim.Simulator(cases={3: {"a": "b"}}, tls=(str(cert), str(key))) as sim:
        assert sim.url.startswith("https://")
        with requests.Session() as session:
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
            session.verify = str(cert)
            session.headers["Authorization"] = f"Bearer {KEY}"
            for _attempt in range(3):
                assert session.get(sim.url + "/api/v2/cases/3/metadata", timeout=10).json()["metadata"] == {"a": "b"}
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(sim.url + "/api/v2/cases/3/metadata", timeout=10)


# --- command line ------------------------------------------------------------


def test_command_line(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, str(SIMULATOR_DIR / "tines_sim.py"), "--port", "0", "--port-file", str(port_file)]
        + ["--api-key", "cli-key", "--seed", str(SIMULATOR_DIR / "demo_cases.json")]
        + ["--option", "post_status=201", "--option", "hidden_cases=[318]"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("Tines simulator listening on http://127.0.0.1:")
        port = int(port_file.read_text())
        assert line.strip().endswith(f":{port}")
        base = f"http://127.0.0.1:{port}/api/v2/cases"
        headers = {"Authorization": "Bearer cli-key"}
        assert requests.get(f"{base}/42/metadata", headers=headers, timeout=10).json()["metadata"]["source"] == "edr"
        assert requests.get(f"{base}/318/metadata", headers=headers, timeout=10).status_code == 404
        response = requests.post(f"{base}/7/metadata", headers=headers, json={"metadata": {"a": "b"}}, timeout=10)
        assert response.status_code == 201
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0


# --- per-token rate limit -------------------------------------------------------


class Clock:
    """A clock the test moves by hand, so window tests are exact and never sleep."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.mark.parametrize("count_refused", [False, True])
def test_sliding_window_never_exceeds_the_limit_and_refuses_only_when_full(count_refused):
    rng = random.Random(6)
    for _round in range(200):
        limit, window = rng.randint(0, 5), rng.choice([1.0, 2.5, 10.0])
        clock = Clock(0.0)
        limiter = tines_sim.RateLimiter(limit, window, "sliding", count_refused, clock)
        accepted, counted = [], []
        for _request in range(60):
            clock.now += rng.choice([0.0, 0.01, 0.3, 1.0, 2.5, 4.0])
            decision = limiter.check("token")
            recent = [t for t in counted if t + window > clock.now]
            assert decision.allowed is (len(recent) < limit), "refused exactly when the window is full"
            if decision.allowed:
                accepted.append(clock.now)
            if decision.allowed or count_refused:
                counted.append(clock.now)
            assert decision.free_at > clock.now
        assert tines_sim.most_in_any_window(accepted, window) <= limit


def test_sliding_window_frees_a_slot_when_the_oldest_request_leaves():
    clock = Clock(0.0)
    limiter = tines_sim.RateLimiter(3, 10.0, clock=clock)
    for now in (0.0, 1.0, 2.0):
        clock.now = now
        assert limiter.check("a").allowed
    clock.now = 9.5
    assert limiter.check("a") == (False, 0, 10.0, 9.5)
    assert limiter.check("b").allowed, "each token has its own budget"
    clock.now = 10.0
    assert limiter.check("a") == (True, 0, 11.0, 10.0)


def test_refusals_lock_out_a_retrying_client_only_when_counted():
    for count_refused, expected in (
        (False, [True, False, True, False, True]),
        (True, [True, False, False, False, False]),
    ):
        clock = Clock(0.0)
        limiter = tines_sim.RateLimiter(1, 10.0, count_refused=count_refused, clock=clock)
        decisions = []
        for now in (0.0, 5.0, 10.5, 16.0, 21.0):
            clock.now = now
            decisions.append(limiter.check("a").allowed)
        assert decisions == expected, count_refused


def test_fixed_windows_are_aligned_to_multiples_of_the_window():
    clock = Clock(95.0)
    limiter = tines_sim.RateLimiter(2, 10.0, "fixed", clock=clock)
    assert limiter.check("a") == (True, 1, 100.0, 95.0)
    clock.now = 99.9
    assert limiter.check("a").allowed
    assert limiter.check("a") == (False, 0, 100.0, 99.9)
    clock.now = 100.0
    assert limiter.check("a") == (True, 1, 110.0, 100.0), (
        "a new window starts at the multiple, not at the first request"
    )


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def limited(clock):
    with tines_sim.Simulator(cases={42: {"source": "edr"}}, rate_clock=clock, rate_limit=3, rate_window=10) as sim:
        yield sim


def get(sim, key=KEY, path=MD, **kwargs):
    return requests.get(sim.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs)


def test_rate_limit_refuses_without_headers_by_default(limited, clock):
    answers = [get(limited) for _attempt in range(5)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    for answer in answers:
        assert not {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"} & set(answer.headers)
    assert answers[3].json()["errors"][0]["message"] == "Rate limit exceeded"
    clock.now += 10
    assert get(limited).status_code == 200, "refused requests used no budget"
    assert limited.rate_stats() == {KEY: {"accepted": 4, "refused": 2}}


def test_rate_limit_is_per_token(limited):
    statuses = {key: [get(limited, key).status_code for _attempt in range(4)] for key in (KEY, "read-only-key", "bad")}
    assert statuses == {
        KEY: [200, 200, 200, 429],
        "read-only-key": [200, 200, 200, 429],
        "bad": [401, 401, 401, 429],
    }
    anonymous = [requests.get(limited.url + MD, timeout=10).status_code for _attempt in range(4)]
    assert anonymous == [401, 401, 401, 429]
    stats = limited.rate_stats()
    assert stats[KEY] == stats["read-only-key"] == stats["bad"] == stats[""] == {"accepted": 3, "refused": 1}


@pytest.mark.parametrize("kind, now, retry_after", [("sliding", 1000.25, "10"), ("fixed", 1003.5, "6")])
def test_retry_after_says_when_a_slot_frees(limited, clock, kind, now, retry_after):
    limited.set_options(rate_window_kind=kind, rate_limit_retry_after=True)
    clock.now = now
    assert [get(limited).status_code for _attempt in range(3)] == [200] * 3
    clock.now += 0.5
    refused = get(limited)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == retry_after
    clock.now += float(retry_after)
    assert get(limited).status_code == 200


def test_retry_after_date_form(limited):
    limited.set_options(rate_limit=0, rate_limit_retry_after="date")
    refused = get(limited)
    assert refused.status_code == 429
    assert email.utils.parsedate_to_datetime(refused.headers["Retry-After"]).timestamp() == 1010.0


def test_retry_after_is_at_least_one_second(limited, clock):
    limited.set_options(rate_limit=1, rate_window=0.25, rate_limit_retry_after="seconds")
    assert get(limited).status_code == 200
    clock.now += 0.2
    assert get(limited).headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "form, resets", [("delta", ["10", "10", "9", "9"]), ("epoch", ["1010", "1010", "1010", "1010"])]
)
def test_rate_limit_headers(limited, clock, form, resets):
    limited.set_options(rate_limit_headers=form, rate_limit_retry_after="seconds")
    answers = []
    for _attempt in range(4):
        answers.append(get(limited))
        clock.now += 0.5
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["3"] * 4
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert [a.headers["X-RateLimit-Reset"] for a in answers] == resets
    assert answers[3].headers["Retry-After"] == "9"
    limited.set_options(rate_limit_headers=False)
    clock.now += 20
    assert "X-RateLimit-Limit" not in get(limited).headers


def test_counting_refusals_keeps_a_retrying_client_out(limited, clock):
    limited.set_options(rate_limit=1, rate_count_refused=True, rate_limit_headers=True)
    statuses = []
    for _attempt in range(4):
        statuses.append(get(limited).status_code)
        clock.now += 6
    assert statuses == [200, 429, 429, 429]
    clock.now += 10
    assert get(limited).status_code == 200
    assert limited.rate_stats()[KEY] == {"accepted": 2, "refused": 3}


def test_concurrent_clients_share_one_exact_budget():
    """Every decision reads the next tick: 5 per 10 ticks pass, whatever order the threads arrive in."""
    ticks = itertools.count()
    with tines_sim.Simulator(cases={42: {}}, rate_clock=lambda: next(ticks), rate_limit=5, rate_window=10) as sim:

        def client(_number):
            with requests.Session() as session:
                session.headers["X-User-Token"] = KEY
                return [session.get(sim.url + MD, timeout=10).status_code for _attempt in range(25)]

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = [status for answers in pool.map(client, range(16)) for status in answers]
        assert statuses.count(200) == statuses.count(429) == 200
        assert sim.rate_stats() == {KEY: {"accepted": 200, "refused": 200}}
        assert sorted(entry["status"] for entry in sim.log) == [200] * 200 + [429] * 200


def test_real_clock_window_frees_after_retry_after():
    with tines_sim.Simulator(cases={42: {}}, rate_limit=2, rate_window=1, rate_limit_retry_after=True) as sim:
        assert [get(sim).status_code for _attempt in range(2)] == [200, 200]
        refused = get(sim)
        assert refused.status_code == 429
        time.sleep(float(refused.headers["Retry-After"]))
        assert get(sim).status_code == 200


def test_faults_bypass_the_rate_limit(limited):
    limited.add_fault(status=503, count=5)
    assert [get(limited).status_code for _attempt in range(5)] == [503] * 5
    assert limited.rate_stats() == {}
    assert [get(limited).status_code for _attempt in range(4)] == [200, 200, 200, 429]


def test_rate_limit_options_restart_windows_but_keep_stats(limited):
    assert [get(limited).status_code for _attempt in range(4)] == [200, 200, 200, 429]
    limited.set_options(rate_window=10)
    assert get(limited).status_code == 200
    limited.set_options(latency=0)
    assert get(limited).status_code == 200
    assert limited.rate_stats()[KEY] == {"accepted": 5, "refused": 1}
    limited.reset()
    assert limited.rate_stats() == {}
    assert [get(limited).status_code for _attempt in range(5)] == [200] * 5, "reset turns the limit off"


def test_rate_stats_without_a_limit_and_old_counter_refusals(sim):
    get(sim)
    sim.set_options(rate_limit_after=0)
    get(sim, "read-only-key")
    assert sim.rate_stats() == {KEY: {"accepted": 1, "refused": 0}, "read-only-key": {"accepted": 0, "refused": 1}}


def test_stats_control_endpoint(limited):
    for _attempt in range(4):
        get(limited)
    control = limited.url + "/_sim/stats"
    assert requests.get(control, timeout=10).json() == {"rate": {KEY: {"accepted": 3, "refused": 1}}}
    assert requests.delete(control, timeout=10).status_code == 204
    assert requests.get(control, timeout=10).json() == {"rate": {}}
    assert get(limited).status_code == 429, "clearing stats does not reset the window"
    options = requests.post(
        limited.url + "/_sim/options", json={"rate_limit": 1, "rate_window_kind": "fixed"}, timeout=10
    )
    assert (options.json()["rate_limit"], options.json()["rate_window_kind"]) == (1, "fixed")
    assert [get(limited).status_code for _attempt in range(2)] == [200, 429]
    reset = requests.post(
        limited.url + "/_sim/reset", json={"cases": {"9": {"status": "CLOSED", "metadata": {}}}}, timeout=10
    )
    assert reset.ok and limited.get_case_record(9)["status"] == "CLOSED"
    assert requests.get(control, timeout=10).json() == {"rate": {}}


def test_rate_limit_options_are_validated(sim):
    sim.set_options(rate_limit="4", rate_window="2.5", rate_limit_retry_after="true", rate_count_refused="yes")
    assert (sim.options["rate_limit"], sim.options["rate_window"]) == (4, 2.5)
    assert sim.options["rate_limit_retry_after"] == "seconds" and sim.options["rate_count_refused"] is True
    sim.set_options(rate_limit=None, rate_limit_headers=True, rate_limit_retry_after=False)
    assert sim.options["rate_limit_headers"] == "delta" and sim.options["rate_limit_retry_after"] is None
    assert "X-RateLimit-Limit" not in get(sim).headers, "no headers while no limit is on"
    for name, value in [
        ("rate_limit", -1),
        ("rate_window", 0),
        ("rate_window_kind", "bucket"),
        ("rate_limit_retry_after", "soon"),
        ("rate_limit_headers", "both"),
        ("rate_count_refused", "maybe"),
        ("max_per_page", 0),
    ]:
        with pytest.raises(ValueError):
            sim.set_options(**{name: value})


# --- case records, single-case GET and the case list ------------------------------

LIST = "/api/v2/cases"
RECORDS = {
    "318": {
        "name": "Beacon on host-44",
        "description": "EDR saw a beacon",
        "status": "OPEN",
        "priority": "HIGH",
        "team": {"id": 7, "name": "SecOps"},
        "tags": ["edr", "beacon"],
        "created_at": "2025-03-01T10:00:00Z",
        "metadata": {"source": "edr", "ticket": "OPS-1"},
    },
    "319": {
        "name": "Phishing report",
        "status": "closed",
        "priority": "low",
        "team_id": 7,
        "tags": ["phish"],
        "created_at": "2025-02-01T10:00:00Z",
        "updated_at": "2025-04-01T10:00:00Z",
        "metadata": {"source": "mail"},
    },
    "320": {
        "name": "Login from new country",
        "priority": "CRITICAL",
        "team": {"id": 9, "name": "IAM"},
        "tags": ["edr"],
        "opened_at": "2024-12-01T00:00:00+01:00",
        "metadata": None,
    },
    "42": {"source": "edr", "owner": "blue-team"},
}


@pytest.fixture
def tenant():
    with tines_sim.Simulator(cases=RECORDS) as sim:
        yield sim


def listed(sim, query="", key=KEY, **kwargs):
    """GET the case list with a raw query string (brackets as typed); returns the decoded answer."""
    response = get(sim, key, f"{LIST}?{query}" if query else LIST, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def ids(answer):
    return [case["case_id"] for case in answer["cases"]]


def test_seeds_in_both_forms(tenant):
    assert tenant.get_case(42) == {"source": "edr", "owner": "blue-team"}
    assert tenant.get_case(320) == {}
    assert tenant.cases[318] == {"source": "edr", "ticket": "OPS-1"}
    closed = tenant.get_case_record(319)
    assert (closed["status"], closed["priority"], closed["team"]) == ("CLOSED", "LOW", {"id": 7, "name": "Team 7"})
    assert closed["opened_at"] == closed["created_at"] == "2025-02-01T10:00:00Z"
    assert tenant.get_case_record(42) == {
        "case_id": 42,
        "name": "Simulated case 42",
        "description": "",
        "status": "OPEN",
        "priority": "MEDIUM",
        "team": {"id": 1, "name": "Default team"},
        "tags": [],
        "opened_at": "2025-01-01T00:00:42.000Z",
        "created_at": "2025-01-01T00:00:42.000Z",
        "updated_at": "2025-01-01T00:00:42.000Z",
        "metadata": {"source": "edr", "owner": "blue-team"},
    }
    assert get(tenant, path="/api/v2/cases/318/metadata").json() == {
        "case_id": 318,
        "metadata": RECORDS["318"]["metadata"],
    }


@pytest.mark.parametrize(
    "value",
    [
        {"nmae": "typo", "metadata": {}},
        {"status": "PENDING", "metadata": {}},
        {"priority": "URGENT", "metadata": {}},
        {"team": {"name": "no id"}, "metadata": {}},
        {"team": {"id": 1}, "team_id": 2, "metadata": {}},
        {"tags": "edr", "metadata": {}},
        {"created_at": "yesterday", "metadata": {}},
        {"case_id": 5, "metadata": {}},
        ["not", "an", "object"],
    ],
)
def test_bad_records_are_refused(sim, value):
    with pytest.raises(ValueError):
        tines_sim.Simulator(cases={1: value})
    with pytest.raises(ValueError):
        sim.set_case(1, value)
    assert requests.put(sim.url + "/_sim/cases", json={"1": value}, timeout=10).status_code == 400
    assert sim.cases == {42: {"source": "edr", "ticket": "OPS-1"}, 7: {}}


def test_set_case_keeps_the_record_for_a_metadata_map(tenant):
    tenant.set_case(318, {"only": "this"})
    record = tenant.get_case_record(318)
    assert record["metadata"] == {"only": "this"} and record["name"] == "Beacon on host-44"
    tenant.set_case(318, {"name": "Renamed", "metadata": None})
    assert tenant.get_case_record(318)["name"] == "Renamed" and tenant.get_case(318) == {}
    tenant.set_case(5, {"a": "b"})
    assert tenant.get_case_record(5)["status"] == "OPEN"


def test_single_case_get_returns_the_record(tenant):
    answer = get(tenant, path="/api/v2/cases/318").json()
    assert answer == tenant.get_case_record(318)
    assert answer["team"] == {"id": 7, "name": "SecOps"} and answer["tags"] == ["edr", "beacon"]
    assert answer["metadata"] == {"source": "edr", "ticket": "OPS-1"}
    assert get(tenant, path="/api/v2/cases/999").status_code == 404


def test_writes_move_updated_at_and_records_round_trip(tenant):
    before = tenant.get_case_record(320)["updated_at"]
    assert get(tenant, path="/api/v2/cases/320/metadata").ok
    api = requests.post(
        tenant.url + "/api/v2/cases/320/metadata",
        json={"metadata": {"k": "v"}},
        headers={"X-User-Token": KEY},
        timeout=10,
    )
    assert api.status_code == 200
    after = tenant.get_case_record(320)["updated_at"]
    assert after > before and after.endswith("Z")
    records = requests.get(tenant.url + "/_sim/records", timeout=10).json()
    assert records["320"]["metadata"] == {"k": "v"}
    assert requests.put(tenant.url + "/_sim/cases", json=records, timeout=10).json()["320"] == {"k": "v"}
    assert requests.get(tenant.url + "/_sim/records", timeout=10).json() == records
    assert requests.get(tenant.url + "/_sim/cases", timeout=10).json()["42"] == {"source": "edr", "owner": "blue-team"}


def test_list_defaults(tenant):
    answer = listed(tenant)
    assert ids(answer) == [42, 318, 319, 320]
    assert answer["cases"][1] == tenant.get_case_record(318)
    assert answer["meta"] == {
        "current_page": f"{tenant.url}{LIST}?page=1&per_page=20",
        "previous_page": None,
        "next_page": None,
        "next_page_number": None,
        "per_page": 20,
        "pages": 1,
        "count": 4,
    }


@pytest.fixture
def many():
    with tines_sim.Simulator(cases={case_id: {"n": str(case_id)} for case_id in range(1, 46)}) as sim:
        yield sim


def test_list_pages_and_links(many):
    assert ids(listed(many, "per_page=20&order=")) == list(range(1, 21)), "an empty order is no order"
    first = listed(many, "per_page=20&filters[status]=OPEN")
    assert ids(first) == list(range(1, 21))
    assert first["meta"] == {
        "current_page": f"{many.url}{LIST}?filters[status]=OPEN&page=1&per_page=20",
        "previous_page": None,
        "next_page": f"{many.url}{LIST}?filters[status]=OPEN&page=2&per_page=20",
        "next_page_number": 2,
        "per_page": 20,
        "pages": 3,
        "count": 45,
    }
    seen, url = [], first["meta"]["current_page"]
    while url:
        answer = requests.get(url, headers={"X-User-Token": KEY}, timeout=10).json()
        seen += ids(answer)
        url = answer["meta"]["next_page"]
    assert seen == list(range(1, 46))
    last = listed(many, "page=3&per_page=20")
    assert ids(last) == list(range(41, 46))
    assert last["meta"]["next_page"] is None and last["meta"]["next_page_number"] is None
    assert last["meta"]["previous_page"] == f"{many.url}{LIST}?page=2&per_page=20"
    beyond = listed(many, "page=9")
    assert beyond["cases"] == [] and beyond["meta"]["previous_page"].endswith("page=8&per_page=20")
    assert listed(many, "filters[status]=CLOSED")["meta"] | {"current_page": None} == {
        "current_page": None,
        "previous_page": None,
        "next_page": None,
        "next_page_number": None,
        "per_page": 20,
        "pages": 0,
        "count": 0,
    }


def test_list_links_use_the_host_the_client_named(many):
    headers = {"Authorization": f"Bearer {KEY}", "Host": "tenant.example"}
    answer = requests.get(f"{many.url}{LIST}?per_page=10", headers=headers, timeout=10).json()
    assert answer["meta"]["next_page"] == "http://tenant.example/api/v2/cases?page=2&per_page=10"


@pytest.mark.parametrize("max_per_page, asked, used", [(500, 1000, 500), (500, 500, 500), (50, 100, 50), (50, 7, 7)])
def test_per_page_is_capped(many, max_per_page, asked, used):
    many.set_options(max_per_page=max_per_page)
    answer = listed(many, f"per_page={asked}")
    assert answer["meta"]["per_page"] == used
    assert len(answer["cases"]) == min(used, 45)
    assert answer["meta"]["pages"] == -(-45 // used)


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "per_page=-1", "per_page[]=5", "team_id=seven", "order=NEWEST", "order=created_desc"]
)
def test_list_rejects_bad_paging_team_and_order(tenant, query):
    response = get(tenant, path=f"{LIST}?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Invalid request"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("filters[status]=OPEN", [42, 318, 320]),
        ("filters[status]=closed", [319]),
        ("filters[status][]=OPEN&filters[status][]=CLOSED", [42, 318, 319, 320]),
        ("filters[priority]=HIGH", [318]),
        ("filters[priority][]=critical&filters[priority][]=LOW", [319, 320]),
        ("filters[case_ids][]=318&filters[case_ids][]=320&filters[case_ids][]=999", [318, 320]),
        ("filters[case_ids]=319", [319]),
        ("filters[metadata][source]=edr", [42, 318]),
        ("filters[metadata][source]=edr&filters[metadata][ticket]=OPS-1", [318]),
        ("filters[metadata][source][]=mail&filters[metadata][source][]=edr", [42, 318, 319]),
        ("filters[metadata][nope]=x", []),
        ("filters[tags][]=edr", [318, 320]),
        ("filters[tags][]=edr&filters[tags][]=beacon", [318]),
        ("filters[and_tags][]=edr&filters[and_tags][]=beacon", [318]),
        ("filters[or_tags][]=beacon&filters[or_tags][]=phish", [318, 319]),
        ("filters[exclude_tags][]=edr", [42, 319]),
        ("filters[search]=PHISH", [319]),
        ("filters[search]=beacon", [318]),
        ("filters[search]=32", [320]),
        ("filters[status]=OPEN&filters[tags][]=edr&filters[priority]=CRITICAL", [320]),
        ("filters%5Bstatus%5D=CLOSED", [319]),
        ("filters[made_up]=1&filters[status][x]=y", [42, 318, 319, 320]),
        ("filters=status:OPEN", [42, 318, 319, 320]),
        ("team_id=7", [318, 319]),
        ("team_id=7&filters[status]=OPEN", [318]),
        ("team_id=1", [42]),
        ("team_id=3", []),
    ],
)
def test_list_filters(tenant, query, expected):
    assert ids(listed(tenant, query)) == expected


def test_requests_encoded_filters_work(tenant):
    answer = get(tenant, path=LIST, params={"filters[case_ids][]": ["318", "42"], "filters[status]": "OPEN"})
    assert ids(answer.json()) == [42, 318]


@pytest.mark.parametrize(
    "order, expected",
    [
        (None, [42, 318, 319, 320]),
        ("CREATED_DESC", [318, 319, 320, 42]),
        ("CREATED_ASC", [42, 320, 319, 318]),
        ("OPENED_ASC", [320, 42, 319, 318]),
        ("OPENED_DESC", [318, 319, 42, 320]),
        ("RECENTLY_EDITED", [319, 318, 320, 42]),
        ("LEAST_RECENTLY_EDITED", [42, 320, 318, 319]),
        ("PRIORITY_DESC", [320, 318, 42, 319]),
        ("PRIORITY_ASC", [319, 42, 318, 320]),
    ],
)
def test_list_orders(tenant, order, expected):
    assert ids(listed(tenant, f"order={order}" if order else "")) == expected


def test_list_order_ties_go_by_case_id_and_edits_come_first(many):
    assert ids(listed(many, "order=PRIORITY_DESC&per_page=5")) == [1, 2, 3, 4, 5]
    for case_id in (30, 3):
        response = requests.put(
            f"{many.url}/api/v2/cases/{case_id}/metadata",
            json={"metadata": {"n": "edited"}},
            headers={"X-User-Token": KEY},
            timeout=10,
        )
        assert response.status_code == 200
    assert ids(listed(many, "order=RECENTLY_EDITED&per_page=3")) == [3, 30, 45]
    assert ids(listed(many, "order=LEAST_RECENTLY_EDITED&per_page=2")) == [1, 2]


def test_ignore_filters_keeps_team_id(tenant):
    tenant.set_options(ignore_filters=True)
    assert ids(listed(tenant, "filters[status]=CLOSED&filters[case_ids][]=318")) == [42, 318, 319, 320]
    assert ids(listed(tenant, "team_id=7&filters[status]=CLOSED")) == [318, 319]


def test_list_metadata_switch(tenant):
    assert all("metadata" in case for case in listed(tenant)["cases"])
    tenant.set_options(list_metadata=False)
    cases = listed(tenant, "filters[metadata][source]=edr")["cases"]
    assert [case["case_id"] for case in cases] == [42, 318], "filters still see the metadata"
    assert all("metadata" not in case for case in cases)
    assert get(tenant, path="/api/v2/cases/318").json()["metadata"] == {"source": "edr", "ticket": "OPS-1"}


def test_paging_repeat_lists_page_one_whatever_page_is_asked(many):
    many.set_options(paging="repeat")
    for number in (1, 2, 7):
        answer = listed(many, f"page={number}&per_page=20")
        assert ids(answer) == list(range(1, 21))
        assert answer["meta"]["next_page_number"] == number + 1
        assert answer["meta"]["next_page"] == f"{many.url}{LIST}?page={number + 1}&per_page=20"
        assert (answer["meta"]["pages"], answer["meta"]["count"]) == (3, 45)
    one_page = listed(many, "per_page=100")
    assert len(one_page["cases"]) == 45 and one_page["meta"]["next_page_number"] == 2


def test_paging_endless_names_a_next_page_past_the_end(many):
    many.set_options(paging="endless")
    last = listed(many, "page=3&per_page=20")
    assert ids(last) == list(range(41, 46))
    assert (last["meta"]["next_page_number"], last["meta"]["pages"]) == (4, 3)
    assert last["meta"]["next_page"] == f"{many.url}{LIST}?page=4&per_page=20"
    beyond = listed(many, "page=4&per_page=20")
    assert beyond["cases"] == [] and beyond["meta"]["next_page_number"] == 5
    many.set_options(paging="normal")
    assert listed(many, "page=3&per_page=20")["meta"]["next_page_number"] is None
    with pytest.raises(ValueError, match="option paging must be one of"):
        many.set_options(paging="sideways")


def test_list_auth_hidden_cases_faults_and_rate_limit(tenant):
    assert requests.get(tenant.url + LIST, timeout=10).status_code == 401
    assert get(tenant, "wrong", LIST).status_code == 401
    assert ids(listed(tenant, key="read-only-key")) == [42, 318, 319, 320]
    tenant.set_options(hidden_cases=[318, 320])
    assert ids(listed(tenant)) == [42, 319]
    tenant.add_fault(method="GET", path_contains=LIST, status=502)
    assert get(tenant, path=LIST).status_code == 502
    tenant.add_fault(path_contains=LIST, kind="truncated")
    with pytest.raises(requests.RequestException):
        get(tenant, path=LIST).json()
    tenant.set_options(rate_limit=1)
    assert get(tenant, path=LIST).status_code == 200
    assert get(tenant, path=LIST).status_code == 429
    assert [entry["status"] for entry in tenant.log][-4:] == [502, 200, 200, 429]


def test_list_is_logged_with_the_raw_query(tenant):
    query = "filters[case_ids][]=318&filters[case_ids][]=319&page=1"
    listed(tenant, query)
    (entry,) = tenant.log
    assert entry["path"] == LIST and entry["status"] == 200
    assert entry["query"] == {"filters[case_ids][]": "319", "page": "1"}
    assert urllib.parse.unquote(entry["query_string"]) == query  # requests sends brackets %-encoded


def test_unsupported_list_methods_are_404(tenant):
    for method in ("POST", "PUT", "DELETE"):
        assert requests.request(method, tenant.url + LIST, headers={"X-User-Token": KEY}, timeout=10).status_code == 404


def test_parse_query():
    parse = tines_sim.parse_query
    assert parse("a=1&a=2&b=") == {"a": "2", "b": ""}
    assert parse("f[s]=OPEN&f[ids][]=1&f[ids][]=2&f[m][k][]=x&f[m][j]=y") == {
        "f": {"s": "OPEN", "ids": ["1", "2"], "m": {"k": ["x"], "j": "y"}}
    }
    assert parse("a[][b]=1&a[][c]=2&a[][b]=3") == {"a": [{"b": "1", "c": "2"}, {"b": "3"}]}
    assert parse("f%5Bs%5D=a+b&x[=1&y]=2&z[a]b=3") == {"f": {"s": "a b"}, "x[": "1", "y]": "2", "z[a]b": "3"}
    assert parse("a=1&a[b]=2") == {"a": {"b": "2"}}


# --- command line with a record seed -------------------------------------------------


def test_command_line_with_a_record_seed_and_rate_limit(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(RECORDS))
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, str(SIMULATOR_DIR / "tines_sim.py"), "--port", "0", "--port-file", str(port_file)]
        + ["--seed", str(seed), "--option", "rate_limit=3", "--option", "rate_limit_retry_after=true"]
        + ["--option", "max_per_page=50", "--option", "list_metadata=false"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("Tines simulator listening on http://127.0.0.1:")
        base = f"http://127.0.0.1:{int(port_file.read_text())}"
        headers = {"Authorization": f"Bearer {KEY}"}
        answer = requests.get(f"{base}{LIST}?filters[tags][]=edr&per_page=100", headers=headers, timeout=10).json()
        assert ids(answer) == [318, 320] and answer["meta"]["per_page"] == 50
        assert "metadata" not in answer["cases"][0]
        assert requests.get(f"{base}/api/v2/cases/319", headers=headers, timeout=10).json()["status"] == "CLOSED"
        assert requests.get(f"{base}/api/v2/cases/42/metadata", headers=headers, timeout=10).json()["metadata"] == {
            "source": "edr",
            "owner": "blue-team",
        }
        refused = requests.get(f"{base}{LIST}", headers=headers, timeout=10)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert requests.get(f"{base}/_sim/stats", timeout=10).json() == {"rate": {KEY: {"accepted": 3, "refused": 1}}}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_command_line_refuses_a_bad_seed(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"1": {"status": "PENDING", "metadata": {}}}))
    result = subprocess.run(
        [sys.executable, str(SIMULATOR_DIR / "tines_sim.py"), "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "status must be one of" in result.stderr


# --- command line: bad input is one line on stderr and exit status 2, never a traceback ----------------------


def run_simulator(*arguments):
    return subprocess.run(
        [sys.executable, str(SIMULATOR_DIR / "tines_sim.py"), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_one_line_error(result, message):
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"tines_sim.py: error: {message}\n"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "hidden_cases=7",
            "--option hidden_cases=7: option hidden_cases must be a list of case ids such as [7, 42], not 7",
        ),
        (
            'hidden_cases=["x"]',
            "--option hidden_cases=[\"x\"]: option hidden_cases must be a list of case ids such as [7, 42], not ['x']",
        ),
        ("post_status=202", "--option post_status=202: option post_status must be one of (200, 201), not 202"),
        ("colour=blue", "--option colour=blue: unknown option 'colour'"),
        ("key_limit=many", "--option key_limit=many: option key_limit must be a whole number, not 'many'"),
        ("latency=[1]", "--option latency=[1]: option latency must be a number, not [1]"),
    ],
)
def test_command_line_refuses_a_bad_option_in_one_line(option, message):
    assert_one_line_error(run_simulator("--port", 0, "--option", option), message)


def test_command_line_refuses_a_missing_or_unreadable_seed_in_one_line(tmp_path):
    missing = tmp_path / "missing.json"
    assert_one_line_error(run_simulator("--port", 0, "--seed", missing), f"--seed {missing}: No such file or directory")
    broken = tmp_path / "broken.json"
    broken.write_text('{"42": {"source" "edr"}}')
    assert_one_line_error(
        run_simulator("--port", 0, "--seed", broken),
        f"--seed {broken}: not valid JSON: Expecting ':' delimiter: line 1 column 18 (char 17)",
    )
    listed = tmp_path / "list.json"
    listed.write_text("[42]")
    assert_one_line_error(
        run_simulator("--port", 0, "--seed", listed),
        f"--seed {listed}: cases must be an object keyed by case id, not [42]",
    )
    named = tmp_path / "named.json"
    named.write_text('{"case-42": {}}')
    assert_one_line_error(
        run_simulator("--port", 0, "--seed", named), f"--seed {named}: case ids must be whole numbers, not 'case-42'"
    )


def test_command_line_refuses_a_port_in_use_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert_one_line_error(
            run_simulator("--port", port), f"cannot listen on 127.0.0.1:{port}: Address already in use"
        )


def test_command_line_refuses_a_missing_tls_certificate_in_one_line(tmp_path):
    cert = tmp_path / "missing.pem"
    result = run_simulator("--port", 0, "--tls-cert", cert, "--tls-key", cert)
    assert_one_line_error(result, f"--tls-cert {cert} --tls-key {cert}: No such file or directory")
