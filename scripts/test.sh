#!/usr/bin/env bash
# The test command of this collection (and of CI, through .ci/run).
#
# Does the set-up nox cannot do (the .venv with nox, antsibull-nox and uv; shellcheck from apt
# when run as root), then runs every nox session of noxfile.py / antsibull-nox.toml as a
# labelled, timed step, goes on after a failed step, prints a table (PASS/FAIL/SKIP, seconds,
# a note) at the end and exits non-zero if any step failed.
#
# Usage: scripts/test.sh [--fast] [--only STEP[,STEP...]] [--skip STEP[,STEP...]] [--serial] [--list]
#   --fast    only the quick steps (lint, shellcheck, unit, e2e on 2.19, build, demo)
#   --only    run only these steps (bootstrap always runs)
#   --skip    leave out these steps
#   --serial  run the steps one after the other, none in the background
#   --list    print the steps and exit
# One session alone: .venv/bin/nox -s NAME (see `.venv/bin/nox -l`).
set -uo pipefail

START_TIME=$EPOCHREALTIME
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# name|fast|lane|description. Every step but bootstrap and session-list is the nox session of that
# name. Steps of the "side" lane (ansible-test, linters, builds: mostly one core, or waiting on the
# package index) run one after the other in the background while the "main" lane (the pytest
# suites, which keep both cores busy) runs in the foreground; --serial runs all in one lane.
STEPS=(
    "bootstrap|yes|main|.venv from requirements-dev.txt (nox, antsibull-nox, uv), shellcheck from apt"
    "session-list|yes|main|every session noxfile.py defines is a step of this script"
    "lint|yes|main|antsibull-nox: ruff format --check, ruff check, yamllint, antsibull-nox config"
    "shellcheck|yes|main|shellcheck on every shell script"
    "unit|yes|main|pytest tests/unit (ansible-core 2.19) and tests/simulator (the simulator's own tests)"
    "e2e-2.19|yes|main|pytest tests/e2e, whole suite (ansible-core 2.19, Python 3.11)"
    "e2e-2.16|no|main|pytest tests/e2e, whole suite (ansible-core 2.16, the lowest in meta/runtime.yml)"
    "e2e-2.22|no|main|pytest tests/e2e, whole suite (ansible-core 2.22, Python 3.13)"
    "e2e-2.17|no|main|pytest tests/e2e smoke set (ansible-core 2.17)"
    "e2e-2.18|no|main|pytest tests/e2e smoke set (ansible-core 2.18)"
    "e2e-2.20|no|main|pytest tests/e2e smoke set (ansible-core 2.20, Python 3.12)"
    "e2e-2.21|no|main|pytest tests/e2e smoke set (ansible-core 2.21, Python 3.12)"
    "e2e-target-py3.9|no|main|e2e smoke set, module path, modules run by Python 3.9"
    "e2e-target-py3.13|no|main|e2e smoke set, module path, modules run by Python 3.13"
    "ansible-test-sanity-2.19|no|side|ansible-test sanity --venv (ansible-core 2.19, Python 3.11)"
    "ansible-test-sanity-2.22|no|side|ansible-test sanity --venv (ansible-core 2.22, Python 3.13)"
    "ansible-test-units-2.19|no|side|ansible-test units --venv --requirements, JUnit count checked"
    "ansible-test-integration-2.19|no|side|ansible-test integration --venv --requirements (tests/integration/targets)"
    "ansible-lint|no|side|antsibull-nox: ansible-lint --offline, production profile"
    "docs-check|no|side|antsibull-nox: antsibull-docs lint-collection-docs"
    "extra-checks|no|side|antsibull-nox: no-unwanted-files, action-groups, trailing whitespace, tabs"
    "build-import-check|no|side|collection build + galaxy-importer, as Galaxy would import it (own venv)"
    "galaxy-build-install|yes|side|ansible-galaxy build + install, tarball contents, ansible-doc per module"
    "changelog|no|side|antsibull-changelog lint; CHANGELOG.rst/.md up to date"
    "docs-build|no|side|HTML docsite (antsibull-docs sphinx-init + Sphinx), no unexpected warning"
    "ee-build-context|no|side|ansible-builder create on tests/ee/; the EE requirements include requests"
    "demo|yes|main|scripts/demo.sh: examples/ against the simulator (changed, unchanged, --check --diff unchanged), the CI example with --expect"
)
# Sessions that run as part of a step rather than as steps of their own.
SESSIONS_INSIDE_STEPS=" formatters codeqa yamllint antsibull-nox-config matrix-generator "

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

