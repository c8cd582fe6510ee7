"""Test sessions of the tines.cases collection: antsibull-nox's, from antsibull-nox.toml, plus ours.

    nox -l                                  list every session with its description
    nox -s lint                             ruff format + ruff check, yamllint (locally, formatters
                                            rewrites files; with CI=true it only checks)
    nox -s e2e-2.22                         the e2e suite on ansible-core 2.22 (Python 3.13)
    nox -s e2e-2.19 -- -k purge -x          arguments after -- go to pytest (or ansible-test)
    nox -s ansible-test-sanity-2.19

scripts/test.sh runs all sessions in order and prints a summary table. Venvs live in .nox/
and are reused; nox creates them with uv when it is installed (requirements-dev.txt has it).

Interpreters: sessions need Python 3.11 (ansible-core 2.16-2.19), 3.12 (2.20, 2.21), 3.13 (2.22)
and, as module targets, 3.9 and 3.13. Each is taken from PATH (`python3.12`) or else from
pyenv's versions/ directory. A session whose interpreter is missing is skipped and says which
one; with CI=true it fails instead, so CI cannot pass with part of the matrix left out.
"""

from __future__ import annotations

import configparser
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import antsibull_nox
import nox

# antsibull-nox finds the collections with the ansible-galaxy on PATH: the one of the venv running
# nox (.venv/bin) serves when nox is called by its path and that venv is not activated.
_NOX_BIN = os.path.dirname(sys.executable)
if _NOX_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(filter(None, [_NOX_BIN, os.environ.get("PATH")]))

antsibull_nox.load_antsibull_nox_toml()

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI") == "true"
NOTES_ENV = "TINES_TEST_NOTES_DIR"  # scripts/test.sh reads one note per session from there

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
# Never let nox (through uv) download an interpreter: only the registries are reachable.
nox.options.download_python = "never"
# Install bytecode with the packages. Where PYTHONDONTWRITEBYTECODE is set (as on the CI machines),
# nothing would ever write it, and every ansible-playbook run would compile ansible-core afresh:
# about 0.8 s of CPU per run, half of a short run.
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")

# --- versions of the tools the sessions install ----------------------------------------------

CORE = {
    "2.16": "ansible-core>=2.16,<2.17",
    "2.17": "ansible-core>=2.17,<2.18",
    "2.18": "ansible-core>=2.18,<2.19",
    "2.19": "ansible-core>=2.19,<2.20",
    "2.20": "ansible-core>=2.20,<2.21",
    "2.21": "ansible-core>=2.21,<2.22",
    # The newest release line; a pre-release in the specifier lets pip and uv take one.
    "2.22": "ansible-core>=2.22.0rc1,<2.23",
}
# Controller Python for each ansible-core release line.
CONTROLLER_PYTHON = {
    "2.16": "3.11",
    "2.17": "3.11",
    "2.18": "3.11",
    "2.19": "3.11",
    "2.20": "3.12",
    "2.21": "3.12",
    "2.22": "3.13",
}
ANTSIBULL_CHANGELOG = "antsibull-changelog>=0.33,<0.37"
ANTSIBULL_DOCS = "antsibull-docs>=2.16,<3"
ANSIBLE_BUILDER = "ansible-builder>=3.1,<4"

E2E_REQUIREMENTS = ROOT / "tests" / "requirements-integration.txt"
PYTEST_REQUIREMENTS = ROOT / "tests" / "requirements-pytest.txt"

# The e2e suite (tests/e2e: real ansible-playbook runs against the simulator). The whole suite
# runs on the lowest release meta/runtime.yml declares, on 2.19 and on the newest; the others
# run this smoke set. Every e2e test runs on both execution paths (the ansible_path fixture).
E2E_SMOKE = [
    "tests/e2e/test_lifecycle.py",  # every state/overwrite/purge row: check, apply, check, apply
    "tests/e2e/test_credentials.py",  # module_defaults with the action group, env fallbacks, auth headers
    "tests/e2e/test_info.py",  # the info module
]
E2E_FULL = {"2.16", "2.19", "2.22"}
# pytest-xdist workers for the e2e sessions. Many e2e tests wait (on rate windows, retries, timeouts),
# so two workers per core of the 2-core CI machines: the whole suite on 2.19 took 268 s with 4
# workers and 315 s with 2 on an idle machine. TINES_E2E_WORKERS=N overrides it.
E2E_WORKERS = os.environ.get("TINES_E2E_WORKERS", "4")
# Module targets: the smoke set on the module path with the module run by another Python.
TARGET_PYTHONS = ["3.9", "3.13"]
TARGET_CORE = "2.19"


