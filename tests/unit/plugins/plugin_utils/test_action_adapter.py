"""InProcessAction.run: where the task runs, and what it takes from the task and gives back.

Each test drives the tines_case_metadata action plugin through the fakes in
conftest.py; the task itself (RUN) and the module shipping are recorders.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from ansible.release import __version__ as ansible_core_version
from ansible_collections.tines.cases.plugins.module_utils._arguments import (
    METADATA_ARGUMENT_SPEC,
    check_metadata_input,
)
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import run_as_module
from ansible_collections.tines.cases.plugins.module_utils._redact import NO_LOG_PLACEHOLDER
from ansible_collections.tines.cases.plugins.plugin_utils import _action_adapter

CORE = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", ansible_core_version).groups())
MODULE = "tines.cases.tines_case_metadata"
ARGS = {"case_id": 7, "metadata": {"team": "blue"}}
INJECT = {"ansible_inject_invocation": True}
NO_INJECT = {"ansible_inject_invocation": False}
CERT_WARNING = "validate_certs is false: the tenant's TLS certificate is not verified"
# An API key as a file lookup reads it: with a newline. The quote, slash and plus make its escaped forms differ.
RAW_KEY = 'ak_7Hq2/9+Zr"Lw\n'
KEY = RAW_KEY.strip()
KEY_STEM = "ak_7Hq2"  # in every form of the key, escaped or not


def must_not_run(*args, **kwargs):
    raise AssertionError("the task must not run")


def failing(message, status=None):
    def run(params, check_mode, diff_mode, environment):
        raise TinesError(message, status)

    return run


def returning(result):
    return lambda params, check_mode, diff_mode, environment: dict(result)


def module_path(run_module, args, run):
    """What the module reports for the same arguments, its task answering as `run`."""
    return run_module(lambda: run_as_module(METADATA_ARGUMENT_SPEC, run), args)[1]


def run_params(action):
    """The validated options the task ran with (it ran once)."""
    assert len(action.RUN.calls) == 1
    return action.RUN.calls[0][0][0]


def shipped(action):
    """The keyword arguments of the one _execute_module call."""
    assert len(action._execute_module.calls) == 1
    return action._execute_module.calls[0][1]


# Where the task runs


@pytest.mark.parametrize("transport", ["local", "ansible.builtin.local"])
@pytest.mark.parametrize(("check_mode", "diff"), [(True, False), (False, True)])
def test_a_local_connection_runs_the_task_in_process(transport, check_mode, diff, make_action):
    action = make_action(dict(ARGS), transport=transport, check_mode=check_mode, diff=diff)
    result = action.run(task_vars={})
    assert result["changed"] is False and result["case_id"] == 7
    args, _keywords = action.RUN.calls[0]
    assert args[0]["case_id"] == 7 and args[0]["state"] == "present", "validated options, defaults filled in"
    assert args[1:3] == (check_mode, diff), "check mode and diff mode from the task"
    assert action._execute_module.calls == [] and action._remove_tmp_path.calls == []


@pytest.mark.parametrize("transport", ["ssh", "ansible.builtin.ssh", "paramiko_ssh", "community.docker.docker"])
def test_another_connection_ships_the_module(transport, make_action):
    action = make_action(dict(ARGS), transport=transport)
    task_vars = {"inventory_hostname": "web1"}
    assert action.run(task_vars=task_vars) == {"changed": True, "shipped": True}
    assert shipped(action) == {"module_name": MODULE, "module_args": ARGS, "task_vars": task_vars, "wrap_async": False}
    assert action.RUN.calls == []
    assert action._remove_tmp_path.calls == [((action._connection._shell.tmpdir,), {})]


def test_the_info_plugin_ships_its_own_module(make_action):
    action = make_action({"case_id": 7}, transport="ssh", info=True)
    action.run(task_vars={})
    assert shipped(action)["module_name"] == "tines.cases.tines_case_metadata_info"


def test_without_requests_on_the_controller_a_local_task_ships_the_module(make_action, monkeypatch):
    monkeypatch.setattr(_action_adapter, "REQUESTS_IMPORT_ERROR", "Traceback: No module named 'requests'")
    action = make_action(dict(ARGS), transport="local")
    assert action.run(task_vars={}) == {"changed": True, "shipped": True}
    assert action.RUN.calls == [] and shipped(action)["wrap_async"] is False


@pytest.mark.parametrize("transport", ["local", "ssh"])
def test_an_async_task_ships_through_the_async_wrapper_and_keeps_the_tmp_dir(transport, make_action):
    action = make_action(dict(ARGS), transport=transport, async_val=45)
    action.run(task_vars={})
    assert shipped(action)["wrap_async"] is True
    assert action.RUN.calls == []
    assert action._remove_tmp_path.calls == [], "the async wrapper still needs the module there"


def test_an_async_task_on_a_natively_async_connection_is_not_wrapped(make_action):
    action = make_action(dict(ARGS), transport="winrm", async_val=45, has_native_async=True)
    action.run(task_vars={})
    assert shipped(action)["wrap_async"] is False
    assert action._remove_tmp_path.calls == [((action._connection._shell.tmpdir,), {})]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"team": {"name": "blue"}}, "metadata value for key 'team' must be a string, number, boolean or date, got"),
        ({1: "one", "1": "uno"}, "metadata key '1' is given more than once"),
        ({True: "yes"}, "metadata keys must be strings, got True"),
    ],
)
def test_input_json_would_change_is_refused_before_shipping(metadata, message, make_action):
    action = make_action({"case_id": 7, "metadata": metadata}, transport="ssh")
    result = action.run(task_vars=INJECT)
    assert result["failed"] is True and result["msg"].startswith(message)
    assert result["invocation"]["module_args"]["case_id"] == 7
    assert action._execute_module.calls == [] and action.RUN.calls == []


def test_purge_with_state_absent_is_refused_before_shipping(make_action):
    action = make_action({"case_id": 7, "metadata": {"team": None}, "state": "absent", "purge": True}, transport="ssh")
    result = action.run(task_vars={})
    assert result["msg"] == "purge applies to state=present only; with state=absent list the keys to remove"
    assert action._execute_module.calls == []


@pytest.mark.parametrize("purge", ["no", "False"])
def test_a_purge_the_module_reads_as_false_is_not_refused_before_shipping(purge, make_action, run_module):
    args = {"case_id": 7, "metadata": {"team": None}, "state": "absent", "purge": purge}

    def checked(params, *rest):  # what run_metadata checks first
        check_metadata_input(params)
        return {"changed": False}

    assert "failed" not in module_path(run_module, args, checked), "the module accepts it"
    assert "failed" not in make_action(dict(args), run=checked).run(task_vars={}), "in-process it is accepted"
    result = make_action(dict(args), transport="ssh").run(task_vars={})
    assert result == {"changed": True, "shipped": True}, result.get("msg")


@pytest.mark.parametrize("transport", ["local", "ssh"])
def test_invalid_options_fail_on_the_controller(transport, make_action):
    action = make_action({"case_id": "seven", "metadata": {}}, transport=transport)
    result = action.run(task_vars={})
    assert result["failed"] is True and result["msg"].startswith("argument 'case_id' is of type ")
    assert action.RUN.calls == [] and action._execute_module.calls == []


# Options from the task's `environment`


def test_unset_options_come_from_the_task_environment(make_action):
    environment = {
        "TINES_TENANT_URL": "https://acme.tines.com",
        "TINES_API_KEY": "task-key",
        "TINES_RATE_LIMIT": 120,  # YAML gives a number; the environment holds text
    }
    action = make_action(dict(ARGS), environment=environment)
    action.run(task_vars={})
    params = run_params(action)
    assert (params["tenant_url"], params["api_key"], params["rate_limit"]) == (
        "https://acme.tines.com",
        "task-key",
        120,
    )


def test_tines_tenant_is_the_second_choice_for_the_tenant_url(make_action):
    only_second = make_action(dict(ARGS), environment={"TINES_TENANT": "acme.tines.com"})
    only_second.run(task_vars={})
    assert run_params(only_second)["tenant_url"] == "acme.tines.com"
    both = make_action(dict(ARGS), environment={"TINES_TENANT": "acme.tines.com", "TINES_TENANT_URL": "https://a.b"})
    both.run(task_vars={})
    assert run_params(both)["tenant_url"] == "https://a.b"


def test_an_option_given_as_null_takes_no_fallback_as_in_ansible_module(make_action, run_module, monkeypatch):
    """AnsibleModule falls back to the environment only for an option not given at all."""
    args = dict(ARGS, rate_limit=None)
    monkeypatch.setenv("TINES_RATE_LIMIT", "120")
    module = module_path(run_module, dict(args), returning({"changed": False}))
    in_process = make_action(dict(args), environment={"TINES_RATE_LIMIT": "120"}).run(task_vars={})
    assert module["failed"] is True and "argument 'rate_limit' is of type NoneType" in module["msg"]
    assert in_process["msg"] == module["msg"]


def test_an_option_wins_over_the_task_environment(make_action):
    action = make_action(dict(ARGS, api_key="option-key", rate_limit=10), environment={"TINES_API_KEY": "task-key"})
    action.run(task_vars={})
    assert (run_params(action)["api_key"], run_params(action)["rate_limit"]) == ("option-key", 10)


def test_the_task_environment_wins_over_the_controllers(make_action, monkeypatch):
    monkeypatch.setenv("TINES_API_KEY", "controller-key")
    monkeypatch.setenv("TINES_TENANT_URL", "https://controller.tines.com")
    action = make_action(dict(ARGS), environment={"TINES_API_KEY": "task-key"})
    action.run(task_vars={})
    params = run_params(action)
    assert params["api_key"] == "task-key"
    assert params["tenant_url"] == "https://controller.tines.com", "what the task does not set still falls back"


def test_later_environment_levels_win(make_action):
    play, task = {"TINES_API_KEY": "play-key", "HTTPS_PROXY": "http://proxy:3128"}, {"TINES_API_KEY": "task-key"}
    action = make_action(dict(ARGS), environment=[play, task])
    action.run(task_vars={})
    assert run_params(action)["api_key"] == "task-key"


def test_the_task_sees_the_controller_environment_under_the_tasks(make_action, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://controller-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    action = make_action(dict(ARGS), environment={"HTTPS_PROXY": "http://task-proxy:3128"})
    action.run(task_vars={})
    environment = action.RUN.calls[0][0][3]
    assert environment["HTTPS_PROXY"] == "http://task-proxy:3128" and environment["NO_PROXY"] == "localhost"


def test_a_shipped_module_gets_the_variables_as_options_not_in_its_environment(make_action):
    environment = {"TINES_API_KEY": "task-key", "TINES_TENANT": "acme.tines.com", "HTTPS_PROXY": "http://p:3128"}
    action = make_action(dict(ARGS), transport="ssh", environment=environment)
    action.run(task_vars={})
    assert shipped(action)["module_args"] == dict(ARGS, api_key="task-key", tenant_url="acme.tines.com")
    raw = {"stale": "value"}
    prefix = action._compute_environment_string(raw)
    assert raw == {"HTTPS_PROXY": "http://p:3128"}
    assert prefix == "HTTPS_PROXY=http://p:3128"
    assert "task-key" not in prefix and "TINES" not in prefix


# Secrets


def leaky_run(params, check_mode, diff_mode, environment):
    """A task result holding the key in every form a message could carry it."""
    return {
        "changed": False,
        "msg": "sent Authorization: Bearer %s" % KEY,
        "warnings": ["retrying with %r" % params["api_key"]],
        "metadata": {KEY: "a key named after the secret", "body": json.dumps({"token": params["api_key"]})},
        "requests": [{"url": "https://acme.tines.com/api?token=" + quote(KEY, safe="")}],
        "raw": params["api_key"],
    }


def test_the_key_is_masked_everywhere_in_a_result(make_action):
    action = make_action(dict(ARGS, api_key=RAW_KEY), run=leaky_run)
    result = action.run(task_vars=INJECT)
    assert result["msg"] == "sent Authorization: Bearer ********"
    assert result["warnings"] == ["retrying with '********'"]
    assert result["metadata"] == {"********": "a key named after the secret", "body": '{"token": "********"}'}
    assert result["requests"] == [{"url": "https://acme.tines.com/api?token=********"}]
    assert result["raw"] == "********"
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    assert KEY_STEM not in json.dumps(result)


def test_a_key_from_the_task_environment_is_masked_too(make_action):
    action = make_action(dict(ARGS), environment={"TINES_API_KEY": RAW_KEY}, run=leaky_run)
    result = action.run(task_vars=INJECT)
    assert result["msg"] == "sent Authorization: Bearer ********"
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    assert KEY_STEM not in json.dumps(result)


def test_the_key_is_masked_in_a_failure(make_action):
    action = make_action(
        dict(ARGS, api_key=RAW_KEY), run=failing("401 for token %r at %s" % (KEY, quote(KEY, safe="")), 401)
    )
    result = action.run(task_vars=INJECT)
    assert result == {
        "failed": True,
        "msg": "401 for token '********' at ********",
        "status": 401,
        "invocation": result["invocation"],
    }
    assert KEY_STEM not in json.dumps(result)


def test_the_key_is_masked_in_a_validation_failure(make_action):
    action = make_action(dict(ARGS, api_key=RAW_KEY, auth_header=RAW_KEY))
    result = action.run(task_vars=INJECT)
    assert result["msg"] == "value of auth_header must be one of: bearer, x-user-token, got: ********"
    assert result["invocation"]["module_args"]["api_key"] == NO_LOG_PLACEHOLDER
    assert KEY_STEM not in json.dumps(result)


# invocation


@pytest.mark.parametrize(
    ("args", "run"),
    [
        (dict(ARGS, case_id="7", api_key="k-123", timeout="5"), returning({"changed": False})),
        (dict(ARGS, api_key="k-123"), failing("case 7 not found", 404)),
        (dict(ARGS, api_key="k-123", bogus="typo", case_id="7"), None),
        (dict(ARGS, case_id="seven", api_key="k-123"), None),
        (dict(ARGS, case_id=None), None),
    ],
    ids=["success", "task failure", "unsupported option", "wrong type", "missing required"],
)
def test_invocation_is_what_the_module_reports(args, run, make_action, run_module):
    action = make_action(dict(args), run=run or must_not_run)
    result = action.run(task_vars=INJECT)
    assert "invocation" in result
    assert result["invocation"] == module_path(run_module, args, run or must_not_run)["invocation"]


def test_invocation_holds_the_raw_arguments_and_the_validated_ones(make_action):
    action = make_action(dict(ARGS, bogus="typo", case_id="7", api_key="k-123"))
    given = action.run(task_vars=INJECT)["invocation"]["module_args"]
    assert given["bogus"] == "typo", "reported although unsupported"
    assert given["case_id"] == 7 and given["state"] == "present", "validated and default values"
    assert given["api_key"] == NO_LOG_PLACEHOLDER


@pytest.mark.parametrize(
    ("args", "run"),
    [
        (ARGS, returning({"changed": False})),
        (ARGS, failing("case 7 not found", 404)),
        (dict(ARGS, case_id=None), must_not_run),
    ],
    ids=["success", "task failure", "validation failure"],
)
def test_invocation_follows_inject_invocation(args, run, make_action):
    assert "invocation" in make_action(dict(args), run=run).run(task_vars=INJECT)
    without = make_action(dict(args), run=run).run(task_vars=NO_INJECT)
    assert ("invocation" in without) is (CORE < (2, 21)), "ansible-core 2.21+ leaves it out unless asked"


# Warnings


@pytest.mark.parametrize(
    "run", [returning({"changed": False}), failing("case 7 not found", 404)], ids=["success", "task failure"]
)
def test_validate_certs_false_warns(run, make_action):
    result = make_action(dict(ARGS, validate_certs=False), run=run).run(task_vars={})
    assert result["warnings"] == [CERT_WARNING]
    assert "warnings" not in make_action(dict(ARGS), run=run).run(task_vars={})


def test_the_tasks_own_warnings_are_kept_after_the_connections(make_action, run_module):
    run = returning({"changed": False, "warnings": ["the rate budget is not shared with other processes"]})
    result = make_action(dict(ARGS, validate_certs=False), run=run).run(task_vars={})
    assert result["warnings"] == [CERT_WARNING, "the rate budget is not shared with other processes"]
    assert module_path(run_module, dict(ARGS, validate_certs=False), run)["warnings"] == result["warnings"]


# Unexpected exceptions, become, async, credentials in the URL


def test_an_unexpected_exception_fails_the_task_in_process_as_on_the_module_path(make_action, run_module):
    def broken(params, check_mode, diff_mode, environment):
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    result = make_action(dict(ARGS), run=broken).run(task_vars=INJECT)
    assert result["failed"] is True
    assert result["msg"] == (
        "unexpected error in tines.cases: RecursionError: maximum recursion depth exceeded while decoding a JSON array"
    )
    assert result["exception"].startswith("Traceback (most recent call last):")
    assert module_path(run_module, dict(ARGS), broken)["msg"] == result["msg"]


@pytest.mark.parametrize("transport", ["local", "ansible.builtin.local"])
def test_a_task_that_becomes_another_user_ships_the_module(transport, make_action):
    action = make_action(dict(ARGS), transport=transport)
    action._play_context.become = True
    assert action.run(task_vars={}) == {"changed": True, "shipped": True}
    assert action.RUN.calls == [] and shipped(action)["wrap_async"] is False


def test_an_async_task_keeps_the_variables_that_became_options_out_of_its_environment(make_action):
    """Ansible polls the job with async_status commands built from the task's environment, printed at -vvv."""
    environment = [{"TINES_API_KEY": "task-key", "HTTPS_PROXY": "http://p:3128"}, {"TINES_TENANT": "acme.tines.com"}]
    action = make_action(dict(ARGS), transport="local", environment=environment, async_val=45)
    action.run(task_vars={})
    assert shipped(action)["module_args"] == dict(ARGS, api_key="task-key", tenant_url="acme.tines.com")
    assert action._task.environment == [{"HTTPS_PROXY": "http://p:3128"}]


def test_invocation_in_process_never_shows_a_password_in_the_tenant_url(make_action, run_module):
    args = dict(ARGS, tenant_url="https://deploy:Hunter2pw@acme.tines.com")
    result = make_action(dict(args), run=failing("refused", 400)).run(task_vars=INJECT)
    assert result["invocation"]["module_args"]["tenant_url"] == "https://********@acme.tines.com"
    assert result["invocation"] == module_path(run_module, args, failing("refused", 400))["invocation"]
