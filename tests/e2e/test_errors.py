"""How tines_case_metadata fails: bad input refused before any request, HTTP errors, retries.

Failed tasks run with ignore_errors so that one playbook holds many of them; each
one's message, `status` and requests are asserted.
"""

from __future__ import annotations

import pytest
import tines_sim  # on sys.path through conftest.py
from helpers.plays import CREDENTIALS, GET, POST, failure, play, task

MSG_TENANT = "tenant_url is required: set the option or the TINES_TENANT_URL (or TINES_TENANT) environment variable"
MSG_KEY = "api_key is required: set the option or the TINES_API_KEY environment variable"


# (task name, module options, the exact message or, for Ansible's own checks, words it must hold)
BAD_INPUTS = [
    ("case_id 0", dict(CREDENTIALS, case_id=0, metadata={"a": "b"}), "case_id must be a positive integer, got 0"),
    ("case_id -1", dict(CREDENTIALS, case_id=-1, metadata={"a": "b"}), "case_id must be a positive integer, got -1"),
    ("case_id abc", dict(CREDENTIALS, case_id="abc", metadata={"a": "b"}), ("case_id", "int")),
    (
        "dict value",
        dict(CREDENTIALS, case_id=42, metadata={"a": "b", "nested": {"x": "y"}}),
        "metadata value for key 'nested' must be a string, number, boolean or date, got a dictionary",
    ),
    (
        "list value",
        dict(CREDENTIALS, case_id=42, metadata={"tags": ["x", "y"]}),
        "metadata value for key 'tags' must be a string, number, boolean or date, got a list",
    ),
    (
        "null value",
        dict(CREDENTIALS, case_id=42, metadata={"owner": None}),
        "metadata value for key 'owner' must be a string, number, boolean or date, got null",
    ),
    ("metadata a list", dict(CREDENTIALS, case_id=42, metadata=["a", "b"]), ("metadata", "dict")),
    ("blank key", dict(CREDENTIALS, case_id=42, metadata={" ": "x"}), "metadata keys must not be empty or blank"),
    (
        "ftp url",
        dict(CREDENTIALS, case_id=42, metadata={"a": "b"}, tenant_url="ftp://x"),
        "tenant_url 'ftp://x' is not an http(s) URL such as https://acme.tines.com",
    ),
    (
        "url with a path",
        dict(CREDENTIALS, case_id=42, metadata={"a": "b"}, tenant_url="https://acme.tines.com/api/v2"),
        "tenant_url 'https://acme.tines.com/api/v2' must be the tenant's base URL only (one trailing / at most), "
        "such as https://acme.tines.com",
    ),
    (
        "plain http to another host",
        dict(CREDENTIALS, case_id=42, metadata={"a": "b"}, tenant_url="http://tines.example.com"),
        "tenant_url 'http://tines.example.com' uses plain HTTP to a non-loopback host, which would send the API key "
        "unencrypted; use https:// or set allow_plain_http=true if you really mean it",
    ),
    ("no tenant_url", dict(api_key="{{ tines_key }}", case_id=42, metadata={"a": "b"}), MSG_TENANT),
    ("no api_key", dict(tenant_url="{{ tines_url }}", case_id=42, metadata={"a": "b"}), MSG_KEY),
    ("no credentials at all", dict(case_id=42, metadata={"a": "b"}), MSG_TENANT),
    (
        "purge with state absent",
        dict(CREDENTIALS, case_id=42, metadata={"a": None}, state="absent", purge=True),
        "purge applies to state=present only; with state=absent list the keys to remove",
    ),
    ("timeout 0", dict(CREDENTIALS, case_id=42, metadata={"a": "b"}, timeout=0), "timeout must be a positive number"),
    ("max_retries -1", dict(CREDENTIALS, case_id=42, metadata={"a": "b"}, max_retries=-1), "max_retries must be 0"),
    ("unknown state", dict(CREDENTIALS, case_id=42, metadata={"a": "b"}, state="gone"), ("state", "present, absent")),
]


def test_bad_input_is_refused_before_any_request(plays, sim):
    # No module_defaults: the credential tasks must really lack what they lack (and TINES_* is unset).
    out = plays.run(
        play([task(name, **options, ignore_errors=True) for name, options, _expected in BAD_INPUTS], defaults=None)
    )
    assert out.rc == 0, out
    for name, _options, expected in BAD_INPUTS:
        result = out.task(name)
        assert out.status(name) == "failed", name
        if isinstance(expected, str):
            assert result["msg"].startswith(expected), (name, result["msg"])
        else:
            assert all(word in result["msg"] for word in expected), (name, result["msg"])
        assert "status" not in result, name
        assert "Traceback" not in result["msg"], name
    assert sim.log == [], out
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1"}


KEYS_LOST_IN_JSON = [
    ("key given twice", {1: "a", "1": "b"}, "metadata key '1' is given more than once"),
    ("boolean key", {True: "a"}, "metadata keys must be strings, got True"),
    ("float key", {1.5: "a"}, "metadata keys must be strings, got 1.5"),
    ("null key", {None: "a"}, "metadata keys must be strings, got None"),
]


