#!/usr/bin/env bash
# The test command of this collection (and of CI, through .ci/run).
#
# Runs every check as a labelled, timed step, goes on after a failed step, prints
# a table at the end and exits non-zero if any step failed.
#
# Usage: scripts/test.sh [--fast] [--only STEP[,STEP...]] [--skip STEP[,STEP...]] [--keep-tmp] [--list]
#   --fast      skip the slow and lint-type steps (sanity, ansible-test units,
#               integration on the lowest ansible-core, ansible-lint, docs, changelog)
#   --only      run only these steps (bootstrap always runs)
#   --skip      leave out these steps
#   --keep-tmp  keep the temporary trees (collection copy, build, install) for inspection
#   --list      print the steps and exit
set -uo pipefail

START_TIME=$EPOCHREALTIME
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_VERSION=3.11
# The lowest ansible-core meta/runtime.yml declares; its nox session runs the integration tests.
LOWEST_CORE=2.16

# name|fast|description; --fast leaves out the steps whose fast field is "no".
STEPS=(
    "bootstrap|yes|create or update .venv from requirements-dev.txt"
    "ruff|yes|ruff check and ruff format --check"
    "shellcheck|yes|shellcheck scripts/*.sh .ci/run"
    "unit|yes|pytest tests/unit (.venv, ansible-core 2.19)"
    "integration|yes|pytest tests/e2e -n 2 (.venv, ansible-core 2.19)"
    "integration-$LOWEST_CORE|no|pytest tests/e2e -n 2 (nox venv, ansible-core $LOWEST_CORE)"
    "sanity|no|ansible-test sanity --venv in a copy under ansible_collections/tines/cases"
    "ansible-test-units|no|ansible-test units --venv --requirements in the same copy"
    "ansible-lint|no|ansible-lint (production profile, offline) on examples/ and docs/"
    "docs|no|antsibull-docs lint-collection-docs --plugin-docs"
    "changelog|no|antsibull-changelog lint, then release/generate CHANGELOG.rst and CHANGELOG.md"
    "build|yes|ansible-galaxy collection build + install, ansible-doc of each module, tarball contents"
    "demo|yes|scripts/demo.sh: examples/ against the simulator (changed, unchanged, --check --diff unchanged)"
)

usage() { sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

fast=0 keep_tmp=0 only="" skip=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --fast) fast=1 ;;
        --only) only="${2:?--only needs a list of steps}"; shift ;;
        --skip) skip="${2:?--skip needs a list of steps}"; shift ;;
        --keep-tmp) keep_tmp=1 ;;
        --list)
            for step in "${STEPS[@]}"; do
                IFS='|' read -r name is_fast description <<<"$step"
                printf '%-22s %-4s %s\n' "$name" "$([[ $is_fast == yes ]] && echo "" || echo slow)" "$description"
            done
            exit 0
            ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

known_steps=" $(for step in "${STEPS[@]}"; do printf '%s ' "${step%%|*}"; done)"
for name in ${only//,/ } ${skip//,/ }; do
    if [[ "$known_steps" != *" $name "* ]]; then
        echo "unknown step: $name (steps:$known_steps)" >&2
        exit 2
    fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tines-cases-test.XXXXXX")"
cleanup() {
    if [[ $keep_tmp -eq 1 ]]; then
        echo "temporary trees kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
mkdir -p "$WORK/notes"

export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1
cd "$ROOT" || exit 1

# --- helpers ------------------------------------------------------------------

note() { echo "$*" >"$WORK/notes/$STEP_NAME"; }

galaxy_field() {
    python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))[sys.argv[2]])' "$ROOT/galaxy.yml" "$1"
}

