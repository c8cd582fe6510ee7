"""Test sessions: `nox -l` lists them, `nox -t fast` runs the quick ones, `bash scripts/test.sh` all (as CI).

antsibull-nox.toml configures antsibull-nox's own sessions; tests/nox_offline.py holds what these machines
need besides. Arguments after `--` go to pytest or ansible-test: `nox -s e2e-2.22 -- -k purge -x`.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import antsibull_nox
import nox
import yaml
from antsibull_nox.ansible import get_ansible_core_info, get_supported_core_versions
from antsibull_nox.paths.utils import copy_collection, list_all_files

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
import nox_offline  # noqa: E402

ROOT = Path(__file__).resolve().parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
nox_offline.set_up(nox)
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"


def _controller_python(release):
    """The controller Python a release runs on here: 3.11, the machines' default, where it can."""
    versions = [str(version) for version in get_ansible_core_info(release).controller_python_versions]
    return "3.11" if "3.11" in versions else versions[0]


# Every ansible-core release from meta/runtime.yml's requires_ansible to the newest.
RELEASES = {str(release): _controller_python(release) for release in get_supported_core_versions()}
LOWEST, NEWEST = list(RELEASES)[0], list(RELEASES)[-1]
DEV = "2.19"  # the release of .venv, ansible-test units/integration and the builds


def core(release):
    """The requirement for an ansible-core release line (the newest may still be a release candidate)."""
    major, minor = release.split(".")
    return f"ansible-core>={release}{'.0rc1' if release == NEWEST else ''},<{major}.{int(minor) + 1}"


def _tmp(session, name):
    path = Path(session.create_tmp()).resolve() / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _pytest(session, *args, env=None):
    """pytest fails the session on a failed test and on none run (exit 5)."""
    session.run("pytest", "-ra", "-p", "no:cacheprovider", *args, *session.posargs, env=env)


# The whole e2e suite (real ansible-playbook runs against the simulator, on both execution paths) runs on
# the lowest and the newest release; the releases between run this smoke set.
E2E_SMOKE = [
    "tests/e2e/test_lifecycle.py",  # every state/overwrite/purge row: check, apply, check, apply
    "tests/e2e/test_credentials.py",  # module_defaults with the action group, env fallbacks, auth headers
    "tests/e2e/test_info.py",  # the info module
]
# ansible-core up to 2.19 polls async jobs with the task's environment: the key's test runs on DEV too.
ASYNC_KEY = "tests/e2e/test_key_safety.py::test_a_key_in_an_async_tasks_environment_stays_off_every_command_line"
# Two pytest-xdist workers per core: most e2e tests wait (on rate windows, retries, timeouts).
E2E_WORKERS = os.environ.get("TINES_E2E_WORKERS", "4")


def add_e2e(release):
    full, python = release in (LOWEST, NEWEST), RELEASES[release]

    def e2e(session):
        session.install(core(release), "-r", "tests/requirements-integration.txt")
        smoke = E2E_SMOKE + ([ASYNC_KEY] if release == DEV else [])
        _pytest(session, *(["tests/e2e"] if full else smoke), "-n", E2E_WORKERS)

    e2e.__doc__ = f"The e2e {'suite' if full else 'smoke set'} with ansible-core {release} on Python {python}."
    nox.session(name=f"e2e-{release}", python=python, tags=["fast"] if release == DEV else [])(e2e)


def add_e2e_target(target):
    def e2e_target(session):
        python = shutil.which(f"python{target}") or session.error(f"no Python {target} (PATH, pyenv's versions/)")
        # No requests beside the controller: a module-path test passes only if the target Python ran it.
        session.install(core(DEV), "-r", "tests/requirements-pytest.txt")
        session.run("python", "-c", "import importlib.util as u; assert not u.find_spec('requests'), 'requests'")
        venv = _tmp(session, "target")
        session.run("uv", "venv", "-q", "--python", python, str(venv), external=True)
        session.run("uv", "pip", "install", "-q", "--python", f"{venv}/bin/python", "requests>=2.25", external=True)
        env = {"TINES_TEST_TARGET_PYTHON": f"{venv}/bin/python"}
        _pytest(session, *E2E_SMOKE, "-k", "module and not inprocess", "-n", E2E_WORKERS, env=env)

    e2e_target.__doc__ = f"The e2e smoke set on the module path, the modules run by Python {target}."
    nox.session(name=f"e2e-target-py{target}", python=RELEASES[DEV])(e2e_target)


