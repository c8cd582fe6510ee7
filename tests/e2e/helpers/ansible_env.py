"""The private ansible-playbook set-up shared by the end-to-end tests and the benchmarks.

Nothing of the user's reaches ansible-playbook: an empty ansible.cfg, the
collection from this checkout on a collections path of its own, the caller's
callback plugins and the test connection and become plugins, no colour, and the temporary
directories and rate budgets (XDG_RUNTIME_DIR) inside the caller's work directory.

    tree = make_tree(root)     # {"root", "config", "inventories": {path: inventory file}}
    env = environment(tree, work, callbacks="tines_record")
    subprocess.run(playbook_command(tree, "inprocess", {"x": 1}, "play.yml"), env=env, cwd=work)

The benchmarks import it with tests/e2e on sys.path, as ``helpers.ansible_env``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HELPERS = Path(__file__).resolve().parent
REPO_ROOT = HELPERS.parents[2]
CALLBACK_PLUGINS = HELPERS / "callback_plugins"
CONNECTION_PLUGINS = HELPERS / "connection_plugins"
BECOME_PLUGINS = HELPERS / "become_plugins"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
# How the collection's action plugins run: in-process on "local"; shipped as modules on the test connection,
# which runs locally but is not called "local".
CONNECTIONS = {"inprocess": "local", "module": "tines_test_remote"}


def make_tree(root, module_python=None):
    """Under `root`: ansible_collections/tines/cases (a symlink to this checkout), an empty config, inventories.

    The in-process path runs in the controller's Python whatever the inventory says;
    the module path ships the module to `module_python` (default: this Python).
    """
    root = Path(root)
    namespace = root / "ansible_collections" / "tines"
    namespace.mkdir(parents=True)
    (namespace / "cases").symlink_to(REPO_ROOT, target_is_directory=True)
    config = root / "ansible.cfg"
    config.write_text("# empty: keeps any ansible.cfg in the working directory or HOME out\n")
    interpreters = {"inprocess": sys.executable, "module": module_python or sys.executable}
    inventories = {}
    for path, connection in CONNECTIONS.items():
        inventories[path] = root / f"inventory-{path}.ini"
        inventories[path].write_text(
            f"localhost ansible_connection={connection} ansible_python_interpreter={interpreters[path]}\n"
        )
    return {"root": root, "config": config, "inventories": inventories}


def environment(tree, work, *, callbacks, callback_plugins=(CALLBACK_PLUGINS,), runtime=None, overrides=None):
    """ansible-playbook's environment: the caller's without ANSIBLE_* and TINES_*, plus the private set-up.

    `work` holds the run's temporary directories. `runtime` (default `work`/runtime)
    becomes XDG_RUNTIME_DIR, where the collection keeps its rate budgets: runs that
    share it share budgets, as runs of one user on one host do. `overrides` come
    last; a None value removes the variable.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "TINES_"))}
    env.update(
        ANSIBLE_CONFIG=str(tree["config"]),
        ANSIBLE_COLLECTIONS_PATH=str(tree["root"]),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
        ANSIBLE_CONNECTION_PLUGINS=str(CONNECTION_PLUGINS),
        ANSIBLE_BECOME_PLUGINS=str(BECOME_PLUGINS),
        ANSIBLE_CALLBACK_PLUGINS=os.pathsep.join(str(path) for path in callback_plugins),
        ANSIBLE_CALLBACKS_ENABLED=callbacks,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="False",
        # The inventories are INI files; trying the other inventory plugins first costs each run 0.1 s.
        ANSIBLE_INVENTORY_ENABLED="ini",
        ANSIBLE_LOCAL_TEMP=str(Path(work) / "local-tmp"),
        ANSIBLE_REMOTE_TEMP=str(Path(work) / "remote-tmp"),
        XDG_RUNTIME_DIR=str(runtime or Path(work) / "runtime"),
    )
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def playbook_command(tree, path, extra_vars, playbook, *options):
    """The ansible-playbook command line for `playbook` on the inventory of `path` ("inprocess" or "module")."""
    if path not in CONNECTIONS:
        raise ValueError(f"path must be one of {sorted(CONNECTIONS)}, not {path!r}")
    variables = extra_vars if isinstance(extra_vars, str) else json.dumps(extra_vars)
    return [ANSIBLE_PLAYBOOK, "-i", str(tree["inventories"][path]), "-e", variables, *options, os.fspath(playbook)]