def test_input_ansible_would_quietly_change_is_refused_on_both_paths(plays, sim):
    """Input that Ansible's own type handling would turn into something else is refused before any request.

    - YAML keys `1` with `"1"`, `true:`, `1.5:` and `~:`: on the module path Ansible
      sends the options as JSON, which turns every key into a string (`"true"`,
      `"1.5"`, `"null"`; the duplicate "1" keeps the last value), so the refusal
      has to happen before that. An integer key alone is fine.
    - `case_id: true`: Ansible's int check lets a boolean through, which would be case 1.
    """
    sim.set_case(1, {})
    tasks = [
        task(name, case_id=42, metadata=metadata, ignore_errors=True) for name, metadata, _message in KEYS_LOST_IN_JSON
    ]
    tasks += [
        task("case_id true", case_id=True, metadata={"a": "b"}, ignore_errors=True),
        task("integer key", case_id=7, metadata={5: "x"}),
    ]
    out = plays.run(play(tasks))
    assert out.rc == 0, out
    for name, _metadata, message in KEYS_LOST_IN_JSON:
        assert out.status(name) == "failed", (name, out.calls(name))
        assert out.task(name)["msg"] == message, name
        assert out.calls(name) == [], name
    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1"}
    assert out.status("case_id true") == "failed", out.calls("case_id true")
    assert "case_id" in out.task("case_id true")["msg"]
    assert out.calls("case_id true") == []
    assert sim.get_case(1) == {}
    assert out.calls("integer key") == [GET(7), POST(7, {"5": "x"})]


def test_http_errors_and_retries(plays, sim):
    """The message of each kind of refusal; odd answers, 429s and writes answered with a 5xx are in test_faults.py."""
    sim.set_case(45, {"source": "edr"})
    sim.add_fault(path_contains="/cases/45/metadata", kind="status", status=503, count=5)
    owner = {"owner": "blue-team"}
    out = plays.run(
        play(
            [
                task("wrong key", case_id=42, metadata=owner, api_key="wrong-key", ignore_errors=True),
                task("unknown case", case_id=999, metadata=owner, ignore_errors=True),
                task("persistent 503", case_id=45, metadata=owner, max_retries=2, ignore_errors=True),
            ]
        )
    )
    assert out.rc == 0, out
    path = "/api/v2/cases/{}/metadata".format

    result = failure(out, "wrong key")
    assert result["msg"] == (
        f"GET {path(42)} failed with HTTP 401: the API key is missing, wrong or revoked "
        "(Tines said: Unauthorized (Missing or invalid API key))"
    )
    assert result["status"] == 401
    assert out.calls("wrong key") == [GET(42)]
    assert out.requests("wrong key")[0]["headers"]["authorization"] == "Bearer wrong-key"

    result = failure(out, "unknown case")
    assert result["msg"] == (
        f"GET {path(999)} failed with HTTP 404: case not found or not visible to this API key "
        "(Tines said: Case not found (No case 999))"
    )
    assert result["status"] == 404
    assert out.calls("unknown case") == [GET(999)]

    result = failure(out, "persistent 503")
    assert result["msg"].startswith(
        f"GET {path(45)} failed with HTTP 503: server error "
        "(Tines said: Simulated server fault (injected fault)); gave up after 2 retries ("
    )
    assert result["status"] == 503
    assert out.calls("persistent 503") == [GET(45)] * 3
    assert out.statuses("persistent 503") == [503] * 3

    assert sim.get_case(42) == {"source": "edr", "ticket": "OPS-1"}
    assert sim.get_case(45) == {"source": "edr"}
    assert "Traceback" not in out.stdout + out.result.stderr


SHAPES = {
    "errors": "A case can have at most 3 metadata keys (4 keys after this write)",
    "error_object": "A case can have at most 3 metadata keys (unprocessable_entity)",
    "error_string": "A case can have at most 3 metadata keys",
    "message": "A case can have at most 3 metadata keys",
    "text": "A case can have at most 3 metadata keys",
    "empty": None,
}


@pytest.mark.parametrize("ansible_path", ["inprocess"])
def test_tines_message_is_shown_for_every_error_body_shape(plays, sim):
    """Message parsing is module_utils code shared by both paths, so one path is enough here.

    Each case's POST is refused with a 422 whose body the simulator builds in one of
    its error shapes, as it would with that `error_shape` option.
    """
    tasks = []
    for number, shape in enumerate(SHAPES):
        case_id = 60 + number
        sim.set_case(case_id, {"a": "1", "b": "2"})
        body = tines_sim.error_response(
            shape, 422, "A case can have at most 3 metadata keys", "4 keys after this write"
        )
        sim.add_fault(method="POST", path_contains=f"/cases/{case_id}/metadata", status=422, body=body.body)
        tasks.append(
            task(f"refused in shape {shape}", case_id=case_id, metadata={"c": "3", "d": "4"}, ignore_errors=True)
        )
    out = plays.run(play(tasks))
    assert out.rc == 0, out
    for number, (shape, tines_says) in enumerate(SHAPES.items()):
        case_id = 60 + number
        name = f"refused in shape {shape}"
        result = out.task(name)
        expected = f"POST /api/v2/cases/{case_id}/metadata failed with HTTP 422: Tines refused the change"
        if tines_says:
            expected += f" (Tines said: {tines_says})"
        assert result["msg"] == expected, shape
        assert result["status"] == 422
        # After a 422 on POST the case is read again: had another run added some of the keys, only the rest
        # would be sent; none appeared, so the 422 stands.
        assert out.calls(name) == [GET(case_id), POST(case_id, {"c": "3", "d": "4"}), GET(case_id)]
        assert out.statuses(name) == [200, 422, 200]
