# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The case_events source's decisions: what to emit, how far it has looked, what to forget, what it keeps on disk.

Pure functions only (no I/O, no clock), like _metadata_plan.py; the polls
themselves are in _case_events_task.py.

The source remembers a watermark and the cases it reported above it. Cases updated
at or before the watermark count as handled; a case updated after it is reported
unless the same (case, updated_at) was reported already. The watermark trails the
start of the last complete poll by OVERLAP and never passes the newest `updated_at`
the tenant has shown, so a case whose edit becomes visible late (a slow commit, an
edit during the poll) is still found, and the clock of the machine running the
source cannot push it past what the tenant has shown.
"""

from __future__ import annotations

import datetime
import re
from collections import namedtuple
from collections.abc import Mapping

from ansible_collections.tines.cases.plugins.module_utils._case_list import MAX_PER_PAGE

OVERLAP = datetime.timedelta(seconds=60)
PAGE_SLACK = 20
STATE_VERSION = 1
SOURCE_NAME = "tines.cases.case_events"
UTC = datetime.timezone.utc
ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?\Z"
)

Watch = namedtuple("Watch", ["since", "watermark", "newest", "seen"])
"""What the source knows between polls.

since: where it started looking (the `since` option, or the first start); watermark:
cases updated at or before it are handled; newest: the latest `updated_at` the tenant
has shown, or None; seen: case key -> the `updated_at` last reported, for reports above
the watermark. Times are aware datetimes in UTC.
"""

CaseEvent = namedtuple("CaseEvent", ["key", "updated_at", "change", "case"])


class CaseEventsInputError(ValueError):
    """An option or the state file cannot be used; raised before any request."""


class CaseAnswerError(ValueError):
    """A listed case without the case_id or times the source decides by."""


# --- times ------------------------------------------------------------------------


def parse_time(value, label):
    """An aware UTC datetime from ISO 8601 text (or a datetime); a time without a zone is UTC."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    else:
        match = ISO_8601.match(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ValueError("%s must be an ISO 8601 time such as 2026-12-01T09:30:00Z, got %r" % (label, value))
        moment = _from_match(match, label)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _from_match(match, label):
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError as exc:
        raise ValueError("%s %r is not a real time (%s)" % (label, match.group(0), exc)) from None
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        moment = moment.replace(tzinfo=datetime.timezone(-offset if zone[0] == "-" else offset))
    return moment


def time_text(moment):
    """The one text form times take in the state file: UTC, microseconds, "Z"."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- options ----------------------------------------------------------------------


def check_since(since, now):
    """The time to report changes after: `since` when given, else `now` (the source's start)."""
    if since is None or (isinstance(since, str) and not since.strip()):
        return now
    try:
        return parse_time(since, "since")
    except ValueError as exc:
        raise CaseEventsInputError(str(exc)) from None


def check_interval(interval):
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise CaseEventsInputError("interval must be a positive number of seconds, got %r" % (interval,))
    return float(interval)


# --- polls ------------------------------------------------------------------------


def start_watch(since):
    return Watch(since, since, None, {})


def page_size(watch):
    """Cases per page: enough for the remembered cases and PAGE_SLACK more, so a poll finding nothing new costs one
    request."""
    return min(MAX_PER_PAGE, len(watch.seen) + PAGE_SLACK)


def case_times(case):
    """(key, updated_at, created_at) of a listed case; CaseAnswerError when the case does not show them."""
    case_id = case.get("case_id")
    if isinstance(case_id, bool) or not isinstance(case_id, (int, str)) or not str(case_id).strip().isdigit():
        raise CaseAnswerError("a listed case has case_id %r, not a case number" % (case_id,))
    key = str(int(case_id))
    try:
        return key, parse_time(case.get("updated_at"), "updated_at"), parse_time(case.get("created_at"), "created_at")
    except ValueError as exc:
        raise CaseAnswerError("case %s: %s" % (key, exc)) from None


def reaches_watermark(watch, cases):
    """Whether a page listed in RECENTLY_EDITED order reached what earlier polls covered: no need for the next."""
    times = [case_times(case)[1] for case in cases]  # every case checked, so later decisions cannot meet a bad one
    return any(updated_at <= watch.watermark for updated_at in times)


def new_events(watch, cases):
    """The events a poll's cases make, oldest change first; each (case, updated_at) once.

    `new` is the first report of a case created after the watermark: no earlier
    version of it can have been reported. Any other report is `updated`: a later
    version of a reported case, or a case created before the watermark that was
    edited (which includes a case edited into the filters, such as a reopened one).
    """
    latest = {}
    for case in cases:
        key, updated_at, created_at = case_times(case)
        if key not in latest or updated_at > latest[key][0]:
            latest[key] = (updated_at, created_at, case)
    events = []
    for key, (updated_at, created_at, case) in latest.items():
        if updated_at <= watch.watermark or (key in watch.seen and watch.seen[key] >= updated_at):
            continue
        change = "new" if key not in watch.seen and created_at > watch.watermark else "updated"
        events.append(CaseEvent(key, updated_at, change, case))
    return sorted(events, key=lambda event: (event.updated_at, int(event.key)))


def remember(watch, events):
    """The watch once `events` were handed over: each reported (case, updated_at) is never reported again."""
    seen = dict(watch.seen)
    for event in events:
        seen[event.key] = max(event.updated_at, seen.get(event.key, event.updated_at))
    return watch._replace(seen=seen)


def advance(watch, cases, poll_started):
    """The watch after a complete poll that started at `poll_started` and listed `cases`: a later watermark, and the
    reports at or below it forgotten (memory holds only the changes of about the last OVERLAP)."""
    newest = watch.newest
    for case in cases:
        updated_at = case_times(case)[1]
        newest = updated_at if newest is None or updated_at > newest else newest
    watermark = watch.watermark
    if newest is not None:
        watermark = max(watermark, min(newest, poll_started - OVERLAP))
    seen = {key: updated_at for key, updated_at in watch.seen.items() if updated_at > watermark}
    return Watch(watch.since, watermark, newest, seen)


def event_body(event):
    """What the rulebook receives."""
    return {"case": event.case, "change": event.change}


# --- the state file ---------------------------------------------------------------


def state_identity(tenant_url, team_id, filters):
    """What a state file is about: a watch of one tenant's cases under one team_id and filters."""
    return {"tenant_url": tenant_url, "team_id": team_id, "filters": filters}


def state_document(watch, identity):
    """The state file's content (JSON): the identity and the watch. No secret is in either."""
    return {
        "source": SOURCE_NAME,
        "version": STATE_VERSION,
        **identity,
        "since": time_text(watch.since),
        "watermark": time_text(watch.watermark),
        "newest": None if watch.newest is None else time_text(watch.newest),
        "seen": {key: time_text(updated_at) for key, updated_at in sorted(watch.seen.items(), key=_numeric)},
    }


def _numeric(item):
    return int(item[0])


def watch_from_document(document, identity, path):
    """The watch a state file holds, or CaseEventsInputError when it is not one of this source's, or not for this
    tenant, team_id and filters."""
    if not isinstance(document, Mapping) or document.get("source") != SOURCE_NAME:
        raise CaseEventsInputError("state_file %s is not a state file of %s" % (path, SOURCE_NAME))
    if document.get("version") != STATE_VERSION:
        raise CaseEventsInputError(
            "state_file %s has version %r; this release reads version %d"
            % (path, document.get("version"), STATE_VERSION)
        )
    for name, value in identity.items():
        if document.get(name) != value:
            raise CaseEventsInputError(
                "state_file %s was written for %s %s, not %s; give each watch its own state_file (or delete this one "
                "to start again from since)" % (path, name, _shown(document.get(name)), _shown(value))
            )
    try:
        seen = document.get("seen")
        if not isinstance(seen, Mapping) or not all(str(key).isdigit() for key in seen):
            raise ValueError("seen must map case numbers to times")
        return Watch(
            parse_time(document.get("since"), "since"),
            parse_time(document.get("watermark"), "watermark"),
            None if document.get("newest") is None else parse_time(document["newest"], "newest"),
            {str(key): parse_time(text, "seen[%s]" % key) for key, text in seen.items()},
        )
    except ValueError as exc:
        raise CaseEventsInputError("state_file %s cannot be read: %s" % (path, exc)) from None


def _shown(value):
    return "(none)" if value is None else repr(value)
