# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Many cases in one task: which cases, what each one needs, which reads can be spared, how the answer reads.

Pure functions only (no I/O), like _metadata_plan.py, whose per-case decisions
they apply. The listing gives each case's metadata, 500 cases a request; a write
that only adds keys may be decided from it (Create never overwrites, and its
answer says what the case holds), while a change or a removal is decided from a
fresh read of that case, as tines_case_metadata does.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import (
    MetadataInputError,
    case_number,
    desired_metadata,
)

# Case ids per list request: filters[case_ids][]=123456 is about 25 characters, so 100 of them fit any URL.
ID_CHUNK = 100
# Failed cases named in the task's message; the rest are counted.
NAMED_FAILURES = 3
ITEM_KEYS = frozenset(("case_id", "metadata"))

BatchCase = namedtuple("BatchCase", ["case_id", "desired"])
"""One chosen case and the metadata the task wants on it (canonical keys and values)."""


class BatchInputError(ValueError):
    """The task's choice of cases cannot be acted on; raised before any request."""


def _case_number(value, label):
    number = case_number(value)
    if number is None:
        raise BatchInputError("%s must be a positive case number, got %r" % (label, value))
    return number


def _desired(metadata, label, allow_null):
    try:
        return desired_metadata(metadata, allow_null=allow_null)
    except MetadataInputError as exc:
        raise BatchInputError("%s: %s" % (label, exc)) from None


def cases_from_items(items, common, allow_null=False):
    """The BatchCases of the `cases` option: each item's metadata merged over `common` (the item wins)."""
    common = _desired(common or {}, "metadata", allow_null)
    chosen = []
    for index, item in enumerate(items):
        label = "cases[%d]" % index
        if not isinstance(item, Mapping):
            raise BatchInputError("%s must be a dictionary with case_id and metadata, got %r" % (label, item))
        if "case_id" not in item:
            raise BatchInputError("%s has no case_id" % label)
        unknown = sorted(str(key) for key in item if key not in ITEM_KEYS)
        if unknown:
            raise BatchInputError(
                "%s holds %s besides case_id and metadata; to act on listed cases, choose them with case_ids or "
                "filters" % (label, ", ".join(unknown))
            )
        own = item.get("metadata")
        if own is None:
            own = {}
        chosen.append(
            BatchCase(
                _case_number(item["case_id"], label + ".case_id"),
                {**common, **_desired(own, label + ".metadata", allow_null)},
            )
        )
    return _unique(chosen)


def cases_from_ids(case_ids, metadata, allow_null=False):
    desired = _desired(metadata, "metadata", allow_null)
    return _unique(
        [BatchCase(_case_number(value, "case_ids[%d]" % index), desired) for index, value in enumerate(case_ids)]
    )


def _unique(chosen):
    seen = set()
    for case in chosen:
        if case.case_id in seen:
            raise BatchInputError("case %d is chosen more than once; each case may appear once" % case.case_id)
        seen.add(case.case_id)
    return chosen


def id_chunks(case_ids, size=ID_CHUNK):
    return [case_ids[start : start + size] for start in range(0, len(case_ids), size)]


def listed_metadata(cases):
    """{case_id: metadata} of the listed cases whose metadata the list shows as an object."""
    return {
        case["case_id"]: dict(case["metadata"])
        for case in cases
        if isinstance(case.get("case_id"), int) and isinstance(case.get("metadata"), Mapping)
    }


def metadata_gap(cases):
    """Why the listed cases cannot stand in for reading each one, or None: a list that leaves metadata out."""
    if any(not isinstance(case.get("metadata"), Mapping) for case in cases):
        return "the tenant's case list does not show the cases' metadata"
    return None


def needs_fresh_read(planned):
    """A change or a removal can undo what someone else just wrote: decide it from a fresh read of the case."""
    return bool(planned.update or planned.remove)


def case_entry(case_id, after, done, changed, error=None):
    """One case's part of the result, failed or not."""
    entry = dict(
        case_id=case_id,
        changed=changed,
        metadata=after,
        added=dict(done.add) if done else {},
        updated=dict(done.update) if done else {},
        removed=list(done.remove) if done else [],
    )
    if error is not None:
        entry.update(failed=True, msg=error)
    return entry


def summary_of(entries):
    """Counts over the cases; a failed case counts as failed only, even when some of its writes went through."""
    failed = sum(1 for entry in entries if entry.get("failed"))
    changed = sum(1 for entry in entries if entry["changed"] and not entry.get("failed"))
    return dict(total=len(entries), changed=changed, unchanged=len(entries) - changed - failed, failed=failed)


def failure_message(entries):
    """The task's message when cases failed: how many, and the first few with their reasons."""
    failed = [entry for entry in entries if entry.get("failed")]
    named = "; ".join("case %d: %s" % (entry["case_id"], entry["msg"]) for entry in failed[:NAMED_FAILURES])
    more = len(failed) - NAMED_FAILURES
    tail = " (and %d more: see cases)" % more if more > 0 else ""
    return "%d of %d cases failed: %s%s" % (len(failed), len(entries), named, tail)


def case_diffs(entries, befores):
    """One before/after diff per changed case, headed with its case id, as Ansible shows a list of diffs."""
    return [
        dict(
            before_header="case %d" % entry["case_id"],
            after_header="case %d" % entry["case_id"],
            before=befores[entry["case_id"]],
            after=entry["metadata"],
        )
        for entry in entries
        if entry["changed"] and entry["case_id"] in befores
    ]


def progress_line(done, total, changed, failed, requests, elapsed):
    """What a long task says about every ten seconds: how far, how fast, how long still."""
    rate = requests / elapsed * 60.0 if elapsed > 0 else 0.0
    left = (total - done) * elapsed / done if done else None
    return "%d/%d cases done, %d changed, %d failed, %.0f requests/min, %s" % (
        done,
        total,
        changed,
        failed,
        rate,
        "about %.0f s left" % left if left is not None else "time left unknown",
    )
