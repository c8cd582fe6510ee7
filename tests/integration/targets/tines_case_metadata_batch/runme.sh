#!/usr/bin/env bash
# tines.cases.tines_case_metadata_batch against the Tines simulator; see
# ../setup_tines_simulator/simulator.sh for what the helpers do.
set -eu -o pipefail

# shellcheck source-path=SCRIPTDIR
source ../setup_tines_simulator/simulator.sh

start_tines_simulator cases.json
run_tines_playbook playbook.yml "$@"