def add_ansible_test(command, release, *, check=None):
    """ansible-test without containers (--venv), in the copy of the collection antsibull-nox makes."""
    python, name = RELEASES[release], f"ansible-test-{command}-{release}"
    antsibull_nox.add_ansible_test_session(
        name=name,
        description=f"ansible-test {command} --venv with ansible-core {release} on Python {python}.",
        ansible_test_params=[command, "--venv", "--python", python, "--color", "no"]
        + ([] if command == "sanity" else ["--requirements"]),
        default=True,
        ansible_core_version=release,
        ansible_core_source="pypi",
        callback_before=nox_offline.prepare_ansible_test,
        callback_after=nox_offline.after_ansible_test(check),
    )
    if release == NEWEST:
        nox_offline.override_requirement(nox, name, core(release))


def _units_ran():
    """ansible-test units can exit 0 having run nothing (a crashed collector): count the JUnit results."""
    suites = [s for report in Path("tests/output/junit").glob("*.xml") for s in ET.parse(report).iter("testsuite")]
    counts = [sum(int(suite.get(key, 0)) for suite in suites) for key in ("tests", "failures", "errors")]
    print("ansible-test units: {} tests, {} failures, {} errors".format(*counts))
    if not counts[0] or counts[1] or counts[2]:
        raise RuntimeError("ansible-test units ran no test, or hid a failure")


# What the tarball must ship (from the checkout's files) and what it must not: anything git does not track
# (caches, venvs, test output, bytecode) and the development tree.
MUST_SHIP = re.compile(r"^(plugins|extensions|meta)/|^(README\.md|COPYING|requirements\.txt)$")
DEVELOPMENT_ONLY = re.compile(r"^(scripts|\.ci|benchmarks|\.github)/")


def _build(session, source, dest):
    session.run("ansible-galaxy", "collection", "build", "--output-path", str(dest), str(source), silent=True)
    return next(dest.glob("*.tar.gz"))


def _install(session, tarball, dest):
    session.run("ansible-galaxy", "collection", "install", "--offline", "-p", str(dest), str(tarball), silent=True)
    return dest


def build_import_check(session):
    """The built collection: what the tarball holds, ansible-doc from its install, its EE, Galaxy's import."""
    session.install(core(DEV), "galaxy-importer")  # it pins old tools: a venv of its own
    work = _tmp(session, "build")
    tarball = _build(session, ROOT, work / "build")
    with tarfile.open(tarball) as archive:
        shipped = {member.name for member in archive.getmembers() if member.isfile()}
    files = {str(path.relative_to(ROOT)) for path in list_all_files()}
    problems = [f"the tarball lacks {name}" for name in sorted(files - shipped) if MUST_SHIP.search(name)]
    unwanted = (shipped - files - {"MANIFEST.json", "FILES.json"}) | set(filter(DEVELOPMENT_ONLY.match, shipped))
    problems += [f"the tarball holds {name} (see build_ignore in galaxy.yml)" for name in sorted(unwanted)]
    installed = _install(session, tarball, work / "installed")
    for kind, directory in (("module", "modules"), ("lookup", "lookup")):
        names = sorted(path.stem for path in (ROOT / "plugins" / directory).glob("*.py"))
        env = {"ANSIBLE_COLLECTIONS_PATH": str(installed)}
        text = session.run("ansible-doc", "-t", kind, *[f"tines.cases.{name}" for name in names], env=env, silent=True)
        where = f"{installed}/ansible_collections/tines/cases/plugins/{directory}"
        problems += [f"ansible-doc: {name} not from the install" for name in names if f"{where}/{name}.py" not in text]
    problems += _execution_environment(session, work, tarball)
    if problems:
        session.error("\n".join(problems))
    # Galaxy requires `repository` in galaxy.yml and the collection has no public one yet: import a copy
    # that names this checkout, so that galaxy-importer checks everything else.
    copy_collection(ROOT, work / "copy")
    if "repository" not in GALAXY:
        (work / "copy" / "galaxy.yml").write_text(f"{(ROOT / 'galaxy.yml').read_text()}repository: {ROOT.as_uri()}\n")
    importable = _build(session, work / "copy", work / "import")
    with session.chdir(importable.parent):
        log = session.run("python", "-m", "galaxy_importer.main", importable.name, silent=True)
    print(log)
    if re.search("^ERROR", log, re.M):
        session.error("galaxy-importer reported errors")


