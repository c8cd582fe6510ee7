#!/usr/bin/env bash
# Demo: scripts/demo.sh [PLAYBOOK...] [--seed FILE] [--expect FILE] [--option NAME=VALUE] [-- ARGS...]
# Hands over to examples/ci/test-playbooks.sh (the CI runner the collection ships; the options are its own)
# with this checkout as the collection: the simulator starts, seeded from tests/simulator/demo_cases.json
# unless --seed says otherwise, and each playbook (examples/*.yml) runs for real (it must change something),
# again (it must change nothing) and with --check --diff (nothing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh

seed=(--seed tests/simulator/demo_cases.json) playbooks=(examples/*.yml)
for arg in "$@"; do
    case "$arg" in
        --) break ;;
        --seed) seed=() ;;
        *.yml | *.yaml) playbooks=() ;;
    esac
done
work="$(mktemp -d "${TMPDIR:-/tmp}/tines-cases-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/tines"
ln -s "$ROOT" "$work/ansible_collections/tines/cases"
# hosts: localhost runs modules with the venv's Python, which has requests.
printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$ROOT/.venv/bin/python" >"$work/hosts"
PATH="$ROOT/.venv/bin:$PATH" PYTHON="$ROOT/.venv/bin/python" TINES_SIM="$ROOT/tests/simulator/tines_sim.py" \
    ANSIBLE_COLLECTIONS_PATH="$work" ANSIBLE_INVENTORY="$work/hosts" \
    bash examples/ci/test-playbooks.sh --changes ${seed[@]+"${seed[@]}"} ${playbooks[@]+"${playbooks[@]}"} "$@"
