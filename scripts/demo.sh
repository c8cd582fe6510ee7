#!/usr/bin/env bash
# Demo: run the example playbooks against the bundled Tines simulator.
#
# Usage: scripts/demo.sh [OPTION...] [PLAYBOOK...]      (default: every examples/*.yml)
#
# OPTIONs are those of examples/ci/test-playbooks.sh (--seed, --expect, --option, -- ...);
# without --seed the simulator starts with tests/simulator/demo_cases.json.
# Sets up .venv, puts this work tree on a collections path of its own, and hands over to
# examples/ci/test-playbooks.sh, the CI runner the collection ships: it starts
# tests/simulator/tines_sim.py on a free loopback port and runs each playbook three times:
#   1. for real             -> must report changes
#   2. for real again       -> must report no change (idempotence)
#   3. with --check --diff  -> must report no change
# The simulator is stopped when the script ends, however it ends.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

cd "$ROOT"
bash scripts/bootstrap.sh

options=()
playbooks=()
seed=(--seed tests/simulator/demo_cases.json)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) seed=(); options+=("$1" "${2:?--seed needs a file}"); shift 2 ;;
        --expect | --option) options+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
        --) options+=("$@"); break ;;
        *) playbooks+=("$1"); shift ;;
    esac
done
if [[ ${#playbooks[@]} -eq 0 ]]; then
    shopt -s nullglob
    playbooks=(examples/*.yml)
    shopt -u nullglob
fi
if [[ ${#playbooks[@]} -eq 0 ]]; then
    echo "demo: no playbook in examples/" >&2
    exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tines-cases-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/collections/ansible_collections/tines"
ln -s "$ROOT" "$WORK/collections/ansible_collections/tines/cases"
# hosts: localhost runs modules with the venv's Python, which has requests.
printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$VENV/bin/python" >"$WORK/inventory"

ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_INVENTORY="$WORK/inventory" \
    TINES_SIM="$ROOT/tests/simulator/tines_sim.py" PYTHON="$VENV/bin/python" \
    ANSIBLE_PLAYBOOK="$VENV/bin/ansible-playbook" \
    bash examples/ci/test-playbooks.sh --changes ${seed[@]+"${seed[@]}"} "${playbooks[@]}" ${options[@]+"${options[@]}"}
