#!/usr/bin/env bash
# Create or update .venv, the development virtualenv, from requirements-dev.txt: nox, antsibull-nox and
# uv (which run the test sessions), ansible-core 2.19 and the development tools. Does nothing when the
# requirement files and the Python are those of its last install. PYTHON (3.11+) picks a new venv's Python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 11) and "bootstrap: needs Python 3.11+")'
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
stamp="$(cat requirements.txt tests/requirements-*.txt requirements-dev.txt <("$VENV/bin/python" -VV) | sha256sum)"
if [[ "$(cat "$VENV/.bootstrap-stamp" 2>/dev/null)" == "$stamp" ]]; then
    echo "bootstrap: $VENV is up to date"
    exit 0
fi
"$VENV/bin/python" -m pip install --quiet "$(grep -E '^uv[<>=!~ ]' requirements-dev.txt)"
index="$("$VENV/bin/python" tests/nox_offline.py pip-index-url)"  # uv reads no pip configuration
[[ -z "$index" ]] || export UV_DEFAULT_INDEX="$index"
# Bytecode with the packages: where PYTHONDONTWRITEBYTECODE is set, nothing else would write it.
"$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r requirements-dev.txt
"$VENV/bin/uv" pip check --python "$VENV/bin/python"
echo "$stamp" >"$VENV/.bootstrap-stamp"
echo "bootstrap: $("$VENV/bin/nox" --version 2>&1 | tail -n1) $("$VENV/bin/ansible" --version | head -n1)"
