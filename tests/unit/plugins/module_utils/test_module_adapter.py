"""The shaping of results that both paths share, and the module path itself (AnsibleModule, run in this process).

Only module_utils is imported: ansible-test runs these tests as target code.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest
from ansible.module_utils.ansible_release import __version__ as ansible_core_version
from ansible_collections.tines.cases.plugins.module_utils import _module_adapter
from ansible_collections.tines.cases.plugins.module_utils._arguments import METADATA_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import connection_warnings
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import (
    failure_result,
    run_as_module,
    task_result,
)
from ansible_collections.tines.cases.plugins.module_utils._redact import (
    NO_LOG_PLACEHOLDER,
    invocation,
    redact,
    secrets_of,
)

CORE = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", ansible_core_version).groups())
SPEC = METADATA_ARGUMENT_SPEC
ARGS = {"case_id": 7, "metadata": {"team": "blue"}}
CERT_WARNING = "validate_certs is false: the tenant's TLS certificate is not verified"
RAW_KEY = 'ak_7Hq2/9+Zr"Lw\n'  # as a file lookup reads it; the quote, slash and plus make its escaped forms differ
KEY = RAW_KEY.strip()
KEY_STEM = "ak_7Hq2"  # in every form of the key, escaped or not


def params_with(**options):
    """Validated-looking parameters: every option of the spec, None unless given."""
    return dict(dict.fromkeys(SPEC), **options)


def returning(result):
    return lambda params, check_mode, diff_mode, environment: dict(result)


def failing(message, status=None):
    def run(params, check_mode, diff_mode, environment):
        raise TinesError(message, status)

    return run


def must_not_run(*args, **kwargs):
    raise AssertionError("the task must not run")


def without_internal(result):
    """A module result as the controller keeps it: AnsibleModule's `_ansible_*` keys are for the controller."""
    return {key: value for key, value in result.items() if not key.startswith("_ansible_")}


# connection_warnings, failure_result


@pytest.mark.parametrize(("validate_certs", "expected"), [(False, [CERT_WARNING]), (True, []), (None, [])])
def test_connection_warnings(validate_certs, expected):
    assert connection_warnings({"validate_certs": validate_certs}) == expected


def test_failure_result_carries_the_status_of_an_http_failure():
    assert failure_result(TinesError("case 7 not found", 404)) == {
        "failed": True,
        "msg": "case 7 not found",
        "status": 404,
    }
    assert failure_result(TinesError("timeout must be a positive number")) == {
        "failed": True,
        "msg": "timeout must be a positive number",
    }


# secrets_of, redact


def test_secrets_are_every_form_of_the_no_log_options_longest_first():
    forms = secrets_of(SPEC, params_with(api_key=RAW_KEY, tenant_url="https://acme.tines.com"))
    expected_forms = {
        RAW_KEY,
        KEY,
        repr(RAW_KEY)[1:-1],  # ak_7Hq2/9+Zr"Lw\n
        json.dumps(KEY)[1:-1],  # ak_7Hq2/9+Zr\"Lw
        quote(KEY, safe=""),  # ak_7Hq2%2F9%2BZr%22Lw
        quote_plus(RAW_KEY),
    }
    assert expected_forms <= set(forms)
    assert all(KEY_STEM in form for form in forms), "nothing from options that are not no_log"
    assert [len(form) for form in forms] == sorted((len(form) for form in forms), reverse=True)


@pytest.mark.parametrize("api_key", [None, "", "  \n", 12345])
def test_no_secret_without_a_text_key(api_key):
    assert secrets_of(SPEC, params_with(api_key=api_key)) == []


def test_redact_masks_values_and_keys_at_any_depth():
    secrets = secrets_of(SPEC, params_with(api_key=RAW_KEY))
    result = {
        "msg": "token %s rejected" % KEY,
        "nested": {KEY: [("in a tuple %r" % RAW_KEY, 3)], "n": 1, "none": None, "flag": True},
    }
    assert redact(result, secrets) == {
        "msg": "token ******** rejected",
        "nested": {"********": [["in a tuple '********'", 3]], "n": 1, "none": None, "flag": True},
    }