fast=0 serial=0 only="" skip=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --fast) fast=1 ;;
        --serial) serial=1 ;;
        --only) only="${2:?--only needs a list of steps}"; shift ;;
        --skip) skip="${2:?--skip needs a list of steps}"; shift ;;
        --list)
            for step in "${STEPS[@]}"; do
                IFS='|' read -r name is_fast lane description <<<"$step"
                printf '%-30s %-4s %-4s %s\n' "$name" "$([[ $is_fast == yes ]] && echo "" || echo slow)" "$lane" "$description"
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
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/notes" "$WORK/reports" "$WORK/results" "$WORK/logs"

export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1
export TINES_TEST_NOTES_DIR="$WORK/notes"
cd "$ROOT" || exit 1

note() { echo "$*" >"$WORK/notes/$STEP_NAME"; }

# The shellcheck tool is an apt package, not a pip one. Install it when we can (root with apt-get:
# CI and these dev machines); elsewhere the shellcheck session says it skipped.
ensure_shellcheck() {
    command -v shellcheck >/dev/null && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "shellcheck is missing; installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
    fi
    command -v shellcheck >/dev/null
}

# --- steps (each runs in a subshell with errexit on; exit 99 means SKIP) -----------------

step_bootstrap() {
    bash "$ROOT/scripts/bootstrap.sh"
    if ensure_shellcheck; then
        shellcheck --version | sed -n 2p
    else
        echo "WARNING: shellcheck is not installed and cannot be installed here (needs root and apt-get)"
    fi
    note "nox $(nox --version 2>&1), antsibull-nox $(python -c 'import antsibull_nox; print(antsibull_nox.__version__)'), $(uv --version)"
}

step_session_list() {
    local sessions missing=()
    sessions="$(nox --list --json | python -c 'import json, sys; print(" ".join(s["session"] for s in json.load(sys.stdin)))')"
    for name in $sessions; do
        if [[ "$known_steps" != *" $name "* && "$SESSIONS_INSIDE_STEPS" != *" $name "* ]]; then
            missing+=("$name")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "nox sessions that scripts/test.sh does not run (add them to STEPS): ${missing[*]}"
        return 1
    fi
    note "$(wc -w <<<"$sessions") sessions"
}

# Run nox session $1 (and the sessions it requires); PASS, FAIL, or SKIP when nox skipped it.
run_session() {
    local name="$1" rc=0 report="$WORK/reports/$1.json" result
    shift
    "$@" nox --non-interactive --report "$report" -s "$name" || rc=$?
    [[ $rc -eq 0 ]] || return "$rc"
    result="$(python - "$report" "$name" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print(next((s["result"] for s in report["sessions"] if s["name"] == sys.argv[2]), "missing"))
EOF
)"
    case "$result" in
        success) return 0 ;;
        skipped) return 99 ;;
        *) echo "nox exited 0 but reports $name as $result"; return 1 ;;
    esac
}

# The versions of the tools installed in the venvs of nox sessions $@ (antsibull-nox's sessions
# write no note of their own).
tool_versions() {
    python - "$@" <<'EOF'
import pathlib, re, sys
tools = ["ansible-core", "ansible-lint", "galaxy-importer", "antsibull-docs", "ruff", "yamllint"]
found = {}
for session in sys.argv[1:]:
    venv = pathlib.Path(".nox", re.sub(r"[^\w-]", "-", session))
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        name = name.lower().replace("_", "-")
        if name in tools:
            found[name] = version
print(", ".join(f"{name} {found[name]}" for name in tools if name in found))
EOF
}

step_session() {
    local rc=0
    case "$STEP_NAME" in
        # antsibull-nox's formatters session rewrites files unless CI=true; the test command checks.
        lint) run_session lint env CI=true || rc=$? ;;
        *) run_session "$STEP_NAME" || rc=$? ;;
    esac
    if [[ ! -f "$WORK/notes/$STEP_NAME" ]]; then
        case "$STEP_NAME" in
            lint) note "$(tool_versions formatters yamllint)" ;;
            *) note "$(tool_versions "$STEP_NAME")" ;;
        esac
    fi
    return $rc
}

# --- runner ----------------------------------------------------------------------------

selected() {
    local name="$1" is_fast="$2"
    [[ "$name" == bootstrap ]] && return 0
    [[ -n "$only" && ",$only," != *",$name,"* ]] && return 1
    [[ ",$skip," == *",$name,"* ]] && return 1
    [[ $fast -eq 1 && "$is_fast" != yes ]] && return 1
    return 0
}