# --- interpreters --------------------------------------------------------------------------


def _pyenv_root():
    return os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def _version_key(path):
    return [int(part) for part in re.findall(r"\d+", Path(path).parent.parent.name)]


def _find_python(version):
    """Path of a working python<version>: the one running nox, pyenv's newest, else one on PATH.

    pyenv's shims on PATH are passed over (its versions/ directory has the real interpreters,
    and an inactive shim costs a second or two only to exit 127).
    """
    if "%d.%d" % sys.version_info[:2] == version:
        return sys.executable
    candidates = sorted(glob.glob(f"{_pyenv_root()}/versions/{version}.*/bin/python{version}"), key=_version_key)[::-1]
    on_path = shutil.which(f"python{version}")
    if on_path and f"{os.sep}shims{os.sep}" not in on_path:
        candidates.append(on_path)
    for candidate in filter(None, candidates):
        try:
            proc = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue  # pyenv's inactive shims exit 127; a broken path raises
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


PYTHONS = {version: _find_python(version) for version in ("3.9", "3.11", "3.12", "3.13")}


def _missing_python_message(version, needed_by):
    return (
        f"Python {version} not found (no working python{version} on PATH and none under"
        f" {_pyenv_root()}/versions/{version}.*); {needed_by} needs it"
    )


def _session(name, python_version, needed_by, *, also_needs=()):
    """Register `func` as session `name` on Python <python_version>.

    When that interpreter (or one in also_needs) is missing, the session registered instead
    says what it skipped (and fails with CI=true).
    """

    def decorate(func):
        missing = [version for version in (python_version, *also_needs) if not PYTHONS[version]]
        if not missing:
            return nox.session(name=name, python=PYTHONS[python_version], default=True)(func)

        def report_missing(session):
            message = "; ".join(_missing_python_message(version, needed_by) for version in missing)
            _note(session, f"{'failed (CI=true)' if IN_CI else 'skipped'}: Python {', '.join(missing)} not found")
            if IN_CI:
                session.error(f"{message} (CI=true: a missing interpreter fails the run)")
            session.skip(message)

        report_missing.__doc__ = f"{func.__doc__} [SKIPPED here: Python {', '.join(missing)} not found]"
        return nox.session(name=name, python=False, default=True)(report_missing)

    return decorate


# --- uv and the machine's pip configuration -------------------------------------------------


def _pip_index_url():
    """index-url as pip would read it (environment, then config files by pip's precedence)."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [os.path.join(d, "pip", "pip.conf") for d in reversed(xdg_dirs)] + ["/etc/pip.conf"]
    files += [
        os.path.expanduser("~/.pip/pip.conf"),
        os.path.join(os.environ.get("XDG_CONFIG_HOME", os.path.expanduser("~/.config")), "pip", "pip.conf"),
    ]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(os.environ["PIP_CONFIG_FILE"])
    parser = configparser.RawConfigParser()
    parser.read(files)
    for section in ("install", "global"):
        if parser.has_option(section, "index-url"):
            return parser.get(section, "index-url")
    return None


# uv does not read pip's configuration. Where pip is pointed at another index (a mirror that is
# the only registry reachable, say), point uv at it too. extra-index-url is not carried over:
# uv prefers extra indexes to the default one, which would change what gets installed.
if not (os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL")):
    _index = _pip_index_url()
    if _index:
        os.environ["UV_DEFAULT_INDEX"] = _index


# --- helpers -------------------------------------------------------------------------------


def _note(session, text):
    """One line for the summary table of scripts/test.sh."""
    directory = os.environ.get(NOTES_ENV)
    if directory:
        Path(directory, session.name).write_text(text + "\n")
    session.log(f"note: {text}")


def _galaxy():
    import yaml  # nox's own environment has PyYAML through antsibull-nox

    return yaml.safe_load((ROOT / "galaxy.yml").read_text())


def _modules():
    return sorted(path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__")


def _install_core(session, core, *extra):
    session.install(CORE[core], *extra)
    version = session.run(
        "python", "-c", "import ansible.release as r; print(r.__version__)", silent=True, log=False
    ).strip()
    if not version.startswith(core + "."):
        session.error(f"asked for ansible-core {core}.x, the venv holds {version}")
    return version


def _tmp(session):
    """The session's own temporary directory (.nox/<session>/tmp), as an absolute path."""
    return Path(session.create_tmp()).resolve()


