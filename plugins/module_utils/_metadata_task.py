# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""The tasks themselves: options -> one read -> decision -> writes -> result.

Shared by the modules (run on the target) and the action plugins (run in-process
on the controller), so both paths give the same results, check mode and errors.
"""

from __future__ import annotations

from ansible_collections.tines.cases.plugins.module_utils._arguments import check_case_id, check_metadata_input
from ansible_collections.tines.cases.plugins.module_utils._client import TinesError
from ansible_collections.tines.cases.plugins.module_utils._connection import client_from_params, with_warnings
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import (
    KEY_LIMIT,
    MetadataChanges,
    apply_changes,
    changed_keys,
    has_changes,
    key_limit_error,
    missing_keys,
    plan_changes,
)


def metadata_path(case_id):
    return "/api/v2/cases/%d/metadata" % case_id


def read_metadata(client, case_id):
    """The case's metadata from the List endpoint; a missing or null map counts as empty."""
    path = metadata_path(case_id)
    data = client.request("GET", path)
    metadata = data.get("metadata") if isinstance(data, dict) else data
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TinesError("GET %s: expected a JSON object with a metadata map, got %s" % (path, type(metadata).__name__))
    return metadata


class CaseWriter:
    """Sends one case's writes; after a failed write it re-reads and resends only what is still needed.

    The result is the latest read with every later write applied, so it is right
    whatever the POST/PUT responses hold and needs no final read.
    """

    def __init__(self, client, case_id, current):
        self.client = client
        self.path = metadata_path(case_id)
        self.case_id = case_id
        self.base = current
        self.since_read = []

    def reread(self):
        self.base = read_metadata(self.client, self.case_id)
        self.since_read = []
        return self.base

    def result(self):
        metadata = self.base
        for changes in self.since_read:
            metadata = apply_changes(metadata, changes)
        return metadata

    def add(self, pairs):
        """POST new pairs; a 422 because another run added some of them meanwhile sends only the rest.

        Tines may refuse a POST naming a key that exists. After a 422, a fresh read that
        shows some of the keys now present means another run won the race: what is still
        missing is sent again. A read showing none of them means the 422 was about
        something else, and it stands. Each round needs a key of ours to appear, so
        it ends.
        """
        try:
            self._send(
                "POST", pairs, lambda fresh: missing_keys(fresh, pairs), lambda sent: MetadataChanges(sent, {}, [])
            )
        except TinesError as exc:
            if exc.status != 422:
                raise
            base = self.base
            fresh = self.reread()
            if not any(key in fresh and key not in base for key in pairs):
                raise
            missing = missing_keys(fresh, pairs)
            if missing:
                self.add(missing)

    def update(self, pairs):
        self._send("PUT", pairs, lambda fresh: changed_keys(fresh, pairs), lambda sent: MetadataChanges({}, sent, []))

    def remove(self, keys):
        self._send(
            "DELETE",
            keys,
            lambda fresh: [key for key in keys if key in fresh],
            lambda sent: MetadataChanges({}, {}, sent),
        )

    def _send(self, method, payload, still_needed, as_changes):
        """Send one write; before a retry, re-read and send only what `still_needed(fresh_map)` returns."""
        body = {"metadata": payload}

        def refresh():
            body["metadata"] = still_needed(self.reread()) or None
            return body if body["metadata"] is not None else None

        answer = self.client.request(method, self.path, body, refresh=refresh, allow_empty=method == "DELETE")
        if body["metadata"] is not None:
            self.since_read.append(as_changes(kept_values(body["metadata"], answer)))

    def apply(self, changes):
        """POST, then PUT, then DELETE; DELETE goes first only when adding first would pass the key limit."""
        delete_first = changes.remove and len(self.base) + len(changes.add) > KEY_LIMIT
        if delete_first:
            self.remove(changes.remove)
        if changes.add:
            self.add(changes.add)
        if changes.update:
            self.update(changes.update)
        if changes.remove and not delete_first:
            self.remove(changes.remove)
        return self.result()


def kept_values(sent, answer):
    """The sent pairs as Tines says it stored them, when its answer shows them.

    Another job may have added the same key a moment earlier; Create keeps that
    value, and the result must report what the case holds, not what was sent.
    """
    stored = answer.get("metadata") if isinstance(answer, dict) else None
    if not isinstance(sent, dict) or not isinstance(stored, dict):
        return sent
    return {key: stored.get(key, value) for key, value in sent.items()}


def made_changes(before, after, planned):
    """The planned writes that the case now reflects: what the task really did."""
    return MetadataChanges(
        add={key: value for key, value in planned.add.items() if key not in before and after.get(key) == value},
        update={key: value for key, value in planned.update.items() if key in before and after.get(key) == value},
        remove=[key for key in planned.remove if key in before and key not in after],
    )


class PartlyWritten(TinesError):
    """A write failed after others went through: the error, with what the case now holds and what was done."""

    def __init__(self, error, after, done):
        super().__init__(str(error), error.status)
        self.after = after
        self.done = done


def plan_for(case_id, before, desired, params):
    """The writes that take `before` to what the task asks, or TinesError when they would pass the key limit."""
    planned = plan_changes(before, desired, params["state"], params["overwrite"], params["purge"])
    limit_error = key_limit_error(before, planned)
    if limit_error:
        raise TinesError("case %d: %s" % (case_id, limit_error))
    return planned


def write_planned(client, case_id, before, planned, check_mode):
    """Send the planned writes (none in check mode): (the metadata after them, what was done).

    A failure after some writes went through raises PartlyWritten.
    """
    if check_mode or not has_changes(planned):
        return apply_changes(before, planned), planned
    writer = CaseWriter(client, case_id, before)
    try:
        after = writer.apply(planned)
    except TinesError as exc:
        after = writer.result()
        done = made_changes(before, after, planned)
        if has_changes(done):
            raise PartlyWritten(exc, after, done) from None
        raise
    return after, made_changes(before, after, planned)


def run_metadata(params, check_mode=False, diff_mode=False, environment=None):
    """Make the case's metadata what the task asks; return the task result (raises TinesError)."""
    case_id = check_case_id(params["case_id"])
    desired = check_metadata_input(params)
    client = client_from_params(params, environment)
    before = read_metadata(client, case_id)
    after, done = write_planned(client, case_id, before, plan_for(case_id, before, desired, params), check_mode)
    result = dict(
        changed=has_changes(done),
        case_id=case_id,
        metadata=after,
        added=done.add,
        updated=done.update,
        removed=done.remove,
    )
    if diff_mode:
        result["diff"] = dict(before=before, after=after)
    return with_warnings(result, client)


def run_metadata_info(params, check_mode=False, diff_mode=False, environment=None):  # pylint: disable=unused-argument
    """Read a case's metadata; never writes, so check mode changes nothing."""
    case_id = check_case_id(params["case_id"])
    client = client_from_params(params, environment)
    return with_warnings(dict(changed=False, case_id=case_id, metadata=read_metadata(client, case_id)), client)
