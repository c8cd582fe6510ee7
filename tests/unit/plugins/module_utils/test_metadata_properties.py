"""Properties of the decisions for any current and desired maps (hypothesis)."""

from __future__ import annotations

from ansible_collections.tines.cases.plugins.module_utils.metadata import apply_changes, plan_changes
from hypothesis import given
from hypothesis import strategies as st

keys = st.text(min_size=1, max_size=8)
values = st.text(max_size=8)
maps = st.dictionaries(keys, values, max_size=12)
current_maps = st.dictionaries(keys, st.one_of(values, st.integers()), max_size=12)
flags = st.booleans()


@given(current=current_maps, desired=maps, overwrite=flags, purge=flags)
def test_present_touches_only_what_it_should(current, desired, overwrite, purge):
    changes = plan_changes(current, desired, "present", overwrite, purge)
    assert set(changes.add).isdisjoint(current), "POST never carries a key the case has"
    assert set(changes.add) <= set(desired)
    assert set(changes.update) <= set(current) & set(desired)
    assert all(current[key] != value for key, value in changes.update.items()), "PUT never resends a same value"
    assert overwrite or not changes.update
    assert set(changes.remove) <= set(current) - set(desired)
    assert purge or not changes.remove


@given(current=current_maps, desired=maps, overwrite=flags, purge=flags)
def test_present_reaches_the_desired_state_and_then_stays_still(current, desired, overwrite, purge):
    after = apply_changes(current, plan_changes(current, desired, "present", overwrite, purge))
    for key, value in desired.items():
        assert key in after
        if overwrite or key not in current:
            assert after[key] == value
        else:
            assert after[key] == current[key]
    if purge:
        assert set(after) == set(desired)
    else:
        assert set(after) == set(current) | set(desired)
    second = plan_changes(after, desired, "present", overwrite, purge)
    assert not (second.add or second.update or second.remove), "a second run changes nothing"


@given(current=current_maps, targets=st.dictionaries(keys, st.one_of(st.none(), values), max_size=12))
def test_absent_removes_only_matching_present_keys(current, targets):
    changes = plan_changes(current, targets, "absent")
    assert not changes.add and not changes.update
    for key in changes.remove:
        assert key in current and targets[key] in (None, current[key])
    after = apply_changes(current, changes)
    assert set(after) == set(current) - set(changes.remove)
    assert not plan_changes(after, targets, "absent").remove