def _fresh_tmp(session, name):
    path = _tmp(session) / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _repo_files():
    """Files of the work tree as git sees them: tracked or untracked, not ignored, not deleted."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"cannot list the files of {ROOT} with git: {exc}") from exc
    names = sorted({name for name in out.decode().split("\0") if name})
    return [name for name in names if os.path.lexists(ROOT / name)]


def _copy_collection(session, name, *, keep_output=False):
    """A real copy of the collection under <tmp>/<name>/ansible_collections/tines/cases.

    ansible-test needs that layout and resolves symlinks, so a symlinked tree will not do.
    The copy holds what git sees in the work tree (so never .nox or other venvs) and is a git
    repository of its own, so ansible-test lists its files by the same .gitignore. With
    keep_output, tests/output (where ansible-test keeps the venvs of `units --venv`) survives
    from one run to the next.
    """
    galaxy = _galaxy()
    base = _tmp(session) / name
    dest = base / "ansible_collections" / galaxy["namespace"] / galaxy["name"]
    if dest.is_dir():
        for entry in dest.iterdir():
            if keep_output and entry.name == "tests":
                for sub in entry.iterdir():
                    if sub.name != "output":
                        shutil.rmtree(sub) if sub.is_dir() and not sub.is_symlink() else sub.unlink()
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    for name_ in _repo_files():
        source, target = ROOT / name_, dest / name_
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    return dest


def _junit_counts(paths):
    """(tests, failed or errored, skipped) summed over JUnit XML files."""
    tests = failed = skipped = 0
    for path in paths:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            tests += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
    return tests, failed, skipped


def _pytest(session, *args, env=None):
    """pytest with a JUnit report; fails on zero tests; notes the counts."""
    report = _tmp(session) / "junit.xml"
    report.unlink(missing_ok=True)
    session.run("pytest", "-ra", f"--junitxml={report}", *args, *session.posargs, env=env)
    tests, failed, skipped = _junit_counts([report])
    if tests == 0:
        session.error("pytest ran no test")
    return tests, failed, skipped


# --- unit and e2e tests --------------------------------------------------------------------


@_session("unit", "3.11", "the unit tests")
def unit(session):
    """pytest tests/unit (pure logic) with ansible-core 2.19, and the simulator's own tests (no Ansible in them)."""
    _install_core(session, "2.19", "-r", str(PYTEST_REQUIREMENTS), "-r", "tests/unit/requirements.txt")
    tests, _failed, skipped = _pytest(session, "tests/unit", "tests/simulator", "-n", "2")
    _note(session, f"{tests} tests, {skipped} skipped")


def _release_key(release):
    return tuple(int(part) for part in release.split("."))


def _check_requires_ansible(session, lowest):
    """meta/runtime.yml must declare the lowest release the e2e matrix tests, no lower, no higher."""
    import yaml

    declared = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    if not re.fullmatch(rf">={re.escape(lowest)}(\.0)?", declared.strip()):
        session.error(f"meta/runtime.yml requires_ansible is {declared!r}; the lowest release tested is {lowest}")


