#!/usr/bin/env bash
# Demo: run the example playbooks against the bundled Tines simulator.
#
# Usage: scripts/demo.sh [PLAYBOOK...]      (default: every examples/*.yml)
#
# Starts tests/simulator/tines_sim.py on a free loopback port, seeded with
# tests/simulator/demo_cases.json, then runs each playbook three times:
#   1. for real             -> must report changes
#   2. for real again       -> must report no change (idempotence)
#   3. with --check --diff  -> must report no change
# The simulator is stopped when the script ends, however it ends.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
API_KEY=demo-key

cd "$ROOT"
bash scripts/bootstrap.sh

if [[ $# -gt 0 ]]; then
    playbooks=("$@")
else
    shopt -s nullglob
    playbooks=(examples/*.yml)
    shopt -u nullglob
fi
if [[ ${#playbooks[@]} -eq 0 ]]; then
    echo "demo: no playbook in examples/" >&2
    exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tines-cases-demo.XXXXXX")"
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The playbooks use tines.cases.* from this work tree.
mkdir -p "$WORK/collections/ansible_collections/tines"
ln -s "$ROOT" "$WORK/collections/ansible_collections/tines/cases"
# hosts: localhost runs modules with the venv's Python, which has requests.
printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$VENV/bin/python" >"$WORK/inventory"

"$VENV/bin/python" tests/simulator/tines_sim.py --host 127.0.0.1 --port 0 --port-file "$WORK/port" \
    --api-key "$API_KEY" --seed tests/simulator/demo_cases.json >"$WORK/simulator.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
    [[ -s "$WORK/port" ]] && break
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        echo "demo: the simulator exited:" >&2
        cat "$WORK/simulator.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ ! -s "$WORK/port" ]]; then
    echo "demo: the simulator did not write $WORK/port within 10 s" >&2
    cat "$WORK/simulator.log" >&2
    exit 1
fi
cat "$WORK/simulator.log"

TINES_TENANT_URL="http://127.0.0.1:$(cat "$WORK/port")"
export TINES_TENANT_URL TINES_API_KEY="$API_KEY"
export ANSIBLE_COLLECTIONS_PATH="$WORK/collections"
export ANSIBLE_INVENTORY="$WORK/inventory"
export ANSIBLE_RETRY_FILES_ENABLED=false
echo "demo: TINES_TENANT_URL=$TINES_TENANT_URL"

# Run one playbook, show its output, and check the "changed=" count of its recap.
run() {
    local expect="$1" title="$2" playbook="$3" changed
    shift 3
    echo
    echo "=== demo: $title: ansible-playbook $playbook $*"
    if ! "$VENV/bin/ansible-playbook" "$playbook" "$@" | tee "$WORK/run.log"; then
        echo "demo: FAILED: ansible-playbook $playbook $* failed" >&2
        return 1
    fi
    changed="$(sed -n 's/^localhost *: .*changed=\([0-9]*\).*/\1/p' "$WORK/run.log")"
    if [[ -z "$changed" ]]; then
        echo "demo: no play recap for localhost" >&2
        return 1
    fi
    if [[ "$expect" == changes && "$changed" -eq 0 ]] || [[ "$expect" == none && "$changed" -ne 0 ]]; then
        echo "demo: FAILED: expected $expect, the recap says changed=$changed" >&2
        return 1
    fi
    echo "=== demo: $title: changed=$changed, as expected"
}

for playbook in "${playbooks[@]}"; do
    run changes "first run (makes the changes)" "$playbook"
    run none "second run (nothing left to change)" "$playbook"
    run none "check mode with diff (predicts no change)" "$playbook" --check --diff
done
echo
echo "demo: all runs behaved as expected"
