# shellcheck shell=bash
# Shared by the runme.sh of every tines.cases integration target: start the
# Tines simulator (tests/simulator/tines_sim.py) on a free loopback port, run a
# playbook against it, and stop it when the script exits, however it exits.
#
# A target uses it so (its aliases list needs/target/setup_tines_simulator, so
# that ansible-test copies this directory next to the target's own):
#
#   #!/usr/bin/env bash
#   set -eu -o pipefail
#   source ../setup_tines_simulator/simulator.sh
#   start_tines_simulator cases.json [NAME=VALUE ...]   # simulator --option switches
#   run_tines_playbook playbook.yml "$@"
#
# The playbook gets the simulator's address and API key as the extra variables
# tines_sim_url and tines_sim_api_key. This file sets the EXIT trap: a target
# that needs its own clean-up must call stop_tines_simulator from it.

TINES_SIM_API_KEY="tines-integration-test-key"
TINES_SIM_PID=""
TINES_SIM_DIR=""
TINES_SIM_URL=""

# Print the path of tines_sim.py in the collection ansible-playbook will load.
tines_simulator_script() {
    local entry candidate dir
    local IFS=:
    # ansible-test points ANSIBLE_COLLECTIONS_PATH at the directory that holds
    # ansible_collections/tines/cases, the tree under test.
    for entry in ${ANSIBLE_COLLECTIONS_PATH:-}; do
        candidate="$entry/ansible_collections/tines/cases/tests/simulator/tines_sim.py"
        if [[ -f "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    # Otherwise look upwards: ansible-test runs the target from a copy inside
    # the collection's tests/output/.tmp/, or from the collection itself.
    dir="$PWD"
    while [[ "$dir" != "/" ]]; do
        if [[ -f "$dir/galaxy.yml" && -f "$dir/tests/simulator/tines_sim.py" ]]; then
            echo "$dir/tests/simulator/tines_sim.py"
            return 0
        fi
        dir="$(dirname "$dir")"
    done
    echo "tests/simulator/tines_sim.py not found (ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-unset}, PWD=$PWD)" >&2
    return 1
}

# start_tines_simulator SEED_JSON [NAME=VALUE ...]
start_tines_simulator() {
    local seed="$1" script started option
    local options=()
    shift
    for option in "$@"; do
        options+=(--option "$option")
    done
    script="$(tines_simulator_script)"
    TINES_SIM_DIR="$(mktemp -d)"
    trap stop_tines_simulator EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The Python of ansible-test's environment (the simulator needs only the standard library);
    # --background returns once the simulator listens, printing its URL and process id.
    started="$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" "$script" --background --log "$TINES_SIM_DIR/simulator.log" \
        --host 127.0.0.1 --port 0 --api-key "$TINES_SIM_API_KEY" --seed "$seed" ${options[@]+"${options[@]}"})"
    read -r TINES_SIM_URL TINES_SIM_PID <<<"$started"
    echo "Tines simulator $script (pid $TINES_SIM_PID) at $TINES_SIM_URL, seeded from $seed"
}

# Stop the simulator started by this script and remove its files; safe to call twice.
stop_tines_simulator() {
    local waited=0
    if [[ -n "$TINES_SIM_PID" ]]; then
        kill "$TINES_SIM_PID" 2>/dev/null || true
        while kill -0 "$TINES_SIM_PID" 2>/dev/null && ((waited < 50)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -9 "$TINES_SIM_PID" 2>/dev/null || true
        wait "$TINES_SIM_PID" 2>/dev/null || true
        TINES_SIM_PID=""
    fi
    if [[ -n "$TINES_SIM_DIR" ]]; then
        rm -rf "$TINES_SIM_DIR"
        TINES_SIM_DIR=""
    fi
}

# run_tines_playbook PLAYBOOK [ansible-playbook options ...]
run_tines_playbook() {
    ansible-playbook -i "${INVENTORY_PATH:?run this target through ansible-test integration}" \
        -e "tines_sim_url=$TINES_SIM_URL" -e "tines_sim_api_key=$TINES_SIM_API_KEY" "$@"
}