def _add_e2e_session(core):
    python_version = CONTROLLER_PYTHON[core]
    full = core in E2E_FULL
    scope = "whole suite" if full else "smoke set"

    @_session(f"e2e-{core}", python_version, f"ansible-core {core}")
    def e2e(session):
        if core == min(CORE, key=_release_key):
            _check_requires_ansible(session, core)
        version = _install_core(session, core, "-r", str(E2E_REQUIREMENTS))
        files = ["tests/e2e"] if full else E2E_SMOKE
        tests, _failed, skipped = _pytest(session, *files, "-n", E2E_WORKERS)
        _note(session, f"ansible-core {version}, Python {python_version}, {scope}: {tests} tests, {skipped} skipped")

    e2e.__doc__ = f"pytest tests/e2e ({scope}) with ansible-core {core} on Python {python_version}."


for _core in CORE:
    _add_e2e_session(_core)


def _target_venv(session, python_version):
    """A venv of python<python_version> holding requests: the module path's target Python."""
    venv = _tmp(session) / f"target-py{python_version}"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import requests, sys; print(sys.version.split()[0], 'requests', requests.__version__)"]
    if not python.exists() or subprocess.run(check, capture_output=True, check=False).returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        session.run(PYTHONS[python_version], "-m", "venv", str(venv), external=True)
        session.run(str(python), "-m", "pip", "install", "--quiet", "-r", "requirements.txt", external=True)
    session.run(*check, external=True)
    return python


def _add_target_session(python_version):
    controller = CONTROLLER_PYTHON[TARGET_CORE]

    @_session(
        f"e2e-target-py{python_version}",
        controller,
        f"the module path with target Python {python_version}",
        also_needs=(python_version,),
    )
    def e2e_target(session):
        # No requests in the controller's venv: a module-path test can only pass if its module
        # really ran under the target Python, which has it.
        version = _install_core(session, TARGET_CORE, "-r", str(PYTEST_REQUIREMENTS))
        session.run(
            "python",
            "-c",
            "import importlib.util, sys; sys.exit('the controller venv must not have requests'"
            " if importlib.util.find_spec('requests') else 0)",
        )
        target = _target_venv(session, python_version)
        env = {"TINES_TEST_TARGET_PYTHON": str(target)}
        tests, _failed, skipped = _pytest(
            session, *E2E_SMOKE, "-k", "module and not inprocess", "-n", E2E_WORKERS, env=env
        )
        _note(
            session,
            f"ansible-core {version} on {controller}, modules on Python {python_version}: {tests} tests, {skipped} skipped",
        )

    e2e_target.__doc__ = (
        f"e2e smoke set, module path only, modules run by Python {python_version}"
        f" (controller: ansible-core {TARGET_CORE}, Python {controller})."
    )


for _python in TARGET_PYTHONS:
    _add_target_session(_python)


# --- ansible-test, without containers (--venv) ---------------------------------------------

GET_PIP_STAND_IN = ROOT / "scripts" / "ansible_test_get_pip.py"
GET_PIP_MARKER = "tines.cases ansible-test get-pip stand-in"


def _prepare_ansible_test_pip(session):
    """Put our get-pip stand-in (and a pip wheel) where ansible-test looks for a cached get-pip.

    ansible-test bootstraps pip in its venvs with a get-pip script it downloads from a host
    that is not reachable here; it uses ~/.ansible/test/cache/get_pip_<version>.py first.
    """
    source = session.run(
        "python",
        "-c",
        "import ansible_test, pathlib; print((pathlib.Path(ansible_test.__file__).parent"
        " / '_internal' / 'python_requirements.py').read_text())",
        silent=True,
        log=False,
    )
    match = re.search(r"pip='([0-9.]+)'", source)
    if not match:
        session.log("ansible-test names no pip version to bootstrap; nothing to prepare")
        return
    version = match.group(1)
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    stand_in = cache / f"get_pip_{version.replace('.', '_')}.py"
    if stand_in.is_file() and GET_PIP_MARKER not in stand_in.read_text():
        session.log(f"using the existing {stand_in} (not ours: left alone)")
    elif not stand_in.is_file() or stand_in.read_bytes() != GET_PIP_STAND_IN.read_bytes():
        shutil.copyfile(GET_PIP_STAND_IN, stand_in)
        session.log(f"installed the get-pip stand-in as {stand_in}")
    if not list(cache.glob(f"pip-{version}-*.whl")):
        session.install("pip")  # uv venvs have none
        session.run(
            "python", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--dest", str(cache), f"pip=={version}",
            success_codes=[0, 1],
        )  # fmt: skip
        if not list(cache.glob(f"pip-{version}-*.whl")):
            session.warn(f"no pip {version} wheel; the stand-in falls back to ensurepip")


