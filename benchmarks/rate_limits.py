#!/usr/bin/env python
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scale run against a tenant's rate limit: how close a large run gets to the fastest the limit allows.

Run from the repository root (it is not a test and does not run in CI)::

    .venv/bin/python benchmarks/rate_limits.py [--cases 2000] [--budget 1000] [--window 60] [--forks 10]

The simulator (tests/simulator/tines_sim.py) allows each API key --budget requests per
sliding window of --window seconds and answers HTTP 429 beyond that. Every case lacks keys,
so each costs a GET and a POST. Six runs, each with a restarted limiter, fresh cases and an
empty client budget:

- one loop on the in-process path (hosts: localhost), and --forks hosts (added with add_host,
  connection local, ANSIBLE_FORKS=--forks) each looping over its share;
- each with the task's rate_limit equal to the tenant's budget, once with 429 answers carrying
  no Retry-After (as Tines documents) and once with Retry-After in seconds;
- and each with rate_limit five times the tenant's budget (at the default scale: the module's
  default 5000, left unset), as when the tenant allows less than the client thinks.

The task's rate_limit_window is --window too, so --cases 200 --budget 100 --window 6 is the
same run ten times faster. For each run it prints the requests, the ideal time (requests /
budget x window: the tenant's limit, nothing else), the loop's time (task start to the last
result) and its ratio to the ideal, the share of requests answered 429 (the simulator's
count) and the items that failed (the bench callback's count).
"""

from __future__ import annotations

import argparse
import sys
import time

from harness import API_KEY, FIRST_CASE, TAGS, describe, loadavg, note, save, session, table, untagged

# name, fork hosts (True: --forks), the task's rate_limit ("tenant": --budget; "over": 5 x --budget), Retry-After
RUNS = (
    ("loop", False, "tenant", None),
    ("loop, Retry-After", False, "tenant", "seconds"),
    ("forks", True, "tenant", None),
    ("forks, Retry-After", True, "tenant", "seconds"),
    ("loop, rate_limit 5x", False, "over", None),
    ("forks, rate_limit 5x", True, "over", None),
)
MODULE_DEFAULT = (5000, 60.0)  # the module's rate_limit and rate_limit_window defaults


def run_one(args, sim, ansible, name, forked, limit, retry_after):
    case_ids = list(range(FIRST_CASE, FIRST_CASE + args.cases))
    forks = args.forks if forked else 1
    rate_limit = args.budget if limit == "tenant" else 5 * args.budget
    sim.prepare(
        case_ids,
        rate_limit=args.budget,
        rate_window=args.window,
        rate_window_kind="sliding",
        rate_limit_retry_after=retry_after,
    )
    variables = {"tines_url": sim.url, "tines_key": API_KEY, "case_ids": case_ids, "tags": TAGS, "window": args.window}
    if (rate_limit, args.window) != MODULE_DEFAULT:
        variables["rate_limit"] = rate_limit
    if forked:
        variables["shares"] = {"fork%02d" % index: case_ids[index::forks] for index in range(forks)}
    note("%s: %d cases, %d fork(s), rate_limit %d, load %s" % (name, args.cases, forks, rate_limit, loadavg()))
    playbook = "scale_forks.yml" if forked else "scale_loop.yml"
    play = ansible.play(playbook, variables, env={"ANSIBLE_FORKS": max(5, forks)}, check=False)
    stats = sim.call("GET", "/_sim/stats")["rate"].get(API_KEY, {"accepted": 0, "refused": 0})
    requests = stats["accepted"] + stats["refused"]
    ideal = stats["accepted"] / args.budget * args.window
    loop = play.loop_seconds("Tag cases")
    failed = play.items("failed")
    left = untagged(sim.call("GET", "/_sim/cases"), case_ids)
    if play.rc != 0 and not failed:
        note("ansible-playbook failed (rc=%d) outside the loop items:\n%s" % (play.rc, play.output))
    for task in play.tasks:
        for message in task["failures"]:
            note("  failed item: %s" % message)
    return {
        "run": name,
        "forks": forks,
        "rate_limit": rate_limit,
        "module_default": "rate_limit" not in variables,
        "retry_after": retry_after,
        "accepted": stats["accepted"],
        "refused": stats["refused"],
        "requests": requests,
        "ideal_s": ideal,
        "loop_s": loop,
        "wall_s": play.wall,
        "ratio": loop / ideal if ideal else None,
        "refused_share": stats["refused"] / requests if requests else 0.0,
        "failed_items": len(failed),
        "untagged_cases": len(left),
        "rc": play.rc,
        "load": loadavg(),
    }


def report(results, args, meta):
    lines = [
        "tines.cases rate limit scale run, %d cases (GET + POST each), tenant budget %d requests per %g s sliding"
        % (args.cases, args.budget, args.window),
        "window: %s" % describe(meta),
        "",
    ]
    rows = []
    for r in results:
        limit = "%d%s" % (r["rate_limit"], " (default)" if r["module_default"] else "")
        rows.append(
            (r["run"], r["forks"], limit, r["retry_after"] or "none", r["requests"])
            + ("%.1f" % r["ideal_s"], "%.1f" % r["loop_s"], "%.2f" % r["ratio"], "%.2f %%" % (100 * r["refused_share"]))
            + (r["failed_items"], r["untagged_cases"], r["load"].split()[0])
        )
    header = ("run", "forks", "rate_limit", "Retry-After", "requests", "ideal s", "loop s", "ratio", "429", "failed")
    lines += table(header + ("untagged", "load"), rows)
    lines += [
        "",
        "requests: answered by the simulator (accepted + 429); ideal s: accepted requests / budget x window, the",
        "tenant's sustained rate (a sliding window lets the first budget through at once, so a run can take up to",
        "one window less); loop s: task start to the last result; 429: share of requests refused; failed: items",
        "that failed; untagged: cases left without their keys; load: 1-minute load average after the run.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--cases", type=int, default=2000, help="number of cases (default 2000)")
    parser.add_argument("--budget", type=int, default=1000, help="the tenant's requests per window (default 1000)")
    parser.add_argument("--window", type=float, default=60.0, help="the window in seconds, both sides (default 60)")
    parser.add_argument("--forks", type=int, default=10, help="hosts and forks of the forked runs (default 10)")
    names = [name for name, *_rest in RUNS]
    parser.add_argument("--runs", nargs="+", choices=names, default=names, metavar="RUN", help="%s" % ", ".join(names))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (playbook runs, logs)")
    args = parser.parse_args(argv)
    if args.cases < args.forks or args.budget < 1 or args.window <= 0:
        parser.error("--cases must be at least --forks, --budget at least 1 and --window positive")

    started = time.perf_counter()
    results = []
    settings = {"cases": args.cases, "budget": args.budget, "window": args.window, "forks": args.forks}
    with session("tines-scale-", args.keep, **settings) as (meta, sim, ansible):
        for name, forked, limit, retry_after in RUNS:
            if name in args.runs:
                r = run_one(args, sim, ansible, name, forked, limit, retry_after)
                note(
                    "  %.1f s (ideal %.1f s), %d of %d answered 429"
                    % (r["loop_s"], r["ideal_s"], r["refused"], r["requests"])
                )
                results.append(r)
    meta["load_end"] = loadavg()
    print(report(results, args, meta), flush=True)
    path = save("rate-limits", {"meta": meta, "runs": results})
    note("Took %.0f s; results in %s" % (time.perf_counter() - started, path))
    return 1 if any(r["failed_items"] or r["untagged_cases"] or r["rc"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
