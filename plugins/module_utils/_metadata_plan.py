# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""What a task wants versus what a case has: every rule about what changes lives here.

Pure functions only (no I/O, no module object), so that the modules, the action
plugins and the unit tests all use the same decisions.
"""

from __future__ import annotations

import datetime
from collections import namedtuple
from collections.abc import Mapping

KEY_LIMIT = 100

MetadataChanges = namedtuple("MetadataChanges", ["add", "update", "remove"])
"""`add` and `update` map keys to string values; `remove` is a sorted list of keys."""


class MetadataInputError(ValueError):
    """The task's `metadata` cannot be sent to Tines; raised before any request."""


def canonical_value(value):
    """Render a scalar the one way Tines will store it, so that `priority: 3` stays idempotent.

    Strings are kept as given, booleans become `true`/`false`, numbers take
    Python's `str()` form (`3`, `2.5`) and dates (an unquoted `2026-11-28` in
    YAML) their ISO 8601 form. Tines stores strings only, so nested values have
    no faithful form and are refused.
    """
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    raise MetadataInputError("must be a string, number, boolean or date, got %s" % _kind(value))


def _kind(value):
    """A type name users recognise (Ansible may hand over its own tagged subclasses)."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a dictionary"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    return type(value).__name__


def desired_metadata(metadata, allow_null=False):
    """Validate the task's `metadata` and return it with canonical keys and values.

    With `allow_null` (state=absent) a null value is kept as `None`, meaning
    "whatever the value".
    """
    if not isinstance(metadata, Mapping):
        raise MetadataInputError("metadata must be a dictionary of key/value pairs")
    desired = {}
    for key, value in metadata.items():
        name = canonical_key(key)
        if name in desired:
            raise MetadataInputError("metadata key %r is given more than once" % name)
        if value is None and allow_null:
            desired[name] = None
            continue
        try:
            desired[name] = canonical_value(value)
        except MetadataInputError as exc:
            raise MetadataInputError("metadata value for key %r %s" % (name, exc)) from None
    return desired


def case_number(value):
    """A case number from a positive int or a string of digits (templates often give strings), else None."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    return number if number is not None and number > 0 else None


def canonical_key(key):
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise MetadataInputError("metadata keys must be strings, got %r" % (key,))
    name = str(key)
    if not name.strip():
        raise MetadataInputError("metadata keys must not be empty or blank")
    return name


def missing_keys(current, desired):
    """Pairs whose key the case does not have yet: the only ones a POST may carry."""
    return {key: value for key, value in desired.items() if key not in current}


def changed_keys(current, desired):
    """Pairs present on the case with another value (a non-string value always differs)."""
    return {key: value for key, value in desired.items() if key in current and current[key] != value}


def unlisted_keys(current, desired):
    """Keys on the case that the task does not name: what `purge` removes."""
    return sorted(key for key in current if key not in desired)


def matching_keys(current, targets):
    """Keys to remove for state=absent: present, and holding the given value unless it is None."""
    return sorted(key for key, value in targets.items() if key in current and (value is None or current[key] == value))


def plan_changes(current, desired, state="present", overwrite=False, purge=False):
    """Decide the writes that take `current` to what the task asks, touching nothing else."""
    if state == "absent":
        return MetadataChanges({}, {}, matching_keys(current, desired))
    return MetadataChanges(
        add=missing_keys(current, desired),
        update=changed_keys(current, desired) if overwrite else {},
        remove=unlisted_keys(current, desired) if purge else [],
    )


def apply_changes(current, changes):
    """The case's metadata after the writes, computed without another read."""
    result = dict(current)
    result.update(changes.add)
    result.update(changes.update)
    for key in changes.remove:
        result.pop(key, None)
    return result


def has_changes(changes):
    return bool(changes.add or changes.update or changes.remove)


def key_limit_error(current, changes, limit=KEY_LIMIT):
    """A message when the writes would leave the case with more keys than Tines allows, else None."""
    final_count = len(apply_changes(current, changes))
    if changes.add and final_count > limit:
        return (
            "this change would leave the case with %d metadata keys (%d now, %d to add, %d to remove); Tines allows at most %d"
            % (
                final_count,
                len(current),
                len(changes.add),
                len(changes.remove),
                limit,
            )
        )
    return None
