"""Run the integration tests against other ansible-core releases, each in its own venv under .nox/.

    .venv/bin/nox -s "integration(2.16)"              # the lowest release meta/runtime.yml declares
    .venv/bin/nox -s "integration(2.16)" -- -k purge   # arguments after -- go to pytest

The repo's .venv (ansible-core 2.19) runs the same tests directly; scripts/test.sh
runs both. Venvs are reused, and their packages are installed again only when
the requirement files change.
"""

from __future__ import annotations

import hashlib
import pathlib

import nox

ROOT = pathlib.Path(__file__).parent
REQUIREMENTS = ROOT / "tests" / "requirements-integration.txt"
CORE_RELEASES = ["2.16", "2.19"]

nox.options.reuse_venv = "yes"
nox.options.sessions = ["integration(2.16)"]


def _install_once(session, core_requirement):
    """pip install unless this venv already holds exactly these requirements."""
    digest = hashlib.sha256(core_requirement.encode())
    for path in (REQUIREMENTS, ROOT / "requirements.txt"):  # the first includes the second
        digest.update(path.read_bytes())
    stamp = pathlib.Path(session.virtualenv.location) / ".tines-cases-stamp"
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        session.log("requirements unchanged since the last install; not reinstalling")
        return
    session.install("--upgrade", "pip")
    session.install(core_requirement, "-r", str(REQUIREMENTS))
    session.run("python", "-m", "pip", "check")
    stamp.write_text(digest.hexdigest())


@nox.session(python=None)
@nox.parametrize("core", CORE_RELEASES, ids=CORE_RELEASES)
def integration(session, core):
    """pytest tests/e2e -n 2 with ansible-core <core>.x as ansible-playbook."""
    major, minor = (int(part) for part in core.split("."))
    _install_once(session, "ansible-core>=%d.%d,<%d.%d" % (major, minor, major, minor + 1))
    # Fail here, not in some test, if ansible-playbook on PATH is not the release asked for.
    session.run(
        "python",
        "-c",
        "import ansible.release as r, shutil, sys; print('ansible-core', r.__version__, 'ansible-playbook at',"
        " shutil.which('ansible-playbook')); sys.exit(not r.__version__.startswith('%s.'))" % core,
    )
    session.run("pytest", "tests/e2e", "-n", "2", "-ra", *session.posargs)
