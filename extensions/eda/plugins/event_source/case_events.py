# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible source tines.cases.case_events: an event for each new or changed Tines case."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: case_events
short_description: An event for each Tines case that is created or changed
version_added: 0.3.0
description:
  - >-
    An event source for C(ansible-rulebook) and the EDA controller. It polls the case list of a Tines tenant
    (C(GET /api/v2/cases) in C(RECENTLY_EDITED) order) every O(interval) seconds and puts one event on the
    rulebook's queue for each case that is new or changed, C({"case": <case>, "change": "new" | "updated"}).
  - Needs only outbound HTTPS to the tenant, like the modules, with the same client, TLS rules, retries and
    shared rate budget.
  - C(case) is the case as the list gives it (C(case_id), C(name), C(status), C(team), C(tags), C(created_at),
    C(updated_at), ...), its C(metadata) included; when the tenant's list leaves metadata out it is read from
    C(GET /api/v2/cases/{case_id}/metadata).
  - C(change) is V(new) for the first event of a case created after the source had already looked (after
    O(since) on the first poll, after the watermark on later ones), and V(updated) for every other event, that
    is, a later C(updated_at) of a case already reported, or a case created earlier that was edited. A case that
    comes into the filters through an edit (reopened, tagged) is therefore V(updated), unless it was created
    within the last poll.
  - Each (case, C(updated_at)) makes one event. Any edit of a case moves its C(updated_at) (metadata added,
    status changed, ...); edits between two polls make one event with the case as it is then.
  - The first poll reports the cases updated after O(since). Every poll reads pages (as many cases per page as
    the source remembers, plus 20, at most 500) only until it meets a case updated at or before the watermark,
    so a poll that finds nothing new costs one request. The watermark trails the start of the last complete poll
    by 60 seconds, and never passes the latest C(updated_at) the tenant has shown, so that an edit that becomes
    visible late is still reported; the source remembers the cases it reported above the watermark, so that
    none is reported twice, and forgets them once the watermark passes them.
  - Errors that cannot pass end the source with a message that names the problem (the API key is never in it)
    when it starts or at the poll that meets them - bad arguments, an unreadable O(state_file), a refused key
    (HTTP 401 or 403), an answer showing that the tenant ignored the filters, any other HTTP 4xx answer, a TLS
    failure, an answer that is not a case list. Faults that may pass (HTTP 429 and 5xx, lost connections,
    timeouts) are retried by the client as in the modules (see O(max_retries) and O(rate_limit_timeout)); when
    they persist, the source logs a warning, skips that poll and tries again after O(interval).
author:
  - Tines Cases contributors (@tines-cases)
