"""Real-HTTP tests of the Tines simulator, its command line and the playbook harness.

Other integration tests trust the simulator to behave as documented and to
switch exactly as asked, so each behaviour and fault kind is pinned here.
"""

from __future__ import annotations

import email.utils
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import tines_sim  # importable because conftest.py puts tests/simulator on sys.path

SIMULATOR_DIR = Path(__file__).resolve().parents[1] / "simulator"
KEY = "test-api-key"
MD = "/api/v2/cases/42/metadata"


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


# --- playbook harness ----------------------------------------------------------

URI_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: read metadata
      ansible.builtin.uri:
        url: "{{ tines_url }}/api/v2/cases/42/metadata"
        headers:
          Authorization: "Bearer {{ tines_key }}"
        return_content: true
    - name: loop
      ansible.builtin.debug:
        msg: "{{ item }}"
      loop: [1, 2]
"""


def test_run_playbook_records_results(sim, run_playbook, ansible_path):
    result = run_playbook(URI_PLAYBOOK, path=ansible_path)
    assert result.rc == 0, result
    read = result.task("read metadata")
    assert read["status"] == 200
    assert read["json"] == {"case_id": 42, "metadata": {"source": "edr", "ticket": "OPS-1"}}
    assert result.record("read metadata")["status"] == "ok"
    assert [item["msg"] for item in result.task("loop")["results"]] == [1, 2]
    (entry,) = sim.log
    assert entry["method"] == "GET" and entry["path"] == MD and entry["status"] == 200
    assert entry["headers"]["authorization"] == f"Bearer {KEY}"


ENV_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: show
      ansible.builtin.debug:
        msg:
          inherited: "{{ lookup('env', 'TINES_INHERITED') }}"
          given: "{{ lookup('env', 'TINES_GIVEN') }}"
          check_mode: "{{ ansible_check_mode }}"
          extra: "{{ extra }}"
          url: "{{ tines_url }}"
"""


def test_run_playbook_environment_and_flags(sim, run_playbook, monkeypatch):
    monkeypatch.setenv("TINES_INHERITED", "leaked")
    result = run_playbook(ENV_PLAYBOOK, extra_vars={"extra": "x"}, env={"TINES_GIVEN": "yes"}, check=True)
    assert result.rc == 0, result
    assert result.task("show")["msg"] == {
        "inherited": "",
        "given": "yes",
        "check_mode": True,
        "extra": "x",
        "url": sim.url,
    }
