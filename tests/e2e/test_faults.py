"""Faults between the module and Tines: each ends in the right result or a clear failure, never a wrong case.

Every test runs real ansible-playbook on both paths (in-process and shipped
module). Each task works on its own case and each fault is queued for that
case's path, so ``calls(sim, case)`` is exactly the conversation of one task.
"""

from __future__ import annotations

import re

import pytest
import requests
from helpers.plays import INFO, Listener, bodies, calls, failure, fault_path, gaps, md_path, play, task

SEED = {"keep": "k", "change": "old", "drop": "x"}
DEEP_JSON = "[" * 100000 + "]" * 100000
WANT = {"keep": "k", "change": "new", "add": "a"}
FINAL = {"keep": "k", "change": "new", "add": "a"}


def full_change(name, case_id, **options):
    """A task that needs all three writes: POST `add`, PUT `change`, DELETE `drop`."""
    return task(name, case_id=case_id, metadata=WANT, overwrite=True, purge=True, **options)


def assert_full_change_reported(result):
    assert result["changed"] is True
    assert result["added"] == {"add": "a"}
    assert result["updated"] == {"change": "new"}
    assert result["removed"] == ["drop"]
    assert result["metadata"] == FINAL


# --- 429 -----------------------------------------------------------------------


@pytest.mark.long_running
def test_rate_limit_storms(sim, run_playbook, ansible_path):
    for case_id in (101, 102, 103, 104, 105):
        sim.set_case(case_id, {"source": "edr"})
    # An HTTP date has whole seconds: asking for 2 s puts it 1 to 2 s ahead.
    sim.set_options(retry_after_seconds=2)
    sim.add_fault(method="GET", path_contains=fault_path(101), status=429, count=2, retry_after="1")
    sim.add_fault(method="GET", path_contains=fault_path(102), status=429, count=1, retry_after="date")
    sim.add_fault(method="GET", path_contains=fault_path(103), status=429, count=2)
    sim.add_fault(method="POST", path_contains=fault_path(104), status=429, count=2, retry_after="0")
    sim.add_fault(method="GET", path_contains=fault_path(105), status=429, count=50, retry_after="1")
    tag = {"triage": "done"}
    result = run_playbook(
        play(
            [
                task("Retry-After in seconds", case_id=101, metadata=tag),
                task("Retry-After as an HTTP date", case_id=102, metadata=tag),
                task("no Retry-After", case_id=103, metadata=tag),
                task("429 on the write", case_id=104, metadata=tag, max_retries=0),
                task(
                    "storm longer than rate_limit_timeout",
                    case_id=105,
                    metadata=tag,
                    rate_limit_timeout=2.9,
                    ignore_errors=True,
                ),
            ]
        ),
        path=ansible_path,
    )
    assert result.rc == 0, result

    assert calls(sim, 101) == [("GET", 429), ("GET", 429), ("GET", 200), ("POST", 200)]
    assert min(gaps(sim, 101)[:2]) >= 0.95, "the retries waited the second Retry-After asked for"
    assert calls(sim, 102) == [("GET", 429), ("GET", 200), ("POST", 200)]
    assert gaps(sim, 102)[0] >= 0.9, "the retry waited until the HTTP date"
    assert calls(sim, 103) == [("GET", 429), ("GET", 429), ("GET", 200), ("POST", 200)]
    assert min(gaps(sim, 103)[:2]) >= 0.2, "without Retry-After the client backs off on its own"
    # Tines did not act on a refused write: it is sent again as it was, without a read first,
    # and 429s do not count against max_retries. Retry-After: 0 still waits a moment.
    assert calls(sim, 104) == [("GET", 200), ("POST", 429), ("POST", 429), ("POST", 200)]
    assert min(gaps(sim, 104)[1:]) >= 0.45
    assert bodies(sim, 104, "POST") == [{"metadata": tag}] * 3
    for case_id, name in (
        (101, "Retry-After in seconds"),
        (102, "Retry-After as an HTTP date"),
        (103, "no Retry-After"),
        (104, "429 on the write"),
    ):
        assert result.task(name)["added"] == tag, name
        assert result.task(name)["metadata"] == {"source": "edr", **tag} == sim.get_case(case_id), name

    # Bounded in time: after 1 + 1 s of Retry-After, a third wait would pass 2.9 s, so it gives up.
    assert calls(sim, 105) == [("GET", 429)] * 3
    failed = failure(result, "storm longer than rate_limit_timeout")
    assert failed["status"] == 429
    assert "HTTP 429: rate limit hit" in failed["msg"]
    assert re.search(r"still rate limited after \d+ s of waiting \(rate_limit_timeout is 2\.9 s\)$", failed["msg"]), (
        failed["msg"]
    )
    assert sim.get_case(105) == {"source": "edr"}