# CPU seconds (user + system) of the finished children of the shell that wrote `times` to $1.
children_cpu() {
    python3 - "$1" <<'EOF'
import re, sys
try:
    line = open(sys.argv[1]).read().splitlines()[1]
except (OSError, IndexError):  # the step's shell ended before it could write its times
    line = ""
print(sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", line)))
EOF
}

# Run step $1 (description $2) in a subshell; record "STATUS SECONDS CPU" in $WORK/results/$1.
run_step() {
    local name="$1" description="$2" func start rc seconds cpu status
    case "$name" in
        bootstrap | session-list) func="step_${name//-/_}" ;;
        *) func=step_session ;;
    esac
    echo
    echo "================================================================================"
    echo "=== STEP $name: $description"
    echo "================================================================================"
    start=$EPOCHREALTIME
    (
        # The step's own CPU time: what this subshell's children used, taken as it exits
        # (the other lane's processes are not its children).
        trap 'times >"$WORK/times-$name"' EXIT
        set -e
        cd "$ROOT"
        STEP_NAME="$name"
        "$func"
    )
    rc=$?
    seconds="$(python3 -c "print(f'{$EPOCHREALTIME - $start:.1f}')")"
    cpu="$(python3 -c "print(f'{$(children_cpu "$WORK/times-$name"):.0f}')")"
    case $rc in
        0) status=PASS ;;
        99) status=SKIP ;;
        *) status=FAIL ;;
    esac
    echo "$status $seconds $cpu" >"$WORK/results/$name"
    echo "=== STEP $name: $status in ${seconds}s$([[ $rc -ne 0 && $rc -ne 99 ]] && echo " (exit $rc)")"
}

declare -a MAIN_LANE=() SIDE_LANE=()
declare -A DESCRIPTIONS=()
for step in "${STEPS[@]}"; do
    IFS='|' read -r name is_fast lane description <<<"$step"
    selected "$name" "$is_fast" || continue
    DESCRIPTIONS[$name]="$description"
    if [[ "$lane" == side && $serial -eq 0 ]]; then
        SIDE_LANE+=("$name")
    else
        MAIN_LANE+=("$name")
    fi
done

echo "test.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
side_pid=""
for name in "${MAIN_LANE[@]}"; do
    run_step "$name" "${DESCRIPTIONS[$name]}"
    if [[ "$name" == bootstrap ]]; then
        if [[ "$(cut -d' ' -f1 "$WORK/results/bootstrap")" != PASS ]]; then
            echo "bootstrap failed: no other step can run"
            break
        fi
        if [[ ${#SIDE_LANE[@]} -gt 0 ]]; then
            echo
            echo "=== in the background, one after the other (output below when the main lane is done): ${SIDE_LANE[*]}"
            (
                for side in "${SIDE_LANE[@]}"; do
                    run_step "$side" "${DESCRIPTIONS[$side]}" >"$WORK/logs/$side.log" 2>&1 </dev/null
                    # A line of its own, even in the middle of pytest's progress dots.
                    printf '\n=== background STEP %s: %ss\n' "$side" "$(cut -d' ' -f1,2 "$WORK/results/$side" | sed 's/ / in /')"
                done
            ) &
            side_pid=$!
        fi
    fi
done
if [[ -n "$side_pid" ]]; then
    echo
    echo "=== waiting for the background steps"
    wait "$side_pid"
    for side in "${SIDE_LANE[@]}"; do
        cat "$WORK/logs/$side.log"
    done
fi

echo
echo "================================================================================"
# SECONDS is wall-clock time; CPU is user + system seconds of all its processes, which shows
# the cost of a step on a loaded machine too. Background steps are marked with "bg".
printf '%-30s %-6s %8s %6s  %s\n' STEP STATUS SECONDS CPU NOTE
failed=0 passed=0 skipped=0 total_cpu=0 ran=0
for step in "${STEPS[@]}"; do
    IFS='|' read -r name _ _ _ <<<"$step"
    [[ -f "$WORK/results/$name" ]] || continue
    read -r status seconds cpu <"$WORK/results/$name"
    case $status in
        PASS) passed=$((passed + 1)) ;;
        SKIP) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
    esac
    ran=$((ran + 1)) total_cpu=$((total_cpu + cpu))
    lane_mark=""
    [[ " ${SIDE_LANE[*]} " == *" $name "* ]] && lane_mark=" bg"
    printf '%-30s %-6s %8s %6s  %s\n' "$name" "$status" "$seconds$lane_mark" "$cpu" \
        "$([[ -f "$WORK/notes/$name" ]] && cat "$WORK/notes/$name")"
done
echo "================================================================================"
echo "total: $(python3 -c "print(f'{$EPOCHREALTIME - $START_TIME:.0f}')")s, ${total_cpu} CPU seconds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "steps: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && $ran -gt 0 ]]