# A requirement that pip can only fetch from a code host, not from the package index.
_URL_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+) @ https?://(?!pypi\.org|files\.pythonhosted\.org)\S+")


def _requirements_from_index(session):
    """Let ansible-test install from the package index only.

    ansible-core 2.22's pylint sanity requirements take dill from a GitHub archive (a build with
    Python 3.15 support, not yet released), which is out of reach here; pip then fails the whole
    sanity run. In this session's own copy of ansible-test, such a line becomes the released
    package of that name; the Pythons we test on (3.11, 3.13) are supported by the releases.
    """
    data = session.run(
        "python",
        "-c",
        "import ansible_test, pathlib; print(pathlib.Path(ansible_test.__file__).parent / '_data' / 'requirements')",
        silent=True,
        log=False,
    ).strip()
    for path in sorted(Path(data).glob("*.txt")):
        lines = path.read_text().splitlines(keepends=True)
        changed = False
        for index, line in enumerate(lines):
            match = _URL_REQUIREMENT.match(line)
            if match:
                session.warn(f"{path.name}: {line.strip()} is not on the package index; using {match['name']} from it")
                lines[index] = (
                    f"{match['name']}  # from the index instead of {line.split(' @ ')[1].split('#')[0].strip()}\n"
                )
                changed = True
        if changed:
            path.write_text("".join(lines))


def _ansible_test_tree(session, core):
    version = _install_core(session, core)
    _prepare_ansible_test_pip(session)
    _requirements_from_index(session)
    if not shutil.which("shellcheck"):
        session.warn("shellcheck is missing: ansible-test skips its shellcheck sanity test")
    return version, _copy_collection(session, "ansible-test", keep_output=True)


def _add_sanity_session(core):
    python_version = CONTROLLER_PYTHON[core]

    @_session(f"ansible-test-sanity-{core}", python_version, f"ansible-core {core}")
    def sanity(session):
        version, tree = _ansible_test_tree(session, core)
        with session.chdir(tree):
            session.run(
                "ansible-test", "sanity", "--venv", "--python", python_version, "--color", "no", *session.posargs
            )
        _note(session, f"ansible-core {version}, Python {python_version}")

    sanity.__doc__ = f"ansible-test sanity --venv with ansible-core {core} on Python {python_version}."


for _core in ("2.19", "2.22"):
    _add_sanity_session(_core)


@_session("ansible-test-units-2.19", "3.11", "ansible-core 2.19")
def ansible_test_units(session):
    """ansible-test units --venv --requirements with ansible-core 2.19 on Python 3.11 (JUnit count checked)."""
    version, tree = _ansible_test_tree(session, "2.19")
    junit = tree / "tests" / "output" / "junit"
    shutil.rmtree(junit, ignore_errors=True)
    with session.chdir(tree):
        session.run(
            "ansible-test", "units", "--venv", "--requirements", "--python", "3.11", "--color", "no", *session.posargs
        )
    reports = sorted(junit.glob("*.xml"))
    if not reports:
        session.error("ansible-test units wrote no JUnit report: no test ran")
    tests, failed, skipped = _junit_counts(reports)
    session.log(f"JUnit: {tests} tests, {failed} failed or errored, {skipped} skipped")
    if tests == 0:
        session.error("ansible-test units ran no test")
    if failed:
        session.error("ansible-test units exited 0 with failed tests")
    _note(session, f"ansible-core {version}: {tests} tests, {skipped} skipped")


@_session("ansible-test-integration-2.19", "3.11", "ansible-core 2.19")
def ansible_test_integration(session):
    """ansible-test integration --venv --requirements (tests/integration/targets) with ansible-core 2.19, Python 3.11."""
    version, tree = _ansible_test_tree(session, "2.19")
    with session.chdir(tree):
        session.run(
            "ansible-test", "integration", "--venv", "--requirements", "--python", "3.11", "--color", "no",
            *session.posargs,
        )  # fmt: skip
    targets = sorted(path.name for path in (ROOT / "tests" / "integration" / "targets").glob("*/aliases"))
    _note(session, f"ansible-core {version}, {len(targets)} targets")


