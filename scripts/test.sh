#!/usr/bin/env bash
# The test command (CI runs it through .ci/run): .venv (scripts/bootstrap.sh), shellcheck (as root, apt),
# then every nox session (`.venv/bin/nox -l`) two at a time, as CI does (CI=true: formatters only check, a
# missing interpreter fails); nox's summary, each session's seconds and CPU seconds. Arguments go to nox.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
start=$EPOCHREALTIME
bash scripts/bootstrap.sh || exit 1
if ! command -v shellcheck >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck) >/dev/null
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/tines-cases-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

CI=true ANSIBLE_NOCOLOR=1 NO_COLOR=1 TINES_SESSION_CPU_LOG="$work/cpu" \
    .venv/bin/nox --parallel 2 --allow-parallel --report "$work/report.json" "$@"
rc=$?
times >"$work/times"
.venv/bin/python - "$work" "$start" <<'EOF'
import json, pathlib, re, sys, time

work, wall = pathlib.Path(sys.argv[1]), time.time() - float(sys.argv[2])
sessions = json.loads((work / "report.json").read_text())["sessions"] if (work / "report.json").exists() else []
cpu = dict(line.rsplit(" ", 1) for line in (work / "cpu").read_text().splitlines()) if (work / "cpu").exists() else {}
print(f"\n{'SESSION':34} {'RESULT':8} {'SECONDS':>8} {'CPU':>6}")
for session in sessions:
    name = session["name"]
    print(f"{name:34} {session['result']:8} {session.get('duration') or 0:8.0f} {cpu.get(name, '-'):>6}")
times = (work / "times").read_text().splitlines()[-1]  # the children of this script: every process it ran
total_cpu = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", times))
print(f"total: {wall:.0f} s, {total_cpu:.0f} CPU seconds (every process of the run)")
results = [session["result"] for session in sessions]
failed = len(results) - results.count("success") - results.count("skipped")
print(f"sessions: {results.count('success')} passed, {failed} failed, {results.count('skipped')} skipped")
EOF
exit $rc
