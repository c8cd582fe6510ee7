"""Properties of the decisions, and of whole task runs, for any current and desired maps (hypothesis)."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
import requests
from ansible_collections.tines.cases.plugins.module_utils import _connection as connection
from ansible_collections.tines.cases.plugins.module_utils._arguments import METADATA_ARGUMENT_SPEC
from ansible_collections.tines.cases.plugins.module_utils._client import TinesClient, TinesError
from ansible_collections.tines.cases.plugins.module_utils._metadata_plan import (
    MetadataChanges,
    apply_changes,
    plan_changes,
)
from ansible_collections.tines.cases.plugins.module_utils._metadata_task import run_metadata
from ansible_collections.tines.cases.tests.simulator.tines_sim import DEFAULT_OPTIONS, apply_write
from hypothesis import example, given, settings
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


# --- whole task runs, against an in-memory tenant -------------------------------------------
#
# The properties below run the task itself (run_metadata: one read, the decision, the writes
# through TinesClient and CaseWriter) with a fake requests session holding the case in memory,
# so they stay pure: no sockets, no sleeping.


class FakeResponse:
    def __init__(self, status_code, payload=None):
        self.status_code = status_code
        self.headers = {}
        self.text = "" if payload is None else json.dumps(payload)
        self.content = self.text.encode()

    def json(self):
        return json.loads(self.text)


class FakeTenant:
    """One case's metadata behind a requests-like session, changed by the simulator's own write rule.

    `apply_write` with the simulator's default options is the one model of Tines' writes (POST keeps
    existing keys, PUT creates, DELETE ignores absent keys) that the end-to-end tests run against too.
    `faults` is consumed one per request: None answers normally, "lost" fails with 500 before the
    change is made, "applied" makes the change and then fails with 500, "reset" makes the change
    and then drops the connection.
    """

    def __init__(self, metadata, faults=(), **options):
        self.metadata = dict(metadata)
        self.faults = list(faults)
        self.options = {**DEFAULT_OPTIONS, **options}
        self.methods = []
        self.applied = []

    def request(self, method, url, data=None, **_kwargs):
        self.methods.append(method)
        fault = self.faults.pop(0) if self.faults else None
        sent = json.loads(data)["metadata"] if data else None
        failure = None
        if method != "GET" and fault != "lost":
            failure = self._apply(method, sent)
        if fault == "reset":
            raise requests.exceptions.ConnectionError("connection reset by peer")
        if fault:
            return FakeResponse(500, {"errors": [{"message": "injected"}]})
        if failure:
            status, message, details = failure
            return FakeResponse(status, {"errors": [{"message": message, "details": details}]})
        if method == "DELETE":
            return FakeResponse(204)
        return FakeResponse(200, {"case_id": 1, "metadata": self.metadata})

    def _apply(self, method, sent):
        """Store the write as the simulator would; return its (status, message, details) refusal or None."""
        new, failure = apply_write(method, self.metadata, sent, self.options)
        if failure is None:
            self.applied.append((method, sent))
            self.metadata = new
        return failure


def run_task(tenant, desired, state, overwrite, purge, check_mode=False):
    params = {name: spec.get("default") for name, spec in METADATA_ARGUMENT_SPEC.items()}
    params.update(
        tenant_url="https://acme.tines.example",
        api_key="k",
        timeout=5,
        max_retries=6,
        rate_limit=0,  # pacing keeps a budget file: not for a test without I/O
        case_id=1,
        metadata=desired,
        state=state,
        overwrite=overwrite,
        purge=purge,
    )
    with mock.patch.object(connection, "TinesClient", client_on(tenant)), mock.patch.object(time, "sleep", no_wait):
        return run_metadata(params, check_mode=check_mode, diff_mode=True)


def no_wait(_seconds):
    """Retries back off by sleeping; here they need not."""


def client_on(tenant):
    """A TinesClient factory whose clients talk to `tenant`."""

    def build(*args, **kwargs):
        client = TinesClient(*args, **kwargs)
        client.session = tenant
        return client

    return build


task_keys = keys.filter(lambda key: key.strip())
tasks = st.one_of(
    st.tuples(st.just("present"), st.dictionaries(task_keys, values, max_size=12), flags, flags),
    st.tuples(
        st.just("absent"),
        st.dictionaries(task_keys, st.one_of(st.none(), values), max_size=12),
        st.just(False),
        st.just(False),
    ),
)
# A whole run takes milliseconds, but a loaded CI machine must not turn that into a flaky deadline.
RUNS = settings(deadline=None)
REPORT = ("changed", "metadata", "added", "updated", "removed", "diff")


@RUNS
@given(current=current_maps, job=tasks)
def test_check_mode_writes_nothing_and_predicts_the_real_run(current, job):
    state, desired, overwrite, purge = job
    checked = FakeTenant(current)
    prediction = run_task(checked, desired, state, overwrite, purge, check_mode=True)
    assert checked.methods == ["GET"] and checked.metadata == current, "check mode only reads"
    plan = plan_changes(current, desired, state, overwrite, purge)
    assert (prediction["added"], prediction["updated"], prediction["removed"]) == tuple(plan)
    assert prediction["metadata"] == apply_changes(current, plan)

    real = run_task(FakeTenant(current), desired, state, overwrite, purge)
    assert {name: prediction[name] for name in REPORT} == {name: real[name] for name in REPORT}


@RUNS
@given(current=current_maps, job=tasks)
def test_the_reported_writes_applied_to_the_case_give_the_reported_result(current, job):
    state, desired, overwrite, purge = job
    tenant = FakeTenant(current)
    result = run_task(tenant, desired, state, overwrite, purge)
    reported = MetadataChanges(result["added"], result["updated"], result["removed"])
    assert tenant.metadata == result["metadata"] == apply_changes(current, reported)
    assert result["diff"] == {"before": current, "after": result["metadata"]}
    touched = set(reported.add) | set(reported.update) | set(reported.remove)
    for method, sent in tenant.applied:
        assert set(sent) <= touched, "a write carried a key the task does not report"
        if method == "POST":
            assert set(sent).isdisjoint(current)
    assert result["changed"] == bool(touched)
    if not touched:
        assert tenant.methods == ["GET"], "an unchanged run makes exactly one request"


@RUNS
@given(
    current=current_maps,
    job=tasks,
    faults=st.lists(st.sampled_from([None, "lost", "applied", "reset"]), max_size=6),
)
# A write that reached the case before failing, for each method: resent without a re-read, it would be applied twice.
@example(current={}, job=("present", {"new": "1"}, False, False), faults=[None, "applied"])
@example(current={"old": "0"}, job=("present", {"old": "1"}, True, False), faults=[None, "reset"])
@example(current={"old": "0"}, job=("absent", {"old": None}, False, False), faults=[None, "applied"])
def test_transient_faults_never_double_apply_or_change_the_result(current, job, faults):
    state, desired, overwrite, purge = job
    expected = run_task(FakeTenant(current), desired, state, overwrite, purge)
    tenant = FakeTenant(current, faults)
    result = run_task(tenant, desired, state, overwrite, purge)
    assert {name: result[name] for name in REPORT} == {name: expected[name] for name in REPORT}
    assert tenant.metadata == result["metadata"]
    for method in ("POST", "PUT", "DELETE"):
        sent = [key for applied, keys_sent in tenant.applied if applied == method for key in keys_sent]
        assert len(sent) == len(set(sent)), f"a {method} that reached the case was sent again"


class RacingTenant(FakeTenant):
    """Another run adds `racing` pairs right after this run's first read, before its POST."""

    def __init__(self, metadata, racing, **options):
        super().__init__(metadata, **options)
        self.racing = racing

    def request(self, method, url, data=None, **kwargs):
        answer = super().request(method, url, data, **kwargs)
        if self.methods == ["GET"]:
            self.metadata.update({key: value for key, value in self.racing.items() if key not in self.metadata})
        return answer


