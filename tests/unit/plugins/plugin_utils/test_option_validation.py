"""Option validation in-process gives what AnsibleModule gives on the module path, for plain and tagged values."""

from __future__ import annotations

import datetime
import re

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.release import __version__ as ansible_core_version
from ansible_collections.tines.cases.plugins.module_utils._arguments import (
    INFO_ARGUMENT_SPEC,
    METADATA_ARGUMENT_SPEC,
    plain,
    validated_options,
)
from ansible_collections.tines.cases.plugins.module_utils._connection import with_environment_fallbacks
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import run_metadata_info
from ansible_collections.tines.cases.plugins.module_utils._module_adapter import run_as_module
from ansible_collections.tines.cases.plugins.plugin_utils._action_adapter import injects_invocation

MODULE = "tines.cases.tines_case_metadata"
CORE = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", ansible_core_version).groups())
PLAIN_TYPES = (str, int, float, bool, type(None), dict, list)

# Task arguments as a playbook writes them (YAML), and how AnsibleModule's message about them starts.
INVALID = {
    "unsupported": (
        "case_id: 7\nmetadata: {team: blue}\nbogus: 1\n",
        "Unsupported parameters for (%s) module: " % MODULE,
    ),
    "wrong type": ("case_id: seven\nmetadata: {team: blue}\n", "argument 'case_id' is of type "),
    "wrong type in a float": ("case_id: 7\nmetadata: {team: blue}\ntimeout: soon\n", "argument 'timeout' is of type "),
    "missing required": ("metadata: {team: blue}\n", "missing required arguments: case_id"),
    "bad choice": (
        "case_id: 7\nmetadata: {team: blue}\nstate: gone\n",
        "value of state must be one of: present, absent, got: gone",
    ),
}


def yaml_args(text):
    """Arguments as Ansible loads them from a playbook: tagged types on 2.19+, AnsibleUnicode before."""
    return DataLoader().load(text)


def plain_args(text):
    """The same arguments as a module receives them: plain JSON types."""
    return plain(yaml_args(text))


def must_not_run(*args, **kwargs):
    raise AssertionError("the task must not run")


def module_path_message(run_module, args):
    code, result = run_module(lambda: run_as_module(METADATA_ARGUMENT_SPEC, must_not_run), args)
    assert code == 1 and result["failed"]
    return result["msg"]


def all_plain(value):
    if isinstance(value, dict):
        return all(type(key) in PLAIN_TYPES and all_plain(item) for key, item in value.items())
    if isinstance(value, list):
        return all(all_plain(item) for item in value)
    return type(value) in PLAIN_TYPES


@pytest.mark.parametrize("case", sorted(INVALID))
def test_messages_are_the_module_paths(case, run_module):
    text, expected = INVALID[case]
    _params, message = validated_options(METADATA_ARGUMENT_SPEC, plain_args(text), MODULE)
    assert message == module_path_message(run_module, plain_args(text))
    assert message.startswith(expected)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_tagged_values_get_the_messages_of_plain_ones(case, run_module):
    _params, message = validated_options(METADATA_ARGUMENT_SPEC, yaml_args(INVALID[case][0]), MODULE)
    assert message == module_path_message(run_module, plain_args(INVALID[case][0]))


def test_unsupported_message_names_the_parameter_and_the_supported_ones():
    _params, message = validated_options(METADATA_ARGUMENT_SPEC, plain_args(INVALID["unsupported"][0]), MODULE)
    assert message == (
        "Unsupported parameters for (tines.cases.tines_case_metadata) module: bogus. Supported parameters include: "
        + ", ".join(sorted(METADATA_ARGUMENT_SPEC))
        + "."
    )


def test_the_kind_of_plugin_is_named():
    _params, message = validated_options(
        METADATA_ARGUMENT_SPEC, {"bogus": 1, "case_id": 1, "metadata": {}}, "tines.cases.case_metadata", "lookup"
    )
    assert message.startswith("Unsupported parameters for (tines.cases.case_metadata) lookup: bogus.")


def test_valid_tagged_arguments_come_back_plain_with_defaults():
    args = yaml_args("case_id: '7'\nmetadata: {team: blue, 3: three, tags: [a, 2], ok: yes}\ntimeout: 2.5\n")
    params, message = validated_options(METADATA_ARGUMENT_SPEC, args, MODULE)
    assert message is None
    assert params["case_id"] == 7 and params["timeout"] == 2.5 and params["state"] == "present"
    assert params["metadata"] == {"team": "blue", 3: "three", "tags": ["a", 2], "ok": True}
    assert all_plain(params), "the task must see the types a module would"


