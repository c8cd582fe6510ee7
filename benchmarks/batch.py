#!/usr/bin/env python
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many cases in one task: tines_case_metadata_batch against a loop of tines_case_metadata, over a slow tenant.

Run from the repository root (it is not a test and does not run in CI)::

    .venv/bin/python benchmarks/batch.py [--latency 0.15] [--sweep 10000] [--writes 3000] [--sample 300]

The simulator (tests/simulator/tines_sim.py) waits --latency seconds before every answer, as a
tenant that far away would, and serves requests concurrently. Every case is OPEN and the batch
task chooses them with `filters: {status: OPEN}`:

- "no-op sweep": --sweep cases that already hold the tags: the batch task reads the list pages
  and writes nothing;
- "writes": --writes cases that each lack one key, under a tenant limit of --writes requests a
  minute (sliding window, 429 without Retry-After): once with the task's rate_limit equal to the
  tenant's, once with the module's default (5000), above what the tenant allows.

Each batch run is compared with the loop (`loop:` over tines_case_metadata, in-process) on the
first --sample cases of the same kind, scaled to the run's number of cases. The bound is the
fastest the latency and the tenant's window allow: the list pages one after the other, the
writes --concurrency (16) at a time, and no more than the tenant's limit in any window, so a run
of R requests under a limit of L takes at least floor((R - 1) / L) windows plus one answer.
"""

from __future__ import annotations

import argparse
import sys
import time

from harness import API_KEY, FIRST_CASE, describe, loadavg, note, save, session, table

WINDOW = 60.0
CONCURRENCY = 16
PER_PAGE = 500
TAGS = {"source": "edr", "triage": "auto"}  # "source" is there already: one key to add


def cases(case_ids, tagged):
    extra = {"triage": "auto"} if tagged else {}
    return {str(case_id): {"source": "edr", "ticket": "OPS-%d" % case_id, **extra} for case_id in case_ids}


def prepare(sim, case_ids, tagged, latency, limit=None):
    sim.call("POST", "/_sim/options", {"latency": latency, "rate_limit": limit, "rate_window": WINDOW})
    sim.call("PUT", "/_sim/cases", cases(case_ids, tagged))
    sim.call("DELETE", "/_sim/log")
    sim.call("DELETE", "/_sim/stats")


def stats(sim):
    counts = sim.call("GET", "/_sim/stats")["rate"].get(API_KEY, {"accepted": 0, "refused": 0})
    return counts["accepted"], counts["refused"]


def bound(pages, writes, latency, limit):
    """The fastest the tenant allows: pages in turn, writes CONCURRENCY at a time, at most `limit` a window."""
    by_latency = pages * latency + -(-writes // CONCURRENCY) * latency
    requests = pages + writes
    by_window = ((requests - 1) // limit) * WINDOW + latency if limit else 0.0
    return max(by_latency, by_window)


def run_batch(sim, ansible, name, count, tagged, latency, limit=None, rate_limit=None):
    case_ids = list(range(FIRST_CASE, FIRST_CASE + count))
    prepare(sim, case_ids, tagged, latency, limit)
    variables = {"tines_url": sim.url, "tines_key": API_KEY, "tags": TAGS, "window": WINDOW}
    if rate_limit is not None:
        variables["rate_limit"] = rate_limit
    note("%s: %d cases, load %s" % (name, count, loadavg()))
    play = ansible.play("batch.yml", variables, check=False)
    accepted, refused = stats(sim)
    summary = sim.call("GET", "/_sim/cases")
    left = [case_id for case_id in case_ids if summary[str(case_id)].get("triage") != "auto"]
    pages = -(-count // PER_PAGE)
    return {
        "run": name,
        "cases": count,
        "requests": accepted + refused,
        "refused": refused,
        "failed": len(left) if play.rc == 0 else max(1, len(left)),
        "seconds": play.loop_seconds("Tag cases"),
        "bound": bound(pages, 0 if tagged else count, latency, limit),
        "rc": play.rc,
    }


def run_loop(sim, ansible, count, sample, tagged, latency):
    """The loop of tines_case_metadata on `sample` cases, its time scaled to `count` cases."""
    case_ids = list(range(FIRST_CASE, FIRST_CASE + sample))
    prepare(sim, case_ids, tagged, latency)
    variables = {"tines_url": sim.url, "tines_key": API_KEY, "case_ids": case_ids, "tags": TAGS, "window": WINDOW}
    note("loop on %d of them, load %s" % (sample, loadavg()))
    play = ansible.play("scale_loop.yml", variables)
    return play.loop_seconds("Tag cases") * count / sample


def report(results, args, meta):
    rows = [
        (
            r["run"],
            r["cases"],
            r["requests"],
            r["refused"],
            r["failed"],
            "%.1f" % r["seconds"],
            "%.1f" % r["bound"],
            "%.2f" % (r["seconds"] / r["bound"]),
            "%.0f" % r["loop"],
            "%.0fx" % (r["loop"] / r["seconds"]),
        )
        for r in results
    ]
    header = ("run", "cases", "requests", "429s", "failed", "seconds", "bound", "ratio", "loop s", "speed-up")
    lines = [
        "tines_case_metadata_batch, simulator latency %g s per request, concurrency %d" % (args.latency, CONCURRENCY),
        describe(meta),
        "",
        *table(header, rows),
        "",
        "requests: answered by the simulator (429s included); seconds: the batch task, start to result; bound: the",
        "fastest the latency and the tenant's window allow (see the script's docstring); ratio: seconds / bound;",
        "loop s: the same cases tagged by a loop of tines_case_metadata, timed on %d of them and scaled." % args.sample,
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--latency", type=float, default=0.15, help="seconds before every answer (default 0.15)")
    parser.add_argument("--sweep", type=int, default=10000, help="cases of the no-op sweep (default 10000)")
    parser.add_argument("--writes", type=int, default=3000, help="cases of the write runs (default 3000)")
    parser.add_argument("--sample", type=int, default=300, help="cases the loop is timed on (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    settings = {"latency": args.latency, "sweep": args.sweep, "writes": args.writes, "sample": args.sample}
    with session("tines-batch-", args.keep, **settings) as (meta, sim, ansible):
        sweep = run_batch(sim, ansible, "no-op sweep", args.sweep, True, args.latency)
        sweep["loop"] = run_loop(sim, ansible, args.sweep, args.sample, True, args.latency)
        runs = [sweep]
        write_loop = run_loop(sim, ansible, args.writes, args.sample, False, args.latency)
        for name, rate_limit in (("writes, rate_limit = tenant", args.writes), ("writes, rate_limit default", None)):
            run = run_batch(sim, ansible, name, args.writes, False, args.latency, args.writes, rate_limit)
            run["loop"] = write_loop
            runs.append(run)
    meta["load_end"] = loadavg()
    print(report(runs, args, meta), flush=True)
    path = save("batch", {"meta": meta, "runs": runs})
    note("Took %.0f s; results in %s" % (time.perf_counter() - started, path))
    return 1 if any(r["failed"] or r["rc"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