@RUNS
@given(
    current=current_maps,
    desired=st.dictionaries(task_keys, values, min_size=1, max_size=12),
    overwrite=flags,
    purge=flags,
    data=st.data(),
)
def test_a_key_another_run_adds_first_is_reported_as_the_case_holds_it(current, desired, overwrite, purge, data):
    new_keys = sorted(set(desired) - set(current))
    racing_keys = data.draw(st.lists(st.sampled_from(new_keys), unique=True) if new_keys else st.just([]))
    racing = {key: data.draw(values) for key in racing_keys}
    tenant = RacingTenant(current, racing)
    result = run_task(tenant, desired, "present", overwrite, purge)
    for key in desired:
        assert result["metadata"].get(key) == tenant.metadata.get(key), "the result shows what the case holds"
    for key, value in result["added"].items():
        assert tenant.metadata[key] == value, "added reports only values this run stored"


@RUNS
@given(
    current=current_maps,
    desired=st.dictionaries(task_keys, values, min_size=1, max_size=12),
    overwrite=flags,
    purge=flags,
    data=st.data(),
)
def test_a_tenant_refusing_a_post_of_an_existing_key_still_gets_every_missing_key(
    current, desired, overwrite, purge, data
):
    """Where Tines answers 422 to a POST naming a key another run just added, the rest is still added."""
    new_keys = sorted(set(desired) - set(current))
    racing_keys = data.draw(st.lists(st.sampled_from(new_keys), unique=True) if new_keys else st.just([]))
    racing = {key: data.draw(values) for key in racing_keys}
    tenant = RacingTenant(current, racing, post_existing="422")
    result = run_task(tenant, desired, "present", overwrite, purge)
    for key in desired:
        assert key in tenant.metadata, "every desired key is on the case"
        assert result["metadata"].get(key) == tenant.metadata.get(key), "the result shows what the case holds"
    for key, value in result["added"].items():
        assert tenant.metadata[key] == value, "added reports only values the case holds"


def test_after_a_422_for_a_key_another_run_added_only_the_rest_is_posted():
    tenant = RacingTenant({"source": "edr"}, {"shared": "theirs"}, post_existing="422")
    result = run_task(tenant, {"shared": "mine", "own": "1"}, "present", False, False)
    assert tenant.methods == ["GET", "POST", "GET", "POST"]
    assert tenant.applied == [("POST", {"own": "1"})]
    assert result["added"] == {"own": "1"} and result["changed"] is True
    assert result["metadata"] == {"source": "edr", "shared": "theirs", "own": "1"} == tenant.metadata


class RefusingTenant(FakeTenant):
    """Answers every POST with 422 for a reason of its own (the case's keys do not change)."""

    def request(self, method, url, data=None, **kwargs):
        if method == "POST":
            self.methods.append(method)
            return FakeResponse(422, {"errors": [{"message": "Value too long", "details": "owner"}]})
        return super().request(method, url, data, **kwargs)


def test_a_422_about_something_else_fails_after_one_reread():
    tenant = RefusingTenant({"source": "edr"})
    with pytest.raises(TinesError) as failure:
        run_task(tenant, {"owner": "x" * 50}, "present", False, False)
    assert failure.value.status == 422
    assert "HTTP 422" in str(failure.value) and "Value too long" in str(failure.value)
    assert tenant.methods == ["GET", "POST", "GET"], "one re-read shows no key of ours appeared: the 422 stands"
    assert tenant.metadata == {"source": "edr"}
