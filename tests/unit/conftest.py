"""Make `ansible_collections.tines.cases` importable under plain `pytest tests/unit`.

The repo root is the collection root, so nothing on sys.path contains an
`ansible_collections/tines/cases` directory. ansible-test runs the tests from
such a tree (and then the import below succeeds and we do nothing); for plain
pytest we build a throw-away tree holding a symlink to the repo and put it on
sys.path. ANSIBLE_COLLECTIONS_PATH is set too, for code that starts Ansible's
own collection loader, which ignores sys.path.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

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