options:
  filters:
    description:
      - >-
        The cases to watch, by the filters of the Tines case list, with the names, values and encoding of
        M(tines.cases.tines_case_info)'s O(tines.cases.tines_case_info#module:filters), for example
        V({status: OPEN, metadata: {source: edr}}). Without it, every case the API key can see is watched.
      - The same check against ignored filters applies, to every page of every poll; filters that no listed case
        can contradict need its evidence once, at the first poll that lists a case. A failed check ends the
        source instead of reporting cases the filters should have left out.
    type: dict
  team_id:
    description:
      - Watch only the cases of this team (a positive team id).
    type: int
  interval:
    description:
      - Seconds between the end of one poll and the start of the next. The first poll runs when the source starts.
    type: float
    default: 60
  since:
    description:
      - An ISO 8601 time, such as V(2026-12-01T09:30:00Z) (quote it in the rulebook); without a zone it is UTC.
        The first poll reports the cases updated after it.
      - Defaults to the moment the source starts (by the clock of the machine running it), so a new watch does
        not report the cases that existed before.
      - Ignored when O(state_file) holds the state of an earlier run; the watch goes on from there.
    type: str
  state_file:
    description:
      - A file where the source keeps its watermark and the cases it reported above it, so that after a restart
        it reports what changed while it was stopped, and nothing it had reported. Without it, a restart starts
        again from O(since).
      - Written at start (its directory must exist) and after each poll that changed it, atomically (a temporary
        file in the same directory, then a rename), readable by its owner only. It holds the tenant URL, the
        filters, O(team_id), times and case numbers; never the API key.
      - A state file of another tenant, O(team_id) or O(filters) is refused; give each source its own file.
      - Needs storage that outlives the source, which an EDA controller activation does not have by default.
    type: path
  tenant_url:
    description:
      - Base URL of the Tines tenant, for example V(https://acme.tines.com). Plain V(http://) only to loopback
        addresses unless O(allow_plain_http=true).
      - If not set, E(TINES_TENANT_URL) is used, and failing that E(TINES_TENANT).
    type: str
  api_key:
    description:
      - Tines API key that can read the watched cases. Never logged, never in an event or the state file.
      - If not set, E(TINES_API_KEY) is used.
    type: str
  auth_header:
    description:
      - "How the key is sent: V(bearer) as C(Authorization: Bearer <key>), V(x-user-token) as C(X-User-Token)."
    type: str
    choices: [bearer, x-user-token]
    default: bearer
  validate_certs:
    description:
      - Whether to verify the tenant's TLS certificate. V(false) logs a warning at start.
    type: bool
    default: true
  ca_path:
    description:
      - PEM bundle of CA certificates to verify the tenant's certificate with (self-hosted tenants).
    type: path
  timeout:
    description:
      - Seconds to wait for Tines to connect and to answer each request.
    type: float
    default: 30
  max_retries:
    description:
      - How many times a request is retried after HTTP 500, 502, 503, 504, a timeout or a lost connection, with
        growing waits (honouring C(Retry-After)) of at most 120 seconds in all.
    type: int
    default: 5
  rate_limit:
    description:
      - Requests per minute this host may send with this key; shared with every playbook, fork and source on the
        host that uses the same tenant and key. V(0) turns pacing off.
      - If not set, E(TINES_RATE_LIMIT) is used.
    type: int
    default: 5000
  rate_limit_timeout:
    description:
      - How long, in seconds, one request may keep being answered HTTP 429 before the poll gives up.
    type: float
    default: 600
  rate_limit_window:
    description:
      - The length, in seconds, of the window Tines counts O(rate_limit) requests in.
    type: float
    default: 60
  allow_plain_http:
    description:
      - Allow an V(http://) O(tenant_url) that is not a loopback address (the key then crosses the network
        unencrypted).
    type: bool
    default: false
requirements:
  - requests >= 2.25 and ansible-core in the Python that runs C(ansible-rulebook) (the decision environment)
notes:
  - Delivery is at least once with O(state_file), at most once per (case, C(updated_at)) while the source runs.
    The state file is written after the events of a poll are on the rulebook's queue, so a crash in between
    repeats them after the restart; an event the rulebook had received but not yet acted on when it stopped is
    not repeated.
  - The options are those of the modules, with the same environment variables, so the same credentials serve
    both.
seealso:
  - module: tines.cases.tines_case_info
  - module: tines.cases.tines_case_metadata
"""

EXAMPLES = r"""
- name: Isolate the host of each new EDR case, then tag the case
  hosts: all
  sources:
    - name: Open cases from the EDR
      tines.cases.case_events:
        tenant_url: https://acme.tines.com
        api_key: "{{ TINES_API_KEY }}"
        filters:
          status: OPEN
          metadata:
            source: edr
        interval: 60
        state_file: /var/lib/eda/tines-edr-cases.json
  rules:
    - name: A new EDR case
      condition: event.change == "new"
      action:
        run_playbook:
          name: isolate_and_tag.yml
"""

import asyncio
import datetime
import logging
import os
import sys


def _own_collection_first():
    """Import this source's own copy of the collection: ansible-rulebook runs the file by path, outside Ansible's
    collection loader, so the directory holding its ansible_collections tree goes to the front of sys.path."""
    path = os.path.abspath(__file__)
    parts = path.split(os.sep)
    if parts[-8:-5] == ["ansible_collections", "tines", "cases"]:
        root = os.sep.join(parts[:-8]) or os.sep
        if root not in sys.path:
            sys.path.insert(0, root)


_own_collection_first()

from ansible_collections.tines.cases.plugins.module_utils._arguments import (
    CASE_INFO_ARGUMENT_SPEC,
    check_case_info_input,
    validated_options,
)
from ansible_collections.tines.cases.plugins.module_utils._case_events_plan import (
    SOURCE_NAME,
    CaseEventsInputError,
    check_interval,
    check_since,
    event_body,
    time_text,
)
from ansible_collections.tines.cases.plugins.module_utils._case_events_task import CaseWatcher, is_transient
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    client_from_params,
    connection_warnings,
)
from ansible_collections.tines.cases.plugins.module_utils._redact import redact, redact_text, secrets_of

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    filters=CASE_INFO_ARGUMENT_SPEC["filters"],
    team_id=CASE_INFO_ARGUMENT_SPEC["team_id"],
    interval=dict(type="float", default=60),
    since=dict(type="str"),
    state_file=dict(type="path"),
)
# What ansible-rulebook itself may add to a source's arguments.
RULEBOOK_ARGUMENTS = ("eda_feedback_queue",)
LOGGER = logging.getLogger(SOURCE_NAME)


def start(args, now=None):
    """(the watcher, the interval) for the source's arguments; TinesError, the key masked, for anything unusable.

    Nothing here is retried: a refused key or a bad state file stays so.
    """
    given = {name: value for name, value in args.items() if name not in RULEBOOK_ARGUMENTS}
    params, error = validated_options(ARGUMENT_SPEC, given, SOURCE_NAME, "event source")
    secrets = secrets_of(ARGUMENT_SPEC, params)
    try:
        if error:
            raise TinesError(error)
        query = check_case_info_input(params)
        interval = check_interval(params["interval"])
        since = check_since(params["since"], now or datetime.datetime.now(datetime.timezone.utc))
        client = client_from_params(params)
        watcher = CaseWatcher(client, query, since, params["state_file"])
    except CaseEventsInputError as exc:
        raise TinesError(redact_text(str(exc), secrets)) from None
    except TinesError as exc:
        raise exc.redacted(secrets) from None
    for warning in connection_warnings(params):
        LOGGER.warning(warning)
    log_warnings(client)
    return watcher, interval


def log_warnings(client):
    """Log what the client found worth a warning (a rate budget it could not share, say), once."""
    for warning in client.warnings:
        LOGGER.warning(warning)
    del client.warnings[:]


async def main(queue, args):
    """ansible-rulebook's entry point: poll now, then every `interval` seconds, until the rulebook stops."""
    watcher, interval = await asyncio.to_thread(start, args)
    LOGGER.info(
        "watching the cases of %s updated after %s%s, every %g s",
        watcher.client.base_url,
        time_text(watcher.watch.watermark),
        " (resumed from %s)" % watcher.state_file if watcher.resumed else "",
        interval,
    )
    while True:
        await poll(queue, watcher, interval)
        await asyncio.sleep(interval)


async def poll(queue, watcher, interval):
    """One poll: its events onto the queue, oldest change first, then the state recorded. Faults that may pass are
    logged; anything else ends the source."""
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        cases, events = await asyncio.to_thread(watcher.poll)
    except TinesError as exc:
        if not is_transient(exc):
            raise
        LOGGER.warning("%s; polling again in %g s", exc, interval)
        return
    finally:
        log_warnings(watcher.client)
    handed = []
    try:
        for event in events:
            await queue.put(redact(event_body(event), watcher.client.secrets))
            handed.append(event)
    finally:
        # Also when the rulebook stops the source halfway: what it received is never sent again.
        complete = len(handed) == len(events)
        try:
            watcher.handed_over(handed, cases if complete else None, started)
        except CaseEventsInputError as exc:
            LOGGER.warning("%s; trying again after the next poll", exc)
    LOGGER.debug("poll listed %d cases, %d events", len(cases), len(events))