def _execution_environment(session, work, tarball):
    """What `ansible-builder build` of tests/ee/ would install: the build context, then the EE's requirements."""
    shutil.copytree(ROOT / "tests" / "ee", work / "ee")
    shutil.copyfile(tarball, work / "ee" / "tines-cases.tar.gz")
    session.run("ansible-builder", "create", "-f", f"{work}/ee/execution-environment.yml", "-c", f"{work}/ctx")
    installed = _install(session, work / "ctx" / "_build" / "src" / "tines-cases.tar.gz", work / "ee-installed")
    found = session.run("python", f"{work}/ctx/_build/scripts/introspect.py", "introspect", "--sanitize",
                        str(installed), silent=True)  # fmt: skip
    print(found)
    if any(re.match(r"requests\b.*# from collection tines\.cases$", line) for line in yaml.safe_load(found)["python"]):
        return []
    return ["the execution environment's Python requirements lack requests from tines.cases"]


def changelog(session):
    """antsibull-changelog lint; CHANGELOG.rst/.md regenerate unchanged (an unreleased version: it renders)."""
    session.install(core(DEV), "antsibull-changelog>=0.33,<0.37")
    session.run("antsibull-changelog", "lint")
    version, tree = GALAXY["version"], _tmp(session, "changelog")
    copy_collection(ROOT, tree)
    released = version in (yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"] or {})
    with session.chdir(tree):
        session.run("antsibull-changelog", *(["generate"] if released else ["release", "--version", version]))
    for name in ("CHANGELOG.rst", "CHANGELOG.md"):
        text = (tree / name).read_text()
        if released and text != (ROOT / name).read_text():
            session.error(f"{name} is stale: run antsibull-changelog generate")
        if not released and not re.search("v" + version.replace(".", r"\\?\."), text):
            session.error(f"{name} rendered without v{version}")


# The only warnings expected offline: Ansible's own docs are out of reach, and the labels they define too.
DOCSITE_OFFLINE_WARNINGS = re.compile(
    r"failed to reach any of the inventories|intersphinx inventory .* not fetchable"
    r"|undefined label: '(ansible_configuration_settings|action_plugins|common_return_values)'"
)


def docs_build(session):
    """The HTML docsite, built as the README says (antsibull-docs sphinx-init, Sphinx); a warning fails it."""
    session.install(core(DEV), "antsibull-docs>=2.16,<3")
    work = _tmp(session, "docsite")
    (work / "ansible_collections" / "tines").mkdir(parents=True)
    (work / "ansible_collections" / "tines" / "cases").symlink_to(ROOT)
    env, site = {"ANSIBLE_COLLECTIONS_PATH": str(work)}, work / "site"
    site.mkdir(mode=0o700)
    session.run("antsibull-docs", "--config-file", "docs/antsibull-docs.cfg", "sphinx-init", "--use-current",
                "--dest-dir", str(site), "tines.cases", env=env)  # fmt: skip
    session.install("-r", str(site / "requirements.txt"))
    # build.sh runs Sphinx with -W; judge the warnings here instead, the known offline ones apart.
    build = (site / "build.sh").read_text()  # no warnings file below if this finds no "-W --keep-going"
    (site / "build.sh").write_text(build.replace("-W --keep-going", f"--keep-going -w {work}/warnings"))
    session.run("bash", str(site / "build.sh"), env=env, external=True)
    lines = (work / "warnings").read_text().splitlines()
    unexpected = [line for line in lines if "WARNING" in line and not DOCSITE_OFFLINE_WARNINGS.search(line)]
    if unexpected or not (site / "build" / "html" / "index.html").is_file():
        session.error("Sphinx:\n" + "\n".join(unexpected or ["no index.html"]))


def unit(session):
    """pytest tests/unit (pure logic) and tests/simulator with the newest ansible-core (ansible-test units: 2.19)."""
    session.install(core(NEWEST), "-r", "tests/requirements-pytest.txt", "-r", "tests/unit/requirements.txt")
    _pytest(session, "tests/unit", "tests/simulator", "-n", "2")


def eda(session):
    """The event source: main() over the simulator, and real ansible-rulebook runs (Java 17) of examples/rulebooks."""
    session.install(core(DEV), "ansible-rulebook", "-r", "requirements.txt", "-r", "tests/requirements-pytest.txt")
    _pytest(session, "tests/eda", "-n", "2")


def demo(session):
    """scripts/demo.sh, then the simulator guide's CI example: tag_cases.yml must leave ci/expected.json."""
    session.run("bash", "scripts/demo.sh", *session.posargs, external=True)
    if not session.posargs:
        session.run("bash", "scripts/demo.sh", "--seed", "examples/ci/cases.json", "--expect",
                    "examples/ci/expected.json", "examples/tag_cases.yml", external=True)  # fmt: skip


def shellcheck(session):
    """shellcheck on every shell script (shellcheck comes from apt: scripts/test.sh installs it as root)."""
    shutil.which("shellcheck") or session.error("shellcheck is not installed (apt-get install shellcheck)")
    session.run("shellcheck", *[str(p) for p in list_all_files() if p.suffix == ".sh"], ".ci/run", external=True)


def _cpu_seconds():
    return sum(sum(resource.getrusage(who)[:2]) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def _execute_and_log_cpu(runner, execute=nox.sessions.SessionRunner.execute):
    """A session's CPU seconds (all its processes') to $TINES_SESSION_CPU_LOG, for scripts/test.sh's table."""
    start, result = _cpu_seconds(), execute(runner)
    with open(os.environ["TINES_SESSION_CPU_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{runner.friendly_name} {_cpu_seconds() - start:.0f}\n")
    return result


if os.environ.get("TINES_SESSION_CPU_LOG"):
    nox.sessions.SessionRunner.execute = _execute_and_log_cpu


def session(func, python=RELEASES[DEV], tags=()):
    nox.session(name=func.__name__.replace("_", "-"), python=python, tags=list(tags))(func)


# The sessions, heaviest first: `nox --parallel 2` (scripts/test.sh) then finishes soonest.
add_e2e(NEWEST)
add_ansible_test("sanity", NEWEST)
add_e2e(LOWEST)
add_ansible_test("sanity", DEV)
session(build_import_check)
session(eda)
add_ansible_test("units", DEV, check=_units_ran)
add_ansible_test("integration", DEV)
for _release in RELEASES:
    if _release not in (LOWEST, NEWEST):
        add_e2e(_release)
add_e2e_target("3.9")
add_e2e_target("3.13")
session(docs_build)
session(changelog)
session(unit, python=RELEASES[NEWEST], tags=["fast"])
session(demo, python=False, tags=["fast"])
session(shellcheck, python=False, tags=["fast"])
antsibull_nox.load_antsibull_nox_toml()  # lint (formatters, codeqa, yamllint), docs-check, extra-checks, ansible-lint
nox.registry.get()["lint"].tags.append("fast")