modules() {
    local path
    for path in "$ROOT"/plugins/modules/*.py; do
        [[ -f "$path" && "$(basename "$path")" != __init__.py ]] && basename "$path" .py
    done
    return 0
}

# A real copy of the work tree (untracked files and .git included, venvs and
# outputs not) under <base>/ansible_collections/tines/cases: ansible-test needs
# that layout and resolves symlinks, so a symlink will not do. Made once per run.
#   copy_collection NAME    a throw-away copy in $WORK/NAME
#   copy_collection --keep-output NAME
#       a copy in ~/.cache that keeps its tests/output between runs, where
#       ansible-test keeps the venvs of `units --venv` and of its delegation.
KEPT_TREES="${XDG_CACHE_HOME:-$HOME/.cache}/tines-cases-test/$(sha256sum <<<"$ROOT" | cut -c1-12)"
copy_collection() {
    local base dest
    if [[ "$1" == --keep-output ]]; then
        base="$KEPT_TREES-$2"
    else
        base="$WORK/$1"
    fi
    dest="$base/ansible_collections/tines/cases"
    if [[ ! -e "$WORK/copied-${base//\//_}" ]]; then
        mkdir -p "$dest"
        find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
        if [[ -d "$dest/tests" ]]; then
            find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
        fi
        tar -C "$ROOT" -c \
            --exclude=./.venv --exclude=./.nox --exclude=./.tox --exclude=./tests/output \
            --exclude=./collections --exclude=./.ansible --exclude=./.ruff_cache --exclude=./.pytest_cache \
            --exclude=./.hypothesis --exclude='*.tar.gz' . | tar -C "$dest" -x
        touch "$WORK/copied-${base//\//_}"
    fi
    echo "$dest"
}

# The shellcheck tool is an apt package, not a pip one. Install it when we can (root with
# apt-get: CI and these dev machines); elsewhere the caller decides.
ensure_shellcheck() {
    command -v shellcheck >/dev/null && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "shellcheck is missing; installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
    fi
    command -v shellcheck >/dev/null
}

# ansible-test bootstraps pip in its venvs with a get-pip script it downloads
# from a host we cannot reach; it uses a cached copy first. Put our stand-in
# (scripts/ansible_test_get_pip.py) and a pip wheel there.
prepare_ansible_test_pip() {
    local version cache stand_in
    version="$(python - <<'EOF'
import re, ansible_test, pathlib
source = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
EOF
)" || { echo "cannot find the pip version ansible-test bootstraps"; return 1; }
    cache="$HOME/.ansible/test/cache"
    stand_in="$cache/get_pip_${version//./_}.py"
    mkdir -p "$cache"
    if [[ -f "$stand_in" ]] && ! grep -q "tines.cases ansible-test get-pip stand-in" "$stand_in"; then
        echo "using the existing $stand_in (not ours: left alone)"
    elif ! cmp -s "$ROOT/scripts/ansible_test_get_pip.py" "$stand_in"; then
        cp "$ROOT/scripts/ansible_test_get_pip.py" "$stand_in"
        echo "installed the get-pip stand-in as $stand_in"
    fi
    if ! ls "$cache"/pip-"$version"-*.whl >/dev/null 2>&1; then
        python -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache" "pip==$version" ||
            echo "no pip $version wheel; the stand-in will fall back to ensurepip"
    fi
}

# Print "<tests> <failed or errored>" summed over ansible-test's JUnit files.
junit_count() {
    python - "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
tests = failures = 0
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
print(tests, failures)
EOF
}

# --- steps (each runs in a subshell with errexit on) ----------------------------

step_bootstrap() {
    bash "$ROOT/scripts/bootstrap.sh"
    note "$(ansible --version | head -n1)"
}

step_ruff() {
    local rc=0
    ruff --version
    ruff check . || rc=1
    ruff format --check --diff . || rc=1
    return $rc
}

step_shellcheck() {
    if ! ensure_shellcheck; then
        echo "shellcheck is not installed and cannot be installed here (needs root and apt-get)"
        if [[ "${CI:-}" == true ]]; then return 1; fi
        note "shellcheck not installed"
        return 99
    fi
    shellcheck --version | sed -n 2p
    shellcheck scripts/*.sh .ci/run
}

step_unit() {
    pytest tests/unit -ra
}

step_integration() {
    pytest tests/e2e -n 2 -ra
}

step_integration_lowest() {
    nox --non-interactive -s "integration($LOWEST_CORE)"
}

# Two runs of this script on one work tree must not share the kept tree at once.
# The lock lasts until the step's subshell exits.
lock_kept_trees() {
    mkdir -p "$(dirname "$KEPT_TREES")"
    exec 9>"$KEPT_TREES.lock"
    flock -w 1800 9 || { echo "another scripts/test.sh run holds $KEPT_TREES.lock"; return 1; }
}

step_sanity() {
    local tree
    lock_kept_trees
    tree="$(copy_collection --keep-output ansible-test)"
    prepare_ansible_test_pip
    if ! ensure_shellcheck; then
        echo "WARNING: shellcheck is missing: ansible-test will skip its shellcheck sanity test"
        note "shellcheck test skipped"
    fi
    cd "$tree"
    ansible-test sanity --venv --python "$PYTHON_VERSION" --color no
}

step_ansible_test_units() {
    local tree counts
    lock_kept_trees
    tree="$(copy_collection --keep-output ansible-test)"
    prepare_ansible_test_pip
    cd "$tree"
    rm -rf tests/output/junit
    ansible-test units --venv --requirements --python "$PYTHON_VERSION" --color no
    shopt -s nullglob
    local reports=(tests/output/junit/*.xml)
    if [[ ${#reports[@]} -eq 0 ]]; then
        echo "ansible-test units wrote no JUnit report: no test ran"
        return 1
    fi
    counts="$(junit_count "${reports[@]}")"
    echo "JUnit: ${counts% *} tests, ${counts#* } failed or errored"
    note "${counts% *} tests"
    [[ "${counts% *}" -gt 0 ]] || { echo "ansible-test units ran no test"; return 1; }
    [[ "${counts#* }" -eq 0 ]] || { echo "ansible-test units exited 0 with failed tests"; return 1; }
}

step_ansible_lint() {
    local paths=() tree dir
    for dir in examples docs; do
        if [[ -d "$dir" ]]; then paths+=("$dir"); fi
    done
    if [[ ${#paths[@]} -eq 0 ]]; then
        echo "neither examples/ nor docs/ exists yet: nothing to lint"
        note "no examples/ or docs/ yet"
        return 99
    fi
    tree="$(copy_collection lint)"
    ansible-lint --version
    # The copy is how offline ansible-lint resolves tines.cases modules and group/tines.cases.tines.
    ANSIBLE_COLLECTIONS_PATH="${tree%/ansible_collections/*}" ansible-lint --offline --profile production "${paths[@]}"
    note "${paths[*]}"
}

step_docs() {
    local tree
    tree="$(copy_collection docs)"
    antsibull-docs --version
    [[ -n "$(modules)" ]] || { echo "plugins/modules/ holds no module"; return 1; }
    antsibull-docs lint-collection-docs --plugin-docs "$tree"
}

step_changelog() {
    local tree version
    antsibull-changelog lint
    tree="$(copy_collection changelog)"
    version="$(galaxy_field version)"
    cd "$tree"
    if [[ -f changelogs/changelog.yaml ]] &&
        python -c 'import sys, yaml; sys.exit(sys.argv[2] not in (yaml.safe_load(open(sys.argv[1])).get("releases") or {}))' \
            changelogs/changelog.yaml "$version"; then
        antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
        antsibull-changelog generate
        local rc=0 file
        for file in CHANGELOG.rst CHANGELOG.md; do
            if [[ ! -f "$ROOT/$file" ]]; then
                echo "$file is not committed; run: .venv/bin/antsibull-changelog generate"
                rc=1
            elif ! diff -u "$ROOT/$file" "$file"; then
                echo "$file is stale; run: .venv/bin/antsibull-changelog generate"
                rc=1
            fi
        done
        shopt -s nullglob
        local pending=(changelogs/fragments/*.yml changelogs/fragments/*.yaml)
        if [[ ${#pending[@]} -gt 0 ]]; then
            echo "NOTE: fragments not yet in any release: ${pending[*]#changelogs/fragments/}"
            note "$version released; ${#pending[@]} fragment(s) pending"
        else
            note "$version released; CHANGELOG.rst/.md up to date"
        fi
        return $rc
    fi
    # Not released yet: show that the release would render, in the copy only.
    echo "release $version is not in changelogs/changelog.yaml yet; rendering it in a copy"
    antsibull-changelog release --version "$version"
    test -s CHANGELOG.rst
    test -s CHANGELOG.md
    grep -q "v$version" CHANGELOG.rst
    cat CHANGELOG.md
    note "$version not released yet (run: .venv/bin/antsibull-changelog release)"
}

step_build() {
    local version tarball listing bad installed module required rc=0
    version="$(galaxy_field version)"
    ansible-galaxy collection build --output-path "$WORK/build" "$ROOT"
    tarball="$WORK/build/tines-cases-$version.tar.gz"
    listing="$(tar -tzf "$tarball")"
    echo "$tarball: $(wc -l <<<"$listing") entries, $(du -k "$tarball" | cut -f1) KiB"
    bad="$(grep -E '(^|/)(\.venv|\.nox|\.tox|\.pytest_cache|\.ruff_cache|\.hypothesis|\.mypy_cache|__pycache__|\.git|\.github|\.ansible)(/|$)|\.py[co]$|\.tar\.gz$|^(\./)?(tests/output|collections|scripts|\.ci|benchmarks/results)(/|$)|\.plugin-cache\.yaml$' <<<"$listing" || true)"
    if [[ -n "$bad" ]]; then
        echo "the tarball holds files that must not ship (add them to build_ignore in galaxy.yml):"
        echo "$bad"
        rc=1
    fi
    for required in MANIFEST.json FILES.json "$(galaxy_field readme)" COPYING meta/runtime.yml meta/execution-environment.yml requirements.txt; do
        if ! grep -qxF "$required" <<<"$listing"; then
            echo "the tarball lacks $required"
            rc=1
        fi
    done
    installed="$WORK/installed"
    ansible-galaxy collection install --force --offline -p "$installed" "$tarball"
    if [[ -z "$(modules)" ]]; then
        echo "plugins/modules/ holds no module"
        return 1
    fi
    for module in $(modules); do
        echo "--- ansible-doc tines.cases.$module (from the installed tarball)"
        (cd "$WORK" &&
            ANSIBLE_COLLECTIONS_PATH="$installed" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
                ansible-doc -t module "tines.cases.$module") >"$WORK/doc-$module.txt" || { cat "$WORK/doc-$module.txt"; rc=1; continue; }
        head -n 5 "$WORK/doc-$module.txt"
        if ! grep -q "$installed" "$WORK/doc-$module.txt"; then
            echo "ansible-doc did not read tines.cases.$module from $installed"
            rc=1
        fi
    done
    note "$(basename "$tarball"), $(wc -l <<<"$listing") entries, modules: $(modules | tr '\n' ' ')"
    return $rc
}

step_demo() {
    bash "$ROOT/scripts/demo.sh"
}

# --- runner -------------------------------------------------------------------------

declare -a RESULT_NAMES RESULT_STATUS RESULT_TIMES
failed=0 passed=0 skipped=0

selected() {
    local name="$1" is_fast="$2"
    [[ "$name" == bootstrap ]] && return 0
    [[ -n "$only" && ",$only," != *",$name,"* ]] && return 1
    [[ ",$skip," == *",$name,"* ]] && return 1
    [[ $fast -eq 1 && "$is_fast" != yes ]] && return 1
    return 0
}

for step in "${STEPS[@]}"; do
    IFS='|' read -r STEP_NAME is_fast description <<<"$step"
    if ! selected "$STEP_NAME" "$is_fast"; then
        continue
    fi
    func="step_${STEP_NAME//-/_}"
    [[ "$STEP_NAME" == "integration-$LOWEST_CORE" ]] && func=step_integration_lowest
    echo
    echo "================================================================================"
    echo "=== STEP $STEP_NAME: $description"
    echo "================================================================================"
    start=$EPOCHREALTIME
    (
        set -e
        cd "$ROOT"
        "$func"
    )
    rc=$?
    seconds="$(python3 -c "print(f'{$EPOCHREALTIME - $start:.1f}')")"
    case $rc in
        0) status=PASS; passed=$((passed + 1)) ;;
        99) status=SKIP; skipped=$((skipped + 1)) ;;
        *) status=FAIL; failed=$((failed + 1)) ;;
    esac
    echo "=== STEP $STEP_NAME: $status in ${seconds}s$([[ $rc -ne 0 && $rc -ne 99 ]] && echo " (exit $rc)")"
    RESULT_NAMES+=("$STEP_NAME")
    RESULT_STATUS+=("$status")
    RESULT_TIMES+=("$seconds")
    if [[ "$STEP_NAME" == bootstrap && $rc -ne 0 ]]; then
        echo "bootstrap failed: no other step can run"
        break
    fi
done

echo
echo "================================================================================"
printf '%-22s %-5s %9s  %s\n' STEP STATUS SECONDS NOTE
for i in "${!RESULT_NAMES[@]}"; do
    notes_file="$WORK/notes/${RESULT_NAMES[$i]}"
    printf '%-22s %-5s %9s  %s\n' "${RESULT_NAMES[$i]}" "${RESULT_STATUS[$i]}" "${RESULT_TIMES[$i]}" \
        "$([[ -f "$notes_file" ]] && cat "$notes_file")"
done
echo "================================================================================"
echo "total: $(python3 -c "print(f'{$EPOCHREALTIME - $START_TIME:.0f}')")s"
echo "steps: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && ${#RESULT_NAMES[@]} -gt 0 ]]