# --- 5xx -----------------------------------------------------------------------

# Each status on two methods and each method with two statuses.
STATUS_BY_METHOD = {
    201: {"GET": 500, "POST": 502, "PUT": 503, "DELETE": 504},
    202: {"GET": 504, "POST": 500, "PUT": 502, "DELETE": 503},
}


def test_5xx_on_every_method_is_retried(sim, run_playbook, ansible_path):
    for case_id, statuses in STATUS_BY_METHOD.items():
        sim.set_case(case_id, SEED)
        for method, status in statuses.items():
            sim.add_fault(method=method, path_contains=fault_path(case_id), status=status)
    result = run_playbook(
        play([full_change(f"5xx on case {case_id}", case_id) for case_id in STATUS_BY_METHOD]),
        path=ansible_path,
    )
    assert result.rc == 0, result
    for case_id, status in STATUS_BY_METHOD.items():
        # Every failed write is preceded by a fresh read before it is sent again.
        assert calls(sim, case_id) == [
            ("GET", status["GET"]),
            ("GET", 200),
            ("POST", status["POST"]),
            ("GET", 200),
            ("POST", 200),
            ("PUT", status["PUT"]),
            ("GET", 200),
            ("PUT", 200),
            ("DELETE", status["DELETE"]),
            ("GET", 200),
            ("DELETE", 204),
        ]
        assert bodies(sim, case_id, "POST") == [{"metadata": {"add": "a"}}] * 2
        assert bodies(sim, case_id, "PUT") == [{"metadata": {"change": "new"}}] * 2
        assert bodies(sim, case_id, "DELETE") == [{"metadata": ["drop"]}] * 2
        assert_full_change_reported(result.task(f"5xx on case {case_id}"))
        assert sim.get_case(case_id) == FINAL


def test_write_applied_before_a_5xx_is_not_sent_twice(sim, run_playbook, ansible_path):
    sim.set_case(301, SEED)
    sim.add_fault(method="POST", path_contains=fault_path(301), status=500, apply=True)
    sim.add_fault(method="PUT", path_contains=fault_path(301), status=502, apply=True)
    sim.add_fault(method="DELETE", path_contains=fault_path(301), status=503, apply=True)
    result = run_playbook(
        play([full_change("writes applied, then 5xx", 301), full_change("the same again", 301)]),
        path=ansible_path,
    )
    assert result.rc == 0, result
    # Each write reached the case, failed, and the re-read showed nothing was left to send.
    assert calls(sim, 301) == [
        ("GET", 200),
        ("POST", 500),
        ("GET", 200),
        ("PUT", 502),
        ("GET", 200),
        ("DELETE", 503),
        ("GET", 200),
        ("GET", 200),  # the second task: one read, nothing to do
    ]
    assert_full_change_reported(result.task("writes applied, then 5xx"))
    again = result.task("the same again")
    assert again["changed"] is False and again["added"] == {} and again["metadata"] == FINAL
    assert sim.get_case(301) == FINAL


# --- slow, reset, truncated, not JSON --------------------------------------------


def test_server_slower_than_timeout(sim, run_playbook, ansible_path):
    sim.set_case(401, {"source": "edr"})
    sim.set_case(402, {"source": "edr"})
    # The POST is stored at once but answered only after the client gave up.
    sim.add_fault(method="POST", path_contains=fault_path(401), kind="slow", delay=3, apply=True)
    sim.add_fault(method="GET", path_contains=fault_path(402), kind="slow", delay=3, count=2)
    tag = {"triage": "done"}
    result = run_playbook(
        play(
            [
                task("slow write", case_id=401, metadata=tag, timeout=1),
                task("always slow", case_id=402, metadata=tag, timeout=1, max_retries=1, ignore_errors=True),
            ]
        ),
        path=ansible_path,
    )
    assert result.rc == 0, result
    assert [method for method, _status in calls(sim, 401)] == ["GET", "POST", "GET"]
    assert result.task("slow write")["added"] == tag
    assert sim.get_case(401) == {"source": "edr", **tag}

    assert [method for method, _status in calls(sim, 402)] == ["GET", "GET"]
    failed = failure(result, "always slow")
    assert "status" not in failed
    expected = re.escape(f"GET {md_path(402)}: no answer from {sim.url} within 1.0 s; gave up after 1 retry")
    assert re.fullmatch(expected + r" \(\d+\.\d s waited\)", failed["msg"]), failed["msg"]
    assert sim.get_case(402) == {"source": "edr"}