def test_redact_without_secrets_returns_the_value_itself():
    result = {"msg": "fine"}
    assert redact(result, []) is result


# invocation


def test_invocation_masks_no_log_options_that_are_set():
    given = {"api_key": "k-123", "case_id": 7, "bogus": "typo", "tenant_url": None}
    assert invocation(SPEC, given) == {
        "module_args": {"api_key": NO_LOG_PLACEHOLDER, "case_id": 7, "bogus": "typo", "tenant_url": None}
    }
    assert invocation(SPEC, {"api_key": None}) == {"module_args": {"api_key": None}}


# task_result


def test_task_result_runs_the_task_with_the_modes_and_environment():
    calls = []

    def run(params, check_mode, diff_mode, environment):
        calls.append((params, check_mode, diff_mode, environment))
        return {"changed": True, "case_id": params["case_id"]}

    params = params_with(case_id=7)
    assert task_result(SPEC, params, run, True, False, {"HTTPS_PROXY": "http://p:3128"}) == {
        "changed": True,
        "case_id": 7,
    }
    assert calls == [(params, True, False, {"HTTPS_PROXY": "http://p:3128"})]


def test_task_result_turns_a_tines_error_into_a_failure():
    result = task_result(SPEC, params_with(case_id=7), failing("case 7 not found", 404), False, False)
    assert result == {"failed": True, "msg": "case 7 not found", "status": 404}


@pytest.mark.parametrize(
    "run",
    [returning({"changed": False, "warnings": ["budget not shared"]}), failing("case 7 not found", 404)],
    ids=["success", "failure"],
)
def test_task_result_puts_the_connection_warnings_first(run):
    result = task_result(SPEC, params_with(validate_certs=False), run, False, False)
    expected = [CERT_WARNING, "budget not shared"] if "changed" in result else [CERT_WARNING]
    assert result["warnings"] == expected
    assert "warnings" not in task_result(SPEC, params_with(validate_certs=True), failing("x"), False, False)


def test_task_result_masks_the_key_in_messages_warnings_and_values():
    def run(params, check_mode, diff_mode, environment):
        return {
            "msg": "Bearer %s" % KEY,
            "warnings": ["retrying %r" % params["api_key"]],
            "metadata": {KEY: json.dumps(params["api_key"])},
        }

    result = task_result(SPEC, params_with(api_key=RAW_KEY), run, False, False)
    assert result == {
        "msg": "Bearer ********",
        "warnings": ["retrying '********'"],
        "metadata": {"********": '"********"'},
    }
    failure = task_result(SPEC, params_with(api_key=RAW_KEY), failing("token=%s" % quote_plus(KEY), 401), False, False)
    assert failure["msg"] == "token=********"


# run_as_module: the module path


def test_the_module_returns_the_task_result_masked(run_module):
    def run(params, check_mode, diff_mode, environment):
        assert (check_mode, diff_mode) == (True, True)
        return {"changed": True, "msg": "used %s" % KEY, "warnings": ["retrying %r" % params["api_key"]]}

    code, result = run_module(
        lambda: run_as_module(SPEC, run), dict(ARGS, api_key=RAW_KEY, validate_certs=False), check_mode=True, diff=True
    )
    assert code == 0
    assert result["changed"] is True and result["msg"] == "used ********"
    assert result["warnings"] == [CERT_WARNING, "retrying '********'"]
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    assert result["invocation"]["module_args"]["case_id"] == 7
    assert KEY_STEM not in json.dumps(without_internal(result))


def test_the_module_fails_with_the_tasks_error_masked(run_module):
    code, result = run_module(
        lambda: run_as_module(SPEC, failing("401 for %s" % KEY, 401)), dict(ARGS, api_key=RAW_KEY)
    )
    assert code == 1
    assert (result["failed"], result["msg"], result["status"]) == (True, "401 for ********", 401)
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    assert KEY_STEM not in json.dumps(without_internal(result))


