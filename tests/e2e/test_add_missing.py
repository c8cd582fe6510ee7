"""tines_case_metadata adding only the missing keys, on both paths, against the simulator.

Each test asserts the requests the simulator got, task by task, and the task results.
"""

from __future__ import annotations

import datetime

from helpers.plays import DELETE, GET, POST, PUT, assert_lifecycle, assert_unchanged, lifecycle, play, task

BEFORE = {"source": "edr", "ticket": "OPS-1"}  # case 42 in the sim fixture

# One value of each kind the module converts, plus a key the case has with another value.
ASKED = {
    "source": "siem",
    "owner": "blue-team",
    "priority": 3,
    "score": 2.5,
    "ratio": 1.0,
    "triaged": True,
    "closed": False,
    "due": datetime.date(2026, 11, 28),
}
ADDED = {
    "owner": "blue-team",
    "priority": "3",
    "score": "2.5",
    "ratio": "1.0",
    "triaged": "true",
    "closed": "false",
    "due": "2026-11-28",
}
AFTER = {**BEFORE, **ADDED}


def test_adds_only_missing_keys_check_predicts_and_reruns_are_one_get(plays, sim):
    playbook = play(lifecycle("add", case_id=42, metadata=ASKED))
    assert "priority: 3\n" in playbook and "due: 2026-11-28\n" in playbook  # unquoted, as users write them

    out = plays.run(playbook)
    assert out.rc == 0, out
    # The POST carries only the missing keys, as strings; "source" keeps "edr" although the task asks "siem".
    assert_lifecycle(out, "add", 42, BEFORE, AFTER, writes=[POST(42, ADDED)], added=ADDED)
    assert sim.get_case(42) == AFTER

    # A second ansible-playbook run of the same task: "priority: 3" still matches the stored "3".
    again = plays.run(play([task("add", case_id=42, metadata=ASKED)]))
    assert again.rc == 0, again
    assert_unchanged(again.task("add"), AFTER)
    assert again.status("add") == "ok"
    assert again.calls("add") == [GET(42)]
    assert sim.get_case(42) == AFTER


def test_result_is_right_when_writes_answer_201_with_only_the_sent_keys(plays, sim):
    sim.set_options(response_metadata="sent", post_status=201)
    sim.set_case(43, {"a": "1", "b": "old", "z": "keep"})
    out = plays.run(
        play(
            [
                task("add", case_id=42, metadata={"owner": "blue-team", "source": "siem"}),
                task("add and update", case_id=43, metadata={"a": 1, "b": "new", "c": 3}, overwrite=True),
            ]
        )
    )
    assert out.rc == 0, out

    add = out.task("add")
    assert out.calls("add") == [GET(42), POST(42, {"owner": "blue-team"})]
    assert out.statuses("add") == [200, 201]
    assert out.requests("add")[-1]["body"] == {"metadata": {"owner": "blue-team"}}
    assert add["changed"] is True
    assert add["added"] == {"owner": "blue-team"}
    assert add["metadata"] == {"source": "edr", "ticket": "OPS-1", "owner": "blue-team"} == sim.get_case(42)

    both = out.task("add and update")
    assert out.calls("add and update") == [GET(43), POST(43, {"c": "3"}), PUT(43, {"b": "new"})]
    assert out.statuses("add and update") == [200, 201, 200]
    assert (both["added"], both["updated"], both["removed"]) == ({"c": "3"}, {"b": "new"}, [])
    assert both["metadata"] == {"a": "1", "b": "new", "z": "keep", "c": "3"} == sim.get_case(43)


def test_check_diff_then_diff_on_the_command_line(plays, sim):
    """The pipeline pattern of the user guide: plan with --check --diff, apply with --diff."""
    playbook = play(
        [
            task("add owner", case_id=42, metadata={"owner": "blue-team"}),
            task("nothing to add", case_id=42, metadata={"source": "siem"}),
        ]
    )
    after = {**BEFORE, "owner": "blue-team"}
    plan = plays.run(playbook, check=True, diff=True)
    applied = plays.run(playbook, diff=True)
    for out in (plan, applied):
        assert out.rc == 0, out
        result = out.task("add owner")
        assert (result["changed"], result["added"], result["metadata"]) == (True, {"owner": "blue-team"}, after)
        assert result["diff"] == {"before": BEFORE, "after": after}
        assert_unchanged(out.task("nothing to add"), BEFORE if out is plan else after)
        assert out.calls("nothing to add") == [GET(42)]
        # Ansible prints a unified diff for the task that changes something, none for the other.
        assert out.stdout.count("--- before") == 1, out
        assert out.stdout.count("+++ after") == 1, out
        assert out.stdout.count('+    "owner": "blue-team"') == 1, out
        assert '-    "source"' not in out.stdout, out
    assert plan.calls("add owner") == [GET(42)]
    assert applied.calls("add owner") == [GET(42), POST(42, {"owner": "blue-team"})]
    assert sim.get_case(42) == after


def test_key_limit_is_checked_on_the_final_map_before_any_write(plays, sim):
    ninety_eight = {f"k{i:02d}": "v" for i in range(98)}
    hundred = {f"k{i:02d}": "v" for i in range(100)}
    sim.set_case(50, ninety_eight)
    sim.set_case(51, ninety_eight)
    sim.set_case(52, hundred)
    kept = {f"k{i:02d}": "v" for i in range(50)}
    out = plays.run(
        play(
            [
                task("three more", case_id=50, metadata={"x1": "a", "x2": "b", "x3": "c"}, ignore_errors=True),
                task("up to one hundred", case_id=51, metadata={"x1": "a", "x2": "b"}),
                task("purge makes room", case_id=52, metadata={**kept, "new": "n"}, purge=True),
            ]
        )
    )
    assert out.rc == 0, out

    refused = out.task("three more")
    assert out.status("three more") == "failed"
    assert refused["msg"] == (
        "case 50: this change would leave the case with 101 metadata keys (98 now, 3 to add, 0 to remove); "
        "Tines allows at most 100"
    )
    assert "status" not in refused
    assert out.calls("three more") == [GET(50)]
    assert sim.get_case(50) == ninety_eight

    assert out.calls("up to one hundred") == [GET(51), POST(51, {"x1": "a", "x2": "b"})]
    assert len(out.task("up to one hundred")["metadata"]) == 100
    assert len(sim.get_case(51)) == 100

    # Adding first would take case 52 to 101 keys, so the DELETE goes first.
    removed = sorted(set(hundred) - set(kept))
    assert out.calls("purge makes room") == [GET(52), DELETE(52, removed), POST(52, {"new": "n"})]
    result = out.task("purge makes room")
    assert result["removed"] == removed and result["added"] == {"new": "n"}
    assert result["metadata"] == {**kept, "new": "n"} == sim.get_case(52)
