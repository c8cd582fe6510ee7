# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The case_events source's I/O: one poll over the client, and the state file.

A poll lists the watched cases in RECENTLY_EDITED order, page by page, until a page
reaches the watermark (_case_events_plan.py decides the rest), under the same guard
as tines_case_info. Synchronous, like the client: the source runs it off the event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

from ansible_collections.tines.cases.plugins.module_utils._case_events_plan import (
    CaseAnswerError,
    CaseEventsInputError,
    advance,
    case_times,
    new_events,
    page_size,
    reaches_watermark,
    remember,
    start_watch,
    state_document,
    state_identity,
    watch_from_document,
)
from ansible_collections.tines.cases.plugins.module_utils._case_list import (
    ListAnswerError,
    Paging,
    first_contradiction,
    list_path,
    query_pairs,
    unchecked_names,
    undecided,
)
from ansible_collections.tines.cases.plugins.module_utils._case_list_task import confirm_filters, read_page
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError, TransientError
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import read_metadata

ORDER = "RECENTLY_EDITED"


def is_transient(error):
    """Whether a failure may pass by itself: HTTP 429 or 5xx, a lost connection or a timeout, after the client's own
    retries. The client raises those from the TransientError it gave up on, so the chain tells."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, TransientError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


class FilterGuard:
    """tines_case_info's guard over every page of every poll: a case contradicting the filters ends the watch, and
    each filter that listed cases cannot show needs the guard's evidence, once, at the first poll listing a case."""

    def __init__(self, client, query):
        self.client = client
        self.query = query
        self.confirmed = set()

    def check(self, cases):
        problem = first_contradiction(self.query.filters, self.query.team_id, cases)
        if problem:
            raise TinesError(problem)
        if not cases:
            return
        names = unchecked_names(self.query.filters) + undecided(self.query.filters, cases)
        needed = [name for name in names if name not in self.confirmed]
        if needed:
            confirm_filters(self.client, self.query, needed)
            self.confirmed.update(needed)


class CaseWatcher:
    """One watch of a tenant's cases: the client, the guard, what was reported, and where that is kept."""

    def __init__(self, client, query, since, state_file=None):
        self.client = client
        self.query = query._replace(order=ORDER, limit=None)
        self.guard = FilterGuard(client, self.query)
        self.identity = state_identity(client.base_url, query.team_id, query.filters)
        self.state_file = state_file
        self.resumed = False
        self.watch = start_watch(since)
        self.written = None
        if state_file:
            document = read_state(state_file)
            if document is not None:
                self.watch = watch_from_document(document, self.identity, state_file)
                self.resumed = True
            self.save()

    def poll(self):
        """(every case listed down to the watermark, the events they make), metadata filled in where the list
        left it out."""
        cases = self.read_changes()
        return cases, self.with_metadata(new_events(self.watch, cases))

    def read_changes(self):
        per_page = page_size(self.watch)
        listed = []
        keys = set()
        paging = Paging()
        while True:
            pairs = query_pairs(self.query.filters, self.query.team_id, ORDER, paging.page, per_page)
            cases, meta = read_page(self.client, pairs)
            self.guard.check(cases)
            listed.extend(cases)
            try:
                if reaches_watermark(self.watch, cases):
                    return listed
                unseen = {case_times(case)[0] for case in cases} - keys
                keys.update(unseen)
                if paging.advance(meta, len(cases), bool(unseen)) is None:
                    return listed
            except (CaseAnswerError, ListAnswerError) as exc:
                raise TinesError("GET %s: %s" % (list_path(pairs), exc)) from None

    def with_metadata(self, events):
        """The events, each case with its metadata: read from the case when the list left it out. A case not
        found (404) is left out; if the next poll still lists it, it is tried again."""
        complete = []
        for event in events:
            if not isinstance(event.case.get("metadata"), dict):
                try:
                    metadata = read_metadata(self.client, int(event.key))
                except TinesError as exc:
                    if exc.status == 404:
                        continue
                    raise
                event = event._replace(case={**event.case, "metadata": metadata})
            complete.append(event)
        return complete

    def handed_over(self, events, cases=None, poll_started=None):
        """Record what the rulebook received; with the poll's cases (all its events handed over), move the
        watermark on too."""
        self.watch = remember(self.watch, events)
        if cases is not None:
            self.watch = advance(self.watch, cases, poll_started)
        self.save()

    def save(self):
        """Write the state file when its content changed (a quiet poll writes nothing)."""
        if not self.state_file:
            return
        document = state_document(self.watch, self.identity)
        if document != self.written:
            write_state(self.state_file, document)
            self.written = document


def read_state(path):
    """The state file's JSON, or None when there is none yet."""
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CaseEventsInputError("state_file %s cannot be read: %s" % (path, exc)) from None


def write_state(path, document):
    """Replace the state file in one step (a temporary file beside it, then os.replace): a crash leaves the old or
    the new content, never half of one. The file is readable by its owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    except OSError as exc:
        raise CaseEventsInputError("state_file %s cannot be written: %s" % (path, exc)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=1, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise CaseEventsInputError("state_file %s cannot be written: %s" % (path, exc)) from None