# --- collection build, changelog, docsite, execution environment -----------------------------

TARBALL_MUST_NOT_HOLD = re.compile(
    r"(^|/)(\.venv|\.nox|\.tox|\.pytest_cache|\.ruff_cache|\.hypothesis|\.mypy_cache|__pycache__|\.git|\.github"
    r"|\.ansible)(/|$)|\.py[co]$|\.tar\.gz$|^(\./)?(tests/output|collections|scripts|\.ci|benchmarks/results)(/|$)"
    r"|\.plugin-cache\.yaml$"
)


def _build_collection(session, dest):
    galaxy = _galaxy()
    session.run("ansible-galaxy", "collection", "build", "--output-path", str(dest), str(ROOT))
    return dest / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"


@_session("galaxy-build-install", "3.11", "ansible-galaxy")
def galaxy_build_install(session):
    """ansible-galaxy collection build + install, tarball contents, ansible-doc of each module from the install."""
    _install_core(session, "2.19")
    work = _fresh_tmp(session, "galaxy")
    tarball = _build_collection(session, work / "build")
    with tarfile.open(tarball) as archive:
        listing = archive.getnames()
    session.log(f"{tarball.name}: {len(listing)} entries, {tarball.stat().st_size // 1024} KiB")
    problems = [
        f"must not ship (add it to build_ignore in galaxy.yml): {name}"
        for name in listing
        if TARBALL_MUST_NOT_HOLD.search(name)
    ]
    required = ["MANIFEST.json", "FILES.json", _galaxy()["readme"], "COPYING", "meta/runtime.yml"]
    required += ["meta/execution-environment.yml", "requirements.txt"]
    problems += [f"the tarball lacks {name}" for name in required if name not in listing]
    installed = work / "installed"
    session.run("ansible-galaxy", "collection", "install", "--force", "--offline", "-p", str(installed), str(tarball))
    modules = _modules()
    if not modules:
        problems.append("plugins/modules/ holds no module")
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"}
    with session.chdir(work):
        for module in modules:
            text = session.run("ansible-doc", "-t", "module", f"tines.cases.{module}", env=env, silent=True)
            print("\n".join(text.splitlines()[:5]))
            if str(installed) not in text:
                problems.append(f"ansible-doc did not read tines.cases.{module} from {installed}")
    if problems:
        session.error("\n".join(problems))
    _note(session, f"{tarball.name}, {len(listing)} entries, modules: {' '.join(modules)}")


@_session("build-import-check", "3.11", "galaxy-importer")
def build_import_check(session):
    """Build the collection and import it with galaxy-importer, as Galaxy would (its own venv: it pins old tools).

    Galaxy, and so galaxy-importer, requires `repository` in galaxy.yml. The collection has no public
    repository and names none; this session builds from a copy whose galaxy.yml names the checkout
    the build comes from (a file:// URL), so that the import checks everything else.
    """
    session.install("ansible-core>=2.19,<2.20", "galaxy-importer")
    copy = _copy_collection(session, "import")
    galaxy_yml = copy / "galaxy.yml"
    if not _galaxy().get("repository"):
        galaxy_yml.write_text(galaxy_yml.read_text() + f"repository: {ROOT.as_uri()}\n")
    build = _fresh_tmp(session, "import-build")
    session.run("ansible-galaxy", "collection", "build", "--output-path", str(build), str(copy))
    (tarball,) = build.glob("*.tar.gz")
    with session.chdir(build):
        log = session.run("python", "-m", "galaxy_importer.main", tarball.name, silent=True)
    print(log)
    errors = [line for line in log.splitlines() if line.startswith("ERROR:")]
    if errors:
        session.error("galaxy-importer reported:\n" + "\n".join(errors))
    version = session.run("python", "-c", "import galaxy_importer; print(galaxy_importer.__version__)", silent=True)
    _note(session, f"galaxy-importer {version.strip()}: {tarball.name} imports cleanly")


