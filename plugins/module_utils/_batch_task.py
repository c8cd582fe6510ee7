# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The tines_case_metadata_batch task: options -> list pages -> per-case writes, `concurrency` at a time -> result.

Shared by the module and the action plugin. The decisions are in _batch_plan.py
(which cases, which reads can be spared) and _metadata_plan.py (what each case
needs); the writes are tines_case_metadata's own (_metadata_task.py). Every request
goes through one client, so all threads share the host's rate budget.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible_collections.tines.cases.plugins.module_utils._arguments import CaseQuery, check_batch_input
from ansible_collections.tines.cases.plugins.module_utils._batch_plan import (
    BatchCase,
    case_diffs,
    case_entry,
    failure_message,
    id_chunks,
    listed_metadata,
    metadata_gap,
    needs_fresh_read,
    progress_line,
    summary_of,
)
from ansible_collections.tines.cases.plugins.module_utils._case_list_task import FiltersNotApplied, list_cases
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError, unexpected_message
from ansible_collections.tines.cases.plugins.module_utils._connection import client_from_params, with_warnings
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import has_changes, plan_changes
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import (
    PartlyWritten,
    plan_for,
    read_metadata,
    write_planned,
)

PROGRESS_EVERY = 10.0
FALLBACK = "; each case is read with a GET of its own instead"


def run_batch(params, check_mode=False, diff_mode=False, environment=None, progress=None):
    """Make every chosen case's metadata what the task asks; `progress(line)` hears about long runs."""
    request = check_batch_input(params)
    client = client_from_params(params, environment)
    client.widen_pool(request.concurrency)
    with ThreadPoolExecutor(max_workers=request.concurrency) as pool:
        chosen, listed = current_metadata(client, request, pool)
        work = [pool.submit(settle_case, client, case, listed.get(case.case_id), params, check_mode) for case in chosen]
        outcomes = gather(work, progress, client)
    entries = [entry for entry, _before in outcomes]
    result = dict(changed=any(entry["changed"] for entry in entries), cases=entries, summary=summary_of(entries))
    if diff_mode:
        befores = {entry["case_id"]: before for entry, before in outcomes if before is not None}
        result["diff"] = case_diffs(entries, befores)
    if result["summary"]["failed"]:
        result.update(failed=True, msg=failure_message(entries))
    return with_warnings(result, client)


def current_metadata(client, request, pool):
    """(the chosen BatchCases in order, {case_id: metadata as listed}); cases missing from it are read one by one."""
    if request.chosen is None:
        cases = list_cases(client, CaseQuery(request.query.filters, request.query.team_id, None, None))
        chosen = [BatchCase(case["case_id"], request.desired) for case in cases]
        listed = listed_metadata(cases)
        if len(listed) < len(cases):
            client.warnings.append("the tenant's case list does not show the metadata of every case" + FALLBACK)
        return chosen, listed
    return request.chosen, listed_by_ids(client, [case.case_id for case in request.chosen], pool)


def listed_by_ids(client, case_ids, pool):
    """{case_id: metadata} from list requests of ID_CHUNK ids each, or {} when the list cannot stand in for reads.

    The first chunk is asked alone: a tenant that ignores the id filter, or leaves
    metadata out, is found out before the other chunks are sent.
    """
    chunks = id_chunks(case_ids)
    if not chunks:
        return {}
    try:
        first = list_chunk(client, chunks[0])
    except FiltersNotApplied:
        client.warnings.append("the tenant's case list did not apply filters[case_ids][]" + FALLBACK)
        return {}
    problem = metadata_gap(first)
    if problem:
        client.warnings.append(problem + FALLBACK)
        return {}
    listed = listed_metadata(first)
    for cases in pool.map(lambda chunk: list_chunk(client, chunk), chunks[1:]):
        listed.update(listed_metadata(cases))
    return listed


def list_chunk(client, chunk):
    return list_cases(client, CaseQuery({"case_ids": [str(case_id) for case_id in chunk]}, None, None, None))


def settle_case(client, case, listed, params, check_mode):
    """(the case's result entry, its metadata before) — a failure is the entry's, never the task's."""
    before = None
    try:
        before = listed if listed is not None else read_metadata(client, case.case_id)
        if listed is not None and needs_fresh_read(plan_changes(before, case.desired, *_rules(params))):
            before = read_metadata(client, case.case_id)
        after, done = write_planned(
            client, case.case_id, before, plan_for(case.case_id, before, case.desired, params), check_mode
        )
    except PartlyWritten as exc:
        return case_entry(case.case_id, exc.after, exc.done, True, str(exc)), before
    except TinesError as exc:
        return case_entry(case.case_id, before, None, False, str(exc)), before
    except Exception as exc:  # pylint: disable=broad-except
        return case_entry(case.case_id, before, None, False, client.scrub(unexpected_message(exc))), before
    return case_entry(case.case_id, after, done, has_changes(done)), before


def _rules(params):
    return params["state"], params["overwrite"], params["purge"]


def gather(work, progress, client):
    """The outcomes of `work` in order; every PROGRESS_EVERY seconds a progress line, when someone listens."""
    started = last = time.monotonic()
    pending = set(work)
    while pending:
        finished, pending = wait(pending, timeout=PROGRESS_EVERY, return_when=FIRST_COMPLETED)
        now = time.monotonic()
        if progress is not None and pending and now - last >= PROGRESS_EVERY:
            last = now
            done = [future.result()[0] for future in work if future.done()]
            progress(
                progress_line(
                    len(done),
                    len(work),
                    sum(1 for entry in done if entry["changed"]),
                    sum(1 for entry in done if entry.get("failed")),
                    client.requests_sent,
                    now - started,
                )
            )
    return [future.result() for future in work]
