"""Make `ansible_collections.tines.cases` importable under plain `pytest tests/unit`; run modules in-process.

The repo root is the collection root, so nothing on sys.path contains an
`ansible_collections/tines/cases` directory. ansible-test runs the tests from
such a tree (and then the import below succeeds and we do nothing); for plain
pytest we build a throw-away tree holding a symlink to the repo and put it on
sys.path. ANSIBLE_COLLECTIONS_PATH is set too, for code that starts Ansible's
own collection loader, which ignores sys.path.

The `run_module` fixture runs a module's main() the way it runs on a target,
so tests can hold the in-process path to what the module path reports.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import parameters
from ansible.module_utils.common import warnings as module_warnings

try:
    from ansible.module_utils import _internal as module_internal  # ansible-core 2.19+
except ImportError:
    module_internal = None

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_importable():
    try:
        import ansible_collections.tines.cases.plugins  # noqa: F401
    except ImportError:
        return False
    return True


def _add_collection_tree():
    tree = tempfile.mkdtemp(prefix="tines-cases-unit-")
    atexit.register(shutil.rmtree, tree, True)
    os.makedirs(os.path.join(tree, "ansible_collections", "tines"))
    os.symlink(REPO_ROOT, os.path.join(tree, "ansible_collections", "tines", "cases"))
    sys.path.insert(0, tree)
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
        path for path in (tree, os.environ.get("ANSIBLE_COLLECTIONS_PATH")) if path
    )
    # A failed import attempt may have cached a namespace package without our tree.
    for name in [
        name for name in sys.modules if name == "ansible_collections" or name.startswith("ansible_collections.")
    ]:
        del sys.modules[name]
    if not _collection_importable():
        raise RuntimeError("tests/unit/conftest.py: cannot import ansible_collections.tines.cases from %s" % tree)


if not _collection_importable():
    _add_collection_tree()


def _warning_texts(warnings):
    """Module warnings as text: ansible-core 2.19+ serialises them as WarningSummary objects."""
    return [item["event"]["msg"] if isinstance(item, dict) else item for item in warnings]


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() in this process, as it runs on a target: `(exit code, result)`.

    The arguments go through JSON as Ansible sends them, AnsibleModule parses them,
    and the result is read back from what the module prints. Its log calls and the
    warnings kept in module globals by ansible-core are isolated to the test.
    From 2.19, module_utils code run in a controller process shows its warnings
    instead of returning them: the fixture makes the module believe it is on a target.
    """
    if getattr(module_internal, "is_controller", False):
        monkeypatch.setattr(module_internal, "is_controller", False)
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: None)
    monkeypatch.setattr(module_warnings, "_global_warnings", type(module_warnings._global_warnings)())
    monkeypatch.setattr(module_warnings, "_global_deprecations", type(module_warnings._global_deprecations)())

    def run(main, args, module_name="tines.cases.tines_case_metadata", check_mode=False, diff=False):
        internal = {"_ansible_module_name": module_name, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        if "inject_invocation" in parameters.PASS_VARS:  # ansible-core 2.21+ reports invocation only when asked
            internal["_ansible_inject_invocation"] = True
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": {**args, **internal}}).encode())
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)  # 2.19+: how to decode them
        output = io.StringIO()
        with contextlib.redirect_stdout(output), pytest.raises(SystemExit) as exited:
            main()
        result = json.loads(output.getvalue())
        if "warnings" in result:
            result["warnings"] = _warning_texts(result["warnings"])
        return exited.value.code, result

    return run