@_session("changelog", "3.11", "antsibull-changelog")
def changelog(session):
    """antsibull-changelog lint; CHANGELOG.rst/.md up to date (or, before a release, that it renders)."""
    _install_core(session, "2.19", ANTSIBULL_CHANGELOG)
    session.run("antsibull-changelog", "--version")
    session.run("antsibull-changelog", "lint")
    import yaml

    version = _galaxy()["version"]
    changes = ROOT / "changelogs" / "changelog.yaml"
    releases = (yaml.safe_load(changes.read_text()) or {}).get("releases") or {} if changes.is_file() else {}
    tree = _copy_collection(session, "changelog")
    with session.chdir(tree):
        if version in releases:
            session.run("antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml")
            session.run("antsibull-changelog", "generate")
            stale = []
            for name in ("CHANGELOG.rst", "CHANGELOG.md"):
                committed = ROOT / name
                if not committed.is_file() or committed.read_text() != (tree / name).read_text():
                    session.run("diff", "-u", str(committed), name, external=True, success_codes=[0, 1, 2])
                    stale.append(name)
            if stale:
                session.error(f"{', '.join(stale)} stale or missing; run: antsibull-changelog generate")
            pending = sorted(path.name for path in (ROOT / "changelogs" / "fragments").glob("*.y*ml"))
            if pending:
                session.log(f"fragments not yet in any release: {', '.join(pending)}")
                _note(session, f"{version} released; {len(pending)} fragment(s) pending")
            else:
                _note(session, f"{version} released; CHANGELOG.rst/.md up to date")
        else:
            session.log(f"release {version} is not in changelogs/changelog.yaml yet; rendering it in a copy")
            session.run("antsibull-changelog", "release", "--version", version)
            # Markdown escapes the dots: v0\.2\.0.
            heading = re.compile("v" + r"\\?\.".join(re.escape(part) for part in version.split(".")))
            for name in ("CHANGELOG.rst", "CHANGELOG.md"):
                if not heading.search((tree / name).read_text()):
                    session.error(f"{name} rendered without v{version}")
            _note(session, f"{version} not released yet (run: antsibull-changelog release)")


# The docsite's only expected warnings offline: Ansible's own docs cannot be reached (intersphinx)
# and the labels that live there stay undefined.
DOCSITE_OFFLINE_WARNINGS = [
    re.compile(r"failed to reach any of the inventories"),
    re.compile(r"intersphinx inventory .* not fetchable"),
    re.compile(r"undefined label: '(ansible_configuration_settings|action_plugins|common_return_values)'"),
]


@_session("docs-build", "3.11", "the docsite build")
def docs_build(session):
    """Build the HTML docsite (antsibull-docs sphinx-init + Sphinx); any warning but the offline ones fails."""
    _install_core(session, "2.19", ANTSIBULL_DOCS)
    work = _fresh_tmp(session, "docsite")
    collections = work / "collections" / "ansible_collections" / "tines"
    collections.mkdir(parents=True)
    (collections / "cases").symlink_to(ROOT, target_is_directory=True)
    env = {"ANSIBLE_COLLECTIONS_PATH": str(work / "collections")}
    site = work / "site"
    site.mkdir(mode=0o700)
    session.run("antsibull-docs", "sphinx-init", "--use-current", "--dest-dir", str(site), "tines.cases", env=env)
    session.install("-r", str(site / "requirements.txt"))
    # build.sh runs Sphinx with -W; build without it and judge the warnings below instead.
    build = (site / "build.sh").read_text()
    strict = "-W --keep-going"
    if strict not in build:
        session.error(f"{site / 'build.sh'} no longer holds {strict!r}; update noxfile.py")
    warnings_file = work / "warnings.txt"
    (site / "build.sh").write_text(build.replace(strict, f"--keep-going -w {warnings_file}"))
    session.run("bash", str(site / "build.sh"), env=env, external=True)
    warnings = [line for line in warnings_file.read_text().splitlines() if "WARNING" in line or "ERROR" in line]
    unexpected = [line for line in warnings if not any(p.search(line) for p in DOCSITE_OFFLINE_WARNINGS)]
    index = site / "build" / "html" / "index.html"
    if not index.is_file():
        session.error(f"no {index}")
    if unexpected:
        session.error("Sphinx warnings:\n" + "\n".join(unexpected))
    pages = len(list((site / "build" / "html").rglob("*.html")))
    _note(session, f"{pages} HTML pages, {len(warnings)} known offline warnings")