def test_the_task_runs_with_plain_values_from_tagged_arguments(make_action):
    action = make_action(yaml_args("case_id: '7'\nmetadata: {team: blue, 3: three}\napi_key: k-123\n"))
    action.run(task_vars={})
    params = action.RUN.calls[0][0][0]
    assert params["case_id"] == 7 and params["metadata"] == {"team": "blue", 3: "three"}
    assert all_plain(params)


def test_plain_turns_tagged_values_into_plain_types():
    loaded = yaml_args("s: text\ni: 3\nf: 1.5\nb: true\nl: [x, 1]\nd: {k: v, 2: w}\nn: null\n")
    copied = plain(loaded)
    assert copied == {"s": "text", "i": 3, "f": 1.5, "b": True, "l": ["x", 1], "d": {"k": "v", 2: "w"}, "n": None}
    assert all_plain(copied)


def test_plain_keeps_booleans_and_leaves_other_values_alone():
    when = datetime.date(2024, 5, 1)
    copied = plain({"flag": True, "pair": ("a", False), "when": when})
    assert copied["flag"] is True and copied["pair"] == ["a", False] and isinstance(copied["pair"][1], bool)
    assert copied["when"] is when


@pytest.mark.skipif(CORE >= (2, 21), reason="ansible-core 2.21+ has INJECT_INVOCATION")
@pytest.mark.parametrize("task_vars", [None, {}, {"ansible_inject_invocation": False}])
def test_invocation_is_always_injected_before_inject_invocation_existed(task_vars):
    assert injects_invocation(task_vars) is True


@pytest.mark.skipif(CORE < (2, 21), reason="INJECT_INVOCATION is new in ansible-core 2.21")
@pytest.mark.parametrize(
    ("task_vars", "expected"),
    [({}, False), ({"ansible_inject_invocation": True}, True), ({"ansible_inject_invocation": False}, False)],
)
def test_invocation_follows_inject_invocation(task_vars, expected, monkeypatch):
    monkeypatch.delenv("ANSIBLE_INJECT_INVOCATION", raising=False)
    assert injects_invocation(task_vars) is expected


@pytest.mark.skipif(CORE < (2, 21), reason="INJECT_INVOCATION is new in ansible-core 2.21")
def test_inject_invocation_from_the_environment(monkeypatch):
    monkeypatch.setenv("ANSIBLE_INJECT_INVOCATION", "true")
    assert injects_invocation({}) is True


# Empty connection options: an option templated to "" falls back to the environment, and says so when it cannot


EMPTY_URL = (
    "tenant_url is empty and the TINES_TENANT_URL (or TINES_TENANT) environment variable is not set either "
    "(an empty option falls back to it): give the option a value or set the variable"
)
EMPTY_KEY = (
    "api_key is empty and the TINES_API_KEY environment variable is not set either "
    "(an empty option falls back to it): give the option a value or set the variable"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"tenant_url": "", "api_key": "k-123"}, EMPTY_URL),
        ({"tenant_url": "  ", "api_key": "k-123"}, EMPTY_URL),
        ({"tenant_url": "https://acme.tines.com", "api_key": ""}, EMPTY_KEY),
        ({"tenant_url": "https://acme.tines.com", "api_key": " \n"}, EMPTY_KEY),
        (
            {"api_key": "k-123"},
            "tenant_url is required: set the option or the TINES_TENANT_URL (or TINES_TENANT) environment variable",
        ),
    ],
    ids=["empty url", "blank url", "empty key", "blank key", "missing url"],
)
def test_an_empty_option_without_a_variable_says_it_is_empty_on_both_paths(args, message, make_action, run_module):
    args = dict(args, case_id=7)
    in_process = make_action(dict(args), info=True, run=run_metadata_info).run(task_vars={})
    _code, module = run_module(
        lambda: run_as_module(INFO_ARGUMENT_SPEC, run_metadata_info), args, "tines.cases.tines_case_metadata_info"
    )
    assert in_process["failed"] is True and in_process["msg"] == message
    assert module["msg"] == message


@pytest.mark.parametrize(
    ("given", "environment", "expected"),
    [
        ("", {"TINES_TENANT_URL": "https://a.tines.com"}, "https://a.tines.com"),
        ("  ", {"TINES_TENANT_URL": " ", "TINES_TENANT": "b.tines.com"}, "b.tines.com"),
        ("", {}, ""),
        (None, {"TINES_TENANT_URL": "https://a.tines.com"}, None),
        ("https://c.tines.com", {"TINES_TENANT_URL": "https://a.tines.com"}, "https://c.tines.com"),
    ],
    ids=["empty", "blank, first variable blank too", "no variable", "null stays null", "given wins"],
)
def test_an_empty_option_falls_back_to_the_environment(given, environment, expected):
    filled = with_environment_fallbacks({"tenant_url": given, "api_key": "k-123"}, environment)
    assert filled == {"tenant_url": expected, "api_key": "k-123"}