def test_the_modules_own_argument_failure_is_masked(run_module):
    code, result = run_module(lambda: run_as_module(SPEC, must_not_run), dict(ARGS, api_key=RAW_KEY, bogus="typo"))
    assert code == 1
    assert result["msg"].startswith("Unsupported parameters for (tines.cases.tines_case_metadata) module: bogus.")
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    assert result["invocation"]["module_args"]["bogus"] == "typo"
    assert KEY_STEM not in json.dumps(without_internal(result))
    _code, result = run_module(
        lambda: run_as_module(SPEC, must_not_run), dict(ARGS, api_key=RAW_KEY, auth_header=RAW_KEY)
    )
    assert result["msg"] == "value of auth_header must be one of: bearer, x-user-token, got: ********"


@pytest.mark.parametrize(
    ("run", "extra"),
    [(returning({"changed": False}), {"tenant_url": RAW_KEY}), (must_not_run, {"auth_header": RAW_KEY})],
    ids=["success", "argument failure"],
)
def test_the_key_given_to_another_option_does_not_show_in_invocation(run, extra, run_module):
    _code, result = run_module(lambda: run_as_module(SPEC, run), dict(ARGS, api_key=RAW_KEY, **extra))
    assert KEY_STEM not in json.dumps(without_internal(result))


def test_the_module_without_requests_fails_before_the_task(run_module, monkeypatch):
    monkeypatch.setattr(_module_adapter, "REQUESTS_IMPORT_ERROR", "Traceback: No module named 'requests'")
    code, result = run_module(lambda: run_as_module(SPEC, must_not_run), dict(ARGS))
    assert code == 1
    assert result["msg"].startswith("Failed to import the required Python library (requests)")


# Unexpected exceptions


def raising(exception):
    def run(params, check_mode, diff_mode, environment):
        raise exception

    return run


def test_task_result_turns_any_exception_into_a_failure_naming_it():
    result = task_result(SPEC, params_with(case_id=7), raising(KeyError("metadata")), False, False)
    assert result["failed"] is True
    assert result["msg"] == "unexpected error in tines.cases: KeyError: 'metadata'"
    assert result["exception"].startswith("Traceback (most recent call last):")
    assert result["exception"].rstrip().endswith("KeyError: 'metadata'")
    assert "status" not in result
    bare = task_result(SPEC, params_with(case_id=7), raising(RecursionError()), False, False)
    assert bare["msg"] == "unexpected error in tines.cases: RecursionError"


def test_an_unexpected_exception_has_the_key_masked_in_its_message_and_traceback():
    run = raising(ValueError("cannot send header Bearer %s" % KEY))
    result = task_result(SPEC, params_with(api_key=RAW_KEY), run, False, False)
    assert result["msg"] == "unexpected error in tines.cases: ValueError: cannot send header Bearer ********"
    assert "Bearer ********" in result["exception"]
    assert KEY_STEM not in json.dumps(result)


def test_the_module_fails_with_an_unexpected_exception_and_its_traceback(run_module):
    run = raising(OverflowError("timestamp out of range for platform time_t (key %s)" % KEY))
    code, result = run_module(lambda: run_as_module(SPEC, run), dict(ARGS, api_key=RAW_KEY))
    assert code == 1
    assert result["failed"] is True
    assert result["msg"] == (
        "unexpected error in tines.cases: OverflowError: timestamp out of range for platform time_t (key ********)"
    )
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    if CORE < (2, 19):  # from 2.19 the module includes a traceback only when the controller asks for one
        assert "Traceback (most recent call last)" in result["exception"]
    assert KEY_STEM not in json.dumps(without_internal(result))


# A tenant_url holding credentials


@pytest.mark.parametrize(
    ("run", "extra"), [(failing("refused", 400), {}), (must_not_run, {"bogus": 1})], ids=["task", "argument failure"]
)
def test_invocation_never_shows_a_password_in_the_tenant_url(run, extra, run_module):
    args = dict(ARGS, tenant_url="https://deploy:Hunter2pw@acme.tines.com", **extra)
    _code, result = run_module(lambda: run_as_module(SPEC, run), args)
    assert result["invocation"]["module_args"]["tenant_url"] == "https://********@acme.tines.com"
    assert "Hunter2pw" not in json.dumps(without_internal(result))
