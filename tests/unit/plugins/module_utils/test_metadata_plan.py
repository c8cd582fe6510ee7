"""The pure desired-vs-current decisions: which keys to add, update and remove."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import (
    MetadataChanges,
    MetadataInputError,
    apply_changes,
    canonical_value,
    changed_keys,
    desired_metadata,
    has_changes,
    key_limit_error,
    matching_keys,
    missing_keys,
    plan_changes,
    unlisted_keys,
)

CURRENT = {"source": "edr", "ticket": "OPS-1", "sev": "2"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("edr", "edr"),
        ("", ""),
        (3, "3"),
        (-7, "-7"),
        (2.5, "2.5"),
        (1e-05, "1e-05"),
        (True, "true"),
        (False, "false"),
        ("True", "True"),
        (datetime.date(2026, 11, 28), "2026-11-28"),
        (datetime.datetime(2026, 11, 28, 9, 5, 0), "2026-11-28T09:05:00"),
    ],
)
def test_canonical_value(value, expected):
    assert canonical_value(value) == expected


@pytest.mark.parametrize("value", [None, {"a": 1}, ["a"], ("a",), object()])
def test_canonical_value_refuses_non_scalars(value):
    with pytest.raises(MetadataInputError, match="must be a string, number, boolean or date"):
        canonical_value(value)


def test_desired_metadata_converts_values_and_names_the_bad_key():
    assert desired_metadata({"priority": 3, "triaged": True, "note": "x"}) == {
        "priority": "3",
        "triaged": "true",
        "note": "x",
    }
    with pytest.raises(MetadataInputError, match="'owner'.*got a dictionary"):
        desired_metadata({"ok": "1", "owner": {"team": "blue"}})
    with pytest.raises(MetadataInputError, match="'gone'.*got null"):
        desired_metadata({"gone": None})


def test_desired_metadata_keeps_null_only_for_absent():
    assert desired_metadata({"gone": None, "sev": 2}, allow_null=True) == {"gone": None, "sev": "2"}


@pytest.mark.parametrize("metadata", [{"": "x"}, {"  ": "x"}, {True: "x"}, {None: "x"}])
def test_desired_metadata_refuses_bad_keys(metadata):
    with pytest.raises(MetadataInputError, match="keys"):
        desired_metadata(metadata)


def test_desired_metadata_refuses_keys_that_collide_once_converted():
    with pytest.raises(MetadataInputError, match="more than once"):
        desired_metadata({1: "a", "1": "b"})


def test_desired_metadata_refuses_non_dict():
    with pytest.raises(MetadataInputError, match="dictionary"):
        desired_metadata(["a"])


def test_missing_keys_ignores_present_keys_whatever_their_value():
    assert missing_keys(CURRENT, {"source": "siem", "owner": "blue"}) == {"owner": "blue"}


def test_changed_keys_treats_non_string_current_values_as_different():
    assert changed_keys({"sev": 2, "a": "x"}, {"sev": "2", "a": "x", "new": "1"}) == {"sev": "2"}


def test_unlisted_and_matching_keys():
    assert unlisted_keys(CURRENT, {"ticket": "x"}) == ["sev", "source"]
    assert matching_keys(CURRENT, {"source": None, "sev": "3", "ticket": "OPS-1", "nope": None}) == [
        "source",
        "ticket",
    ]


@pytest.mark.parametrize(
    ("kwargs", "desired", "expected"),
    [
        ({}, {"source": "siem", "owner": "blue"}, MetadataChanges({"owner": "blue"}, {}, [])),
        (
            {"overwrite": True},
            {"source": "siem", "owner": "blue"},
            MetadataChanges({"owner": "blue"}, {"source": "siem"}, []),
        ),
        ({"purge": True}, {"source": "siem"}, MetadataChanges({}, {}, ["sev", "ticket"])),
        (
            {"overwrite": True, "purge": True},
            {"source": "siem", "new": "1"},
            MetadataChanges({"new": "1"}, {"source": "siem"}, ["sev", "ticket"]),
        ),
        ({"purge": True}, {}, MetadataChanges({}, {}, ["sev", "source", "ticket"])),
        ({"state": "absent"}, {"source": None, "sev": "9", "nope": None}, MetadataChanges({}, {}, ["source"])),
        ({"state": "absent", "overwrite": True}, {"ticket": "OPS-1"}, MetadataChanges({}, {}, ["ticket"])),
        ({"overwrite": True, "purge": True}, dict(CURRENT), MetadataChanges({}, {}, [])),
    ],
)
def test_plan_changes(kwargs, desired, expected):
    assert plan_changes(CURRENT, desired, **kwargs) == expected


def test_apply_changes_leaves_the_input_alone():
    current = dict(CURRENT)
    changes = MetadataChanges({"owner": "blue"}, {"sev": "1"}, ["ticket"])
    assert apply_changes(current, changes) == {"source": "edr", "sev": "1", "owner": "blue"}
    assert current == CURRENT


def test_has_changes():
    assert not has_changes(MetadataChanges({}, {}, []))
    assert has_changes(MetadataChanges({}, {}, ["a"]))


def test_key_limit_counts_the_final_map():
    full = {"k%d" % i: "v" for i in range(99)}
    assert key_limit_error(full, MetadataChanges({"a": "1"}, {}, [])) is None
    message = key_limit_error(full, MetadataChanges({"a": "1", "b": "2"}, {}, []))
    assert "101 metadata keys" in message and "at most 100" in message
    assert key_limit_error(full, MetadataChanges({"a": "1", "b": "2"}, {}, ["k1"])) is None


def test_key_limit_does_not_block_removals_from_an_overfull_case():
    overfull = {"k%d" % i: "v" for i in range(105)}
    assert key_limit_error(overfull, MetadataChanges({}, {"k1": "w"}, ["k2"])) is None
