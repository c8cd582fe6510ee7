"""What the test sessions need on machines that reach the package registries and nothing else.

noxfile.py calls set_up() before it defines a session, and prepare_ansible_test() before each ansible-test
run. Each piece says why it exists: remove it when its reason goes. Standard library only, so that
scripts/bootstrap.sh can ask it for pip's index (`python tests/nox_offline.py pip-index-url`).
"""

from __future__ import annotations

import configparser
import functools
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ansible-test creates its virtualenvs without pip and bootstraps pip by running a "get-pip" script that it
# downloads from a host out of reach here, unless ~/.ansible/test/cache/get_pip_<version>.py exists. This
# stand-in does what that script does: pip from ensurepip installs the packages named (pip==<version> ...).
# ansible-test passes pip only HOME, PATH and LC_ALL, so pip's configuration files apply, its PIP_* variables not.
GET_PIP_MARKER = "tines.cases stand-in for ansible-test's get-pip script"
GET_PIP = f'''"""{GET_PIP_MARKER} (written by tests/nox_offline.py)."""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
'''

# ansible-core 2.22's pylint sanity requirements take dill from a code host's archive (a build not released
# yet), which pip cannot reach here and which fails the whole sanity run. The released dill from the index
# supports the Pythons the sanity sessions use (3.11, 3.13).
URL_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+) @ https?://(?!pypi\.org|files\.pythonhosted\.org)\S+", re.M)


def set_up(nox):
    """Settings for every session, before any is defined."""
    # uv would download a Python build from a code host for a missing interpreter: out of reach here, and
    # a missing interpreter should be reported (skipped, or failed with CI=true), not replaced.
    nox.options.download_python = "never"
    # Bytecode installed with the packages. Where PYTHONDONTWRITEBYTECODE is set (these machines and CI set
    # it), nothing else writes it, and every ansible-playbook run would compile ansible-core afresh: about
    # 0.8 s of CPU each, half of a short run.
    os.environ.setdefault("UV_COMPILE_BYTECODE", "1")
    index = pip_index_url()
    if index:
        os.environ["UV_DEFAULT_INDEX"] = index
    _prepend_path(Path(sys.executable).parent)
    _prepend_path(_pyenv_pythons())


def pip_index_url():
    """pip's index-url for uv, which reads no pip configuration (None: uv's own default, or already set).

    Where pip is pointed at a mirror, that is the registry these machines reach. extra-index-url is not
    carried over: uv would prefer those indexes to the default one.
    """
    if os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL"):
        return None
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    xdg = os.environ.get("XDG_CONFIG_HOME", os.path.expanduser("~/.config"))
    files = [f"{d}/pip/pip.conf" for d in reversed(os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":"))]
    files += ["/etc/pip.conf", os.path.expanduser("~/.pip/pip.conf"), f"{xdg}/pip/pip.conf"]
    parser = configparser.RawConfigParser()
    parser.read(files + [os.environ.get("PIP_CONFIG_FILE", "")])
    for section in ("install", "global"):
        if parser.has_option(section, "index-url"):
            return parser.get(section, "index-url")
    return None


def _prepend_path(directory):
    """Put `directory` first on PATH (once).

    The venv running nox comes first so that antsibull-nox, which finds collections with the ansible-galaxy
    on PATH, finds one when nox is called by its path (.venv/bin/nox) without the venv activated.
    """
    entries = os.environ.get("PATH", "").split(os.pathsep)
    if str(directory) not in entries:
        os.environ["PATH"] = os.pathsep.join([str(directory), *filter(None, entries)])


def _pyenv_pythons():
    """A directory of python3.X links to pyenv's interpreters (the newest patch release of each).

    ansible-core 2.20+ needs Python 3.12 or 3.13, and the module-target sessions 3.9. pyenv keeps them
    under $PYENV_ROOT/versions, but its shims on PATH exit 127 for a version that is not activated, so
    nox, uv and ansible-test would not find them.
    """
    links = ROOT / ".nox" / "pythons"
    links.mkdir(parents=True, exist_ok=True)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for python in sorted(pyenv.glob("versions/3.*/bin/python3.*[0-9]"), key=_version_key):
        link = links / python.name
        if not (link.is_symlink() and os.readlink(link) == str(python)):
            staged = links / f".{python.name}.{os.getpid()}"
            staged.symlink_to(python)
            os.replace(staged, link)  # parallel sessions may do this at the same time
    return links


def _version_key(path):
    return [int(part) for part in re.findall(r"\d+", path.parent.parent.name)]


def prepare_ansible_test():
    """Before an ansible-test run: the get-pip stand-in for each ansible-test, requirements from the index."""
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for package in ROOT.glob(".nox/*/lib/python3*/site-packages/ansible_test"):
        version = re.search(r"pip='([0-9.]+)'", (package / "_internal" / "python_requirements.py").read_text())
        stand_in = cache / f"get_pip_{version[1].replace('.', '_')}.py"
        if not stand_in.exists() or GET_PIP_MARKER in stand_in.read_text():  # a real one is left alone
            _write(stand_in, GET_PIP)
        for requirements in (package / "_data" / "requirements").glob("*.txt"):
            text = requirements.read_text()
            if URL_REQUIREMENT.search(text):
                _write(requirements, URL_REQUIREMENT.sub(r"\1  # from the index", text))


def after_ansible_test(check=None):
    """After an ansible-test run: drop its scratch tree tests/output/.tmp (venvs, copies), then run `check`.

    antsibull-nox then copies tests/output back into the checkout, walking the tree bottom-up, which fails
    ("No such file or directory") on directories nested two deep: .tmp holds them, the results do not.
    """

    def after():
        shutil.rmtree("tests/output/.tmp", ignore_errors=True)
        if check:
            check()

    return after


def _write(path, text):
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_text(text)
    os.replace(staged, path)


def override_requirement(nox, session_name, requirement):
    """Have uv install `requirement` in a session antsibull-nox defines, whatever that session asks for.

    antsibull-nox asks for `ansible-core>=2.22,<2.23`, which a release candidate (2.22.0rc1, while 2.22 has
    no release) does not meet; uv's override replaces it.
    """
    func = nox.registry.get()[session_name]
    run = func.func

    @functools.wraps(run)
    def run_with_override(session):
        override = Path(session.create_tmp()) / "uv-override.txt"
        override.write_text(requirement + "\n")
        session.env["UV_OVERRIDE"] = str(override.resolve())
        run(session)

    func.func = run_with_override


if __name__ == "__main__" and sys.argv[1:] == ["pip-index-url"]:
    print(pip_index_url() or "")