def test_broken_answers(sim, run_playbook, ansible_path):
    for case_id in range(501, 510):
        sim.set_case(case_id, {"source": "edr", "change": "old"})
    faults = {
        501: dict(method="GET", kind="reset"),
        502: dict(method="POST", kind="reset", apply=True),
        503: dict(method="PUT", kind="reset_mid", apply=True),
        504: dict(method="GET", kind="truncated"),
        505: dict(method="POST", kind="truncated", apply=True),
        506: dict(method="GET", kind="html"),
        507: dict(method="GET", kind="empty"),
        508: dict(method="POST", kind="empty"),
        509: dict(method="GET", status=200, body=DEEP_JSON),
    }
    for case_id, fault in faults.items():
        sim.add_fault(path_contains=fault_path(case_id), **fault)
    tag = {"triage": "done"}
    change = {"change": "new"}
    result = run_playbook(
        play(
            [
                task("reset before the answer to a read", case_id=501, metadata=tag),
                task("reset after a stored POST", case_id=502, metadata=tag),
                task("reset mid-answer after a stored PUT", case_id=503, metadata=change, overwrite=True),
                task("truncated JSON on a read", case_id=504, metadata=tag),
                task("truncated JSON after a stored POST", case_id=505, metadata=tag),
                task("HTML page with 200 on a read", case_id=506, metadata=tag, ignore_errors=True),
                task("empty 200 on a read", case_id=507, metadata=tag, ignore_errors=True),
                task("empty 200 on a POST", case_id=508, metadata=tag, ignore_errors=True),
                task("JSON nested too deep on a read", case_id=509, metadata=tag, ignore_errors=True),
            ]
        ),
        path=ansible_path,
    )
    assert result.rc == 0, result
    # A lost answer is a transient failure: read again, send only what is still missing.
    assert calls(sim, 501) == [("GET", None), ("GET", 200), ("POST", 200)]
    assert calls(sim, 502) == [("GET", 200), ("POST", None), ("GET", 200)]
    assert calls(sim, 503) == [("GET", 200), ("PUT", 200), ("GET", 200)]
    assert calls(sim, 504) == [("GET", 200), ("GET", 200), ("POST", 200)]
    assert calls(sim, 505) == [("GET", 200), ("POST", 200), ("GET", 200)]
    for case_id, name in (
        (501, "reset before the answer to a read"),
        (502, "reset after a stored POST"),
        (504, "truncated JSON on a read"),
        (505, "truncated JSON after a stored POST"),
    ):
        assert result.task(name)["added"] == tag, name
        assert sim.get_case(case_id) == {"source": "edr", "change": "old", **tag}
    reset_put = result.task("reset mid-answer after a stored PUT")
    assert reset_put["changed"] is True and reset_put["updated"] == change
    assert sim.get_case(503) == {"source": "edr", "change": "new"}

    # A 2xx that is not the API's JSON is not retried and not trusted: a clear failure, case untouched.
    assert calls(sim, 506) == [("GET", 200)]
    assert calls(sim, 507) == [("GET", 200)]
    assert calls(sim, 508) == [("GET", 200), ("POST", 200)]
    html = failure(result, "HTML page with 200 on a read")["msg"]
    assert html.startswith(f"GET {md_path(506)}: HTTP 200 but the body is not JSON (text/html")
    assert "is tenant_url the Tines API, not a proxy or login page?" in html
    assert "Corporate proxy" in html, "with the start of the page's text"
    empty_read = failure(result, "empty 200 on a read")["msg"]
    assert empty_read == f"GET {md_path(507)}: HTTP 200 with an empty body where JSON was expected"
    empty_post = failure(result, "empty 200 on a POST")["msg"]
    assert empty_post == f"POST {md_path(508)}: HTTP 200 with an empty body where JSON was expected"
    for case_id in (506, 507, 508, 509):
        assert sim.get_case(case_id) == {"source": "edr", "change": "old"}
    assert calls(sim, 509) == [("GET", 200)]
    # Valid JSON too deep for Python's decoder is as unusable as HTML: the same kind of clear failure.
    deep = failure(result, "JSON nested too deep on a read")["msg"]
    assert deep.startswith(f"GET {md_path(509)}: HTTP 200"), deep


