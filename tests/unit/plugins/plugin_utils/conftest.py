"""Fakes for driving an InProcessAction's run() without a playbook.

The action plugin gets a small task and connection holding only what ActionBase
and InProcessAction read, and Ansible's own DataLoader, Templar, PlayContext and
sh shell plugin. RUN (the task, which would make HTTP requests), _execute_module
(shipping the module) and _remove_tmp_path (a command on the target) are
replaced by recorders, so a test sees what would have run and with what.
"""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.plugins.shell.sh import ShellModule
from ansible.template import Templar
from ansible_collections.tines.cases.plugins.action import tines_case_metadata, tines_case_metadata_info

REMOTE_TMP = "/home/deploy/.ansible/tmp/ansible-tmp-1-2-3"
# Set on the machine running the tests, they would leak into the tests.
OUTSIDE_VARIABLES = (
    "TINES_TENANT_URL",
    "TINES_TENANT",
    "TINES_API_KEY",
    "TINES_RATE_LIMIT",
    "ANSIBLE_INJECT_INVOCATION",
)


class FakeTask:
    """The attributes of a Task that ActionBase.run and InProcessAction read."""

    def __init__(self, action, args, environment=None, async_val=0, check_mode=False, diff=False):
        self.action = action
        self.args = args
        self.environment = environment
        self.async_val = async_val
        self.check_mode = check_mode
        self.diff = diff


class FakeConnection:
    """A connection of the given transport, with Ansible's sh shell plugin and a remote tmp dir in use."""

    def __init__(self, transport, has_native_async=False):
        self.transport = transport
        self.has_native_async = has_native_async
        self._shell = ShellModule()
        self._shell.tmpdir = REMOTE_TMP


class Recorder:
    """Stands in for a function: records each call, then returns (or raises) what `answer(*args)` gives."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.answer(*args, **kwargs)


def changed_nothing(params, check_mode, diff_mode, environment):
    return {"changed": False, "case_id": params["case_id"], "metadata": {}}


def module_ran(**kwargs):
    return {"changed": True, "shipped": True}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in OUTSIDE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_action():
    """`make_action(args, transport=..., ...)`: an action plugin whose RUN, module and tmp removal are recorders.

    `run` answers for the task (a function of RUN's arguments: it may return a
    result or raise TinesError). `info=True` gives tines_case_metadata_info's plugin.
    """

    def make(
        args,
        transport="local",
        environment=None,
        async_val=0,
        check_mode=False,
        diff=False,
        has_native_async=False,
        run=changed_nothing,
        info=False,
    ):
        plugin = tines_case_metadata_info if info else tines_case_metadata
        loader = DataLoader()
        action = plugin.ActionModule(
            task=FakeTask(plugin.ActionModule.MODULE, args, environment, async_val, check_mode, diff),
            connection=FakeConnection(transport, has_native_async),
            play_context=PlayContext(),
            loader=loader,
            templar=Templar(loader=loader),
            shared_loader_obj=None,
        )
        action.RUN = Recorder(run)
        action._execute_module = Recorder(module_ran)
        action._remove_tmp_path = Recorder(lambda *args, **kwargs: None)
        return action

    return make
