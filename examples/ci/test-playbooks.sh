#!/usr/bin/env bash
# Test playbooks that use tines.cases offline, against the Tines simulator that
# ships with the collection (tests/simulator/tines_sim.py). Meant for a CI job:
# copy it into your repository and call it from your pipeline.
#
# Usage:
#   test-playbooks.sh [--seed FILE] [--expect FILE] [--changes] [--option NAME=VALUE]...
#                     PLAYBOOK... [-- ANSIBLE-PLAYBOOK-ARGUMENTS...]
#
#   --seed FILE          cases the simulator starts with: {"318": {"key": "value"}, ...}
#   --expect FILE        cases every playbook together must leave behind, same format;
#                        compared with the simulator's cases after the last run
#   --changes            each playbook's first run must report a change
#   --option NAME=VALUE  a simulator switch (tines_sim.py --option), repeatable
#   -- ...               everything after -- goes to every ansible-playbook run
#
# It starts the simulator on a free loopback port, exports TINES_TENANT_URL and
# TINES_API_KEY for it, and runs each playbook three times:
#   1. for real                -> must succeed (with --changes: and change something)
#   2. for real again          -> must succeed with changed=0 (idempotent)
#   3. with --check --diff     -> must succeed with changed=0
# then compares the cases with --expect, and stops the simulator however the
# script ends. Exit status 0 means every check passed.
#
# Environment:
#   TINES_SIM         path to tines_sim.py (default: the one in the tines.cases
#                     collection that ansible-galaxy finds)
#   PYTHON            Python that runs the simulator (default: python3)
#   ANSIBLE_PLAYBOOK  the ansible-playbook command (default: ansible-playbook)
set -euo pipefail

PYTHON="${PYTHON:-python3}"
ANSIBLE_PLAYBOOK="${ANSIBLE_PLAYBOOK:-ansible-playbook}"
API_KEY=ci-test-key

usage() {
    sed -n '6,15p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

seed=""
expect=""
first_run=any
sim_options=()
playbooks=()
playbook_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) seed="${2:?--seed needs a file}"; shift 2 ;;
        --expect) expect="${2:?--expect needs a file}"; shift 2 ;;
        --changes) first_run=changes; shift ;;
        --option) sim_options+=(--option "${2:?--option needs NAME=VALUE}"); shift 2 ;;
        --) shift; playbook_args=("$@"); break ;;
        -h | --help) usage 0 ;;
        -*) echo "unknown option: $1" >&2; usage >&2 ;;
        *) playbooks+=("$1"); shift ;;
    esac
done
[[ ${#playbooks[@]} -gt 0 ]] || usage >&2

# Where is the simulator? Ask ansible-galaxy where tines.cases is installed.
if [[ -z "${TINES_SIM:-}" ]]; then
    TINES_SIM="$(ansible-galaxy collection list tines.cases --format json 2>/dev/null | "$PYTHON" -c '
import json, sys
for path, found in json.load(sys.stdin).items():
    if "tines.cases" in found:
        print(path + "/tines/cases/tests/simulator/tines_sim.py")
        break
')"
fi
if [[ ! -f "$TINES_SIM" ]]; then
    echo "tines_sim.py not found (${TINES_SIM:-tines.cases is not installed}); install tines.cases or set TINES_SIM" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/tines-ci.XXXXXX")"
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
        kill "$sim_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$sim_pid" 2>/dev/null && sleep 0.1; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sim_args=(--host 127.0.0.1 --port 0 --api-key "$API_KEY" --log "$work/simulator.log")
if [[ -n "$seed" ]]; then sim_args+=(--seed "$seed"); fi
# --background returns once the simulator listens, printing its URL and process id.
started="$("$PYTHON" "$TINES_SIM" --background "${sim_args[@]}" ${sim_options[@]+"${sim_options[@]}"})"
read -r TINES_TENANT_URL sim_pid <<<"$started"
TINES_API_KEY="$API_KEY"
export TINES_TENANT_URL TINES_API_KEY
# The checks below read the play recap of the default output.
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=false
echo "simulator: $TINES_TENANT_URL ($TINES_SIM)"

# Print what the simulator was asked, one request a line.
show_requests() {
    "$PYTHON" - "$TINES_TENANT_URL/_sim/log" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as answer:
    for entry in json.load(answer):
        print("  %-6s %s -> %s" % (entry["method"], entry["path"], entry["status"]))
EOF
}

# run EXPECT TITLE PLAYBOOK [ARGS...]: EXPECT is "any", "changes" or "unchanged".
run() {
    local expect="$1" title="$2" playbook="$3" changed
    shift 3
    echo
    echo "=== $title: ansible-playbook $playbook${*:+ $*}"
    if ! "$ANSIBLE_PLAYBOOK" "$playbook" "$@" | tee "$work/run.log"; then
        echo "FAILED: $title: ansible-playbook exited non-zero; requests the simulator saw:" >&2
        show_requests >&2
        return 1
    fi
    changed="$(awk '/^PLAY RECAP/ { recap = 1; next }
        recap && / : ok=/ { for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) { split($i, kv, "="); n += kv[2] } }
        END { print n + 0 }' "$work/run.log")"
    if [[ "$expect" == unchanged && "$changed" -ne 0 ]]; then
        echo "FAILED: $title: expected changed=0, the recap says changed=$changed" >&2
        return 1
    fi
    if [[ "$expect" == changes && "$changed" -eq 0 ]]; then
        echo "FAILED: $title: expected changes, the recap says changed=0" >&2
        return 1
    fi
    echo "=== $title: ok (changed=$changed)"
}

for playbook in "${playbooks[@]}"; do
    run "$first_run" "first run" "$playbook" ${playbook_args[@]+"${playbook_args[@]}"}
    run unchanged "second run, must change nothing" "$playbook" ${playbook_args[@]+"${playbook_args[@]}"}
    run unchanged "check mode, must predict no change" "$playbook" --check --diff ${playbook_args[@]+"${playbook_args[@]}"}
done

if [[ -n "$expect" ]]; then
    echo
    echo "=== comparing the simulator's cases with $expect"
    "$PYTHON" - "$TINES_TENANT_URL/_sim/cases" "$expect" <<'EOF'
import difflib, json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as answer:
    actual = json.load(answer)
with open(sys.argv[2], encoding="utf-8") as handle:
    expected = {str(case_id): metadata for case_id, metadata in json.load(handle).items()}
if actual != expected:
    def text(cases):
        return json.dumps(cases, indent=2, sort_keys=True).splitlines(keepends=True)
    sys.stdout.writelines(difflib.unified_diff(text(expected), text(actual), "expected", "simulator"))
    sys.exit("FAILED: the cases differ from " + sys.argv[2])
print("=== the cases are as expected")
EOF
fi
echo
echo "all checks passed"