def test_redirect_is_not_followed(sim, run_playbook, ansible_path):
    sim.set_case(601, {"source": "edr"})
    sim.set_case(602, {"source": "edr"})
    with Listener("127.0.0.2") as elsewhere:
        sim.add_fault(method="GET", path_contains=fault_path(601), kind="redirect", location=elsewhere.url)
        sim.add_fault(method="POST", path_contains=fault_path(602), kind="redirect", status=307, location=elsewhere.url)
        result = run_playbook(
            play(
                [
                    task("302 on the read", case_id=601, metadata={"a": "b"}, ignore_errors=True),
                    task("307 on the write", case_id=602, metadata={"a": "b"}, ignore_errors=True),
                ]
            ),
            path=ansible_path,
        )
        assert result.rc == 0, result
        assert elsewhere.connections == [] and elsewhere.received == b"", "the request (and its key) went elsewhere"
    assert calls(sim, 601) == [("GET", 302)]
    assert calls(sim, 602) == [("GET", 200), ("POST", 307)]
    for case_id, method, status, name in ((601, "GET", 302, "302 on the read"), (602, "POST", 307, "307 on the write")):
        failed = failure(result, name)
        assert failed["status"] == status
        assert failed["msg"] == (
            f"{method} {md_path(case_id)}: Tines answered HTTP {status} redirecting to {elsewhere.url}"
            f"{md_path(case_id)}; redirects are not followed so that the API key never goes to another address; "
            "check tenant_url"
        )
        assert sim.api_key not in failed["msg"]
        assert sim.get_case(case_id) == {"source": "edr"}
    assert sim.api_key not in result.stdout + result.stderr


# --- permissions ---------------------------------------------------------------


def test_read_only_key_and_invisible_case_fail_differently(sim, run_playbook, ansible_path):
    sim.set_case(701, {"source": "edr"})
    sim.set_case(702, {"source": "edr"})
    sim.set_options(hidden_cases=[701, 702], hidden_status=404)
    result = run_playbook(
        play(
            [
                task(
                    "read-only key writes",
                    case_id=42,
                    metadata={"a": "b"},
                    api_key="{{ tines_read_only_key }}",
                    ignore_errors=True,
                ),
                task("read-only key reads", module=INFO, case_id=42, api_key="{{ tines_read_only_key }}"),
                task("case hidden with 404", case_id=701, metadata={"a": "b"}, ignore_errors=True),
                task(
                    "hidden case answers 403 from now on",
                    module="ansible.builtin.uri",
                    url="{{ tines_url }}/_sim/options",
                    method="POST",
                    body_format="json",
                    body={"hidden_status": 403},
                    vars={"ansible_connection": "local"},
                ),
                task("case hidden with 403", case_id=702, metadata={"a": "b"}, ignore_errors=True),
            ]
        ),
        path=ansible_path,
    )
    assert result.rc == 0, result
    assert calls(sim, 42) == [("GET", 200), ("POST", 403), ("GET", 200)]
    assert calls(sim, 701) == [("GET", 404)]
    assert calls(sim, 702) == [("GET", 403)]
    read_only = failure(result, "read-only key writes")
    hidden_404 = failure(result, "case hidden with 404")
    hidden_403 = failure(result, "case hidden with 403")
    assert (read_only["status"], hidden_404["status"], hidden_403["status"]) == (403, 404, 403)
    assert read_only["msg"] == (
        f"POST {md_path(42)} failed with HTTP 403: the API key's role does not allow this on the case "
        "(a read-only key, or another team's case) (Tines said: Forbidden (This API key cannot edit cases))"
    )
    assert hidden_404["msg"] == (
        f"GET {md_path(701)} failed with HTTP 404: case not found or not visible to this API key "
        "(Tines said: Case not found (No case 701))"
    )
    assert hidden_403["msg"] == (
        f"GET {md_path(702)} failed with HTTP 403: the API key's role does not allow this on the case "
        "(a read-only key, or another team's case) (Tines said: Forbidden (This case belongs to another team))"
    )
    assert result.task("read-only key reads")["metadata"] == sim.get_case(42)
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1"}


# --- the simulator's fault kinds these tests rely on ------------------------------


def test_simulator_applies_then_answers_late_or_resets_mid_answer(sim):
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    url = sim.url + md_path(7)
    sim.add_fault(method="POST", kind="slow", delay=2, apply=True)
    with pytest.raises(requests.Timeout):
        requests.post(url, json={"metadata": {"early": "yes"}}, headers=headers, timeout=0.5)
    assert sim.get_case(7) == {"early": "yes"}, "stored before the slow answer"
    sim.add_fault(method="PUT", kind="reset_mid", apply=True)
    with pytest.raises(requests.RequestException):
        requests.put(url, json={"metadata": {"early": "no"}}, headers=headers, timeout=5)
    assert sim.get_case(7) == {"early": "no"}
    assert sim.log[-1]["status"] == 200, "the head of the answer went out before the reset"
    assert all(entry["client"].startswith("127.0.0.1:") for entry in sim.log)
