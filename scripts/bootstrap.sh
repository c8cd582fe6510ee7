#!/usr/bin/env bash
# Create or update the repo's development virtualenv (.venv) from
# requirements-dev.txt: ansible-core 2.19, the test tools, and nox with
# antsibull-nox and uv, which scripts/test.sh runs the test sessions with.
# Idempotent: when the requirement files have not changed since the last
# successful install (their hash is kept in a stamp file inside the venv), it
# does nothing but say so.
#
# Packages are installed with uv (itself installed with pip first), which is
# much faster from a cold cache than pip and shares its cache with the nox
# sessions; uv is pointed at pip's index-url when pip has one configured.
# BOOTSTRAP_WITH_PIP=1 installs with pip alone.
#
# Usage: scripts/bootstrap.sh [--force]
# Environment: PYTHON (default python3) picks the interpreter for a new venv;
#              it must be Python 3.11 or later (ansible-core 2.19).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.bootstrap-stamp"
PYTHON="${PYTHON:-python3}"
REQUIREMENTS=(requirements.txt tests/requirements-pytest.txt tests/requirements-integration.txt requirements-dev.txt)

force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *)
        echo "usage: $0 [--force]" >&2
        exit 2
        ;;
esac

requirements_hash() {
    (cd "$ROOT" && cat "${REQUIREMENTS[@]}" && "$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1
}

venv_works() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

# pip's index-url (environment first, then its configuration files), if any.
pip_index_url() {
    local listing key
    listing="$("$VENV/bin/python" -m pip config list 2>/dev/null)" || return 0
    for key in :env: install global; do
        sed -n "s/^$key\.index-url='\(.*\)'$/\1/p" <<<"$listing" | head -n1 | grep . && return 0
    done
    return 0
}

if ! venv_works; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "bootstrap: $PYTHON is $("$PYTHON" -V 2>&1); ansible-core 2.19 needs Python 3.11+ (set PYTHON=...)" >&2
        exit 1
    fi
    echo "bootstrap: creating $VENV with $("$PYTHON" -V 2>&1)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

if [[ $force -eq 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$(requirements_hash)" ]]; then
    echo "bootstrap: $VENV is up to date with ${REQUIREMENTS[*]}"
    exit 0
fi

echo "bootstrap: installing requirements-dev.txt into $VENV"
if [[ "${BOOTSTRAP_WITH_PIP:-}" == 1 ]]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements-dev.txt"
    # pip check catches a resolver compromise that would surface later as odd errors.
    "$VENV/bin/python" -m pip check
else
    "$VENV/bin/python" -m pip install --quiet "$(grep -E '^uv([<>=!~ ]|$)' "$ROOT/requirements-dev.txt")"
    index="$(pip_index_url)"
    if [[ -n "$index" && -z "${UV_DEFAULT_INDEX:-}${UV_INDEX_URL:-}" ]]; then
        export UV_DEFAULT_INDEX="$index"
        echo "bootstrap: uv uses pip's index-url $index"
    fi
    # With bytecode: PYTHONDONTWRITEBYTECODE, where set, would have every run compile afresh.
    "$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r "$ROOT/requirements-dev.txt"
    "$VENV/bin/uv" pip check --python "$VENV/bin/python"
fi
requirements_hash >"$STAMP"
echo "bootstrap: done ($("$VENV/bin/ansible" --version | head -n1))"
