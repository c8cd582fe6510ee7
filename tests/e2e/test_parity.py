"""The two execution paths give the same results: successes, failures, argument errors, warnings and `invocation`.

The same playbook runs in-process and as a shipped module against the same tenant
state; every task's result must be identical, key for key, on the ansible-core
release under test (with INJECT_INVOCATION on and off where the release has it).
"""

from __future__ import annotations

import ansible.release
import pytest
from helpers.plays import INFO, play, task

CORE = tuple(int(part) for part in ansible.release.__version__.split(".")[:2])
# INJECT_INVOCATION came with ansible-core 2.21, off by default. Before it, modules always return `invocation`
# whatever the variable says ("true" there is the default again; "false" must change nothing on either path).
INJECT = [None, "true", "false"] if CORE >= (2, 21) else [None, "false"]

SEED = {42: {"source": "edr", "ticket": "OPS-1"}, 7: {}}
TAG = {"triage": "done"}
TASKS = [
    task("adds a key", case_id=42, metadata=TAG, diff=True),
    task("predicts in check mode", case_id=7, metadata=TAG, check_mode=True, diff=True),
    task("case not found", case_id=999, metadata=TAG, ignore_errors=True),
    task("misspelled option", case_id=42, metadata=TAG, overwirte=True, ignore_errors=True),
    task("option of the wrong type", case_id=42, metadata=TAG, timeout="soon", ignore_errors=True),
    task("required option missing", metadata=TAG, ignore_errors=True),
    task("choice not allowed", case_id=42, metadata=TAG, state="gone", ignore_errors=True),
    task("nested value refused", case_id=42, metadata={"a": {"b": "c"}}, ignore_errors=True),
    task("bool case_id refused", case_id=True, metadata=TAG, ignore_errors=True),
    task("certificate check off warns", case_id=7, metadata=TAG, validate_certs=False),
    task("reads a case", module=INFO, case_id=42),
    task("read of a missing case", module=INFO, case_id=999, ignore_errors=True),
]


def results_on(path, sim, run_playbook, env):
    sim.reset(cases=SEED)
    result = run_playbook(play(TASKS), path=path, env=env)
    assert result.rc == 0, result
    return {record["task"]: (record["status"], record["result"]) for record in result.results}


@pytest.mark.long_running
@pytest.mark.parametrize("inject", INJECT)
def test_both_paths_give_the_same_results(sim, run_playbook, inject):
    env = {"ANSIBLE_INJECT_INVOCATION": inject}
    inprocess = results_on("inprocess", sim, run_playbook, env)
    module = results_on("module", sim, run_playbook, env)
    assert list(inprocess) == [t["name"] for t in TASKS]
    for name in inprocess:
        assert inprocess[name] == module[name], f"{name}\n in-process: {inprocess[name]}\n module:     {module[name]}"
    assert inprocess["misspelled option"][1]["msg"].startswith(
        "Unsupported parameters for (tines.cases.tines_case_metadata) module: overwirte."
    )
    assert inprocess["certificate check off warns"][1]["warnings"] == [
        "validate_certs is false: the tenant's TLS certificate is not verified"
    ]
    assert "deprecations" not in inprocess["adds a key"][1], "no deprecated ansible-core API is used"
    invocation = inprocess["adds a key"][1].get("invocation")
    if CORE < (2, 21) or inject == "true":
        assert invocation["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert invocation["module_args"]["case_id"] == 42
    else:
        assert invocation is None, "from ansible-core 2.21, INJECT_INVOCATION is off by default"