EE_DIR = ROOT / "tests" / "ee"


@_session("ee-build-context", "3.11", "ansible-builder")
def ee_build_context(session):
    """ansible-builder create on tests/ee/ with the built tarball; the EE's Python requirements include requests."""
    _install_core(session, "2.19", ANSIBLE_BUILDER)
    work = _fresh_tmp(session, "ee")
    definition = work / "definition"
    shutil.copytree(EE_DIR, definition)
    tarball = _build_collection(session, work / "build")
    shutil.copyfile(tarball, definition / "tines-cases.tar.gz")
    context = work / "context"
    session.run("ansible-builder", "--version")
    session.run(
        "ansible-builder", "create", "-f", str(definition / "execution-environment.yml"), "--context", str(context),
        "--output-filename", "Containerfile", "-v", "3",
    )  # fmt: skip
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    problems = [
        f"the build context lacks {name}"
        for name in ("src/tines-cases.tar.gz", "requirements.yml", "scripts/introspect.py")
        if not (build / name).exists()
    ]
    if "ansible-galaxy collection install" not in containerfile:
        problems.append("the Containerfile installs no collection")
    # What a real build does next: install the collections, then read their Python requirements.
    installed = work / "installed"
    session.run(
        "ansible-galaxy",
        "collection",
        "install",
        "--offline",
        "-p",
        str(installed),
        str(build / "src" / "tines-cases.tar.gz"),
    )
    requirements = session.run(
        "python", str(build / "scripts" / "introspect.py"), "introspect", "--sanitize", str(installed), silent=True
    )
    print(requirements)
    import yaml

    python_requirements = (yaml.safe_load(requirements) or {}).get("python") or []
    found = [line for line in python_requirements if re.match(r"requests\b.*# from collection tines\.cases$", line)]
    if not found:
        problems.append("the EE's Python requirements lack requests from tines.cases")
    if problems:
        session.error("\n".join(problems))
    _note(
        session, f"ansible-builder create OK; EE Python requirements: {found[0].split('#')[0].strip()} from tines.cases"
    )


# --- shell and demo ------------------------------------------------------------------------


@nox.session(name="shellcheck", python=False, default=True)
def shellcheck(session):
    """shellcheck every shell script in the repository (shellcheck itself comes from apt: scripts/test.sh installs it)."""
    if not shutil.which("shellcheck"):
        message = "shellcheck is not installed (apt-get install shellcheck; scripts/test.sh does that as root)"
        _note(session, "skipped: shellcheck not installed")
        if IN_CI:
            session.error(message)
        session.skip(message)
    scripts = [name for name in _repo_files() if name.endswith(".sh")] + [".ci/run"]
    session.run("shellcheck", "--version", external=True)
    session.run("shellcheck", *scripts, external=True)
    _note(session, f"{len(scripts)} scripts")


@nox.session(name="demo", python=False, default=True)
def demo(session):
    """scripts/demo.sh: every examples/*.yml against the simulator (changed, unchanged, --check --diff unchanged).

    Then the CI example of the simulator guide, as documented: examples/tag_cases.yml from
    examples/ci/cases.json must leave the cases of examples/ci/expected.json.
    """
    demo_sh = str(ROOT / "scripts" / "demo.sh")
    session.run("bash", demo_sh, *session.posargs, external=True)
    if session.posargs:
        return
    ci = ROOT / "examples" / "ci"
    session.run(
        "bash", demo_sh, "--seed", str(ci / "cases.json"), "--expect", str(ci / "expected.json"),
        str(ROOT / "examples" / "tag_cases.yml"), external=True,
    )  # fmt: skip
    playbooks = len(list((ROOT / "examples").glob("*.yml")))
    _note(session, f"{playbooks} playbook(s), 3 runs each; the CI example with --expect")
