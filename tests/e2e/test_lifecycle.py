"""The rows of the state/overwrite/purge table (the user guide, docs/docsite/rst/user_guide.rst), on both paths.

Every row runs as check -> apply -> check again -> apply again on a case of its
own, so one playbook covers several rows: the check run writes nothing and
predicts the real run exactly (changed, metadata, added, updated, removed, diff),
the real run sends only the writes of that row, in the order POST, PUT, DELETE,
and both later runs are exactly one GET.
"""

from __future__ import annotations

import pytest
from helpers.plays import DELETE, POST, PUT, assert_lifecycle, lifecycle, play

# What each case holds before its row, and what the rows ask ("sev: 2" matches the stored "2").
HOLDS = {"source": "edr", "ticket": "OPS-1", "stale": "x", "sev": "2"}
ASKS = {"source": "edr", "ticket": "OPS-2", "owner": "blue", "sev": 2}


@pytest.mark.long_running
def test_overwrite_purge_and_both(plays, sim):
    for case_id in (101, 102, 103):
        sim.set_case(case_id, HOLDS)
    # A value set by other means that is not a string never matches, so one PUT converges it.
    sim.set_case(104, {"ticket": "OPS-1", "sev": 2})
    out = plays.run(
        play(
            lifecycle("overwrite", case_id=101, metadata=ASKS, overwrite=True)
            + lifecycle("purge", case_id=102, metadata=ASKS, purge=True)
            + lifecycle("overwrite and purge", case_id=103, metadata=ASKS, overwrite=True, purge=True)
            + lifecycle("overwrite only", case_id=104, metadata={"ticket": "OPS-2", "sev": 2}, overwrite=True)
        )
    )
    assert out.rc == 0, out

    # overwrite: missing keys POSTed, differing keys PUT; matching keys (source, sev) never sent.
    after = {"source": "edr", "ticket": "OPS-2", "stale": "x", "sev": "2", "owner": "blue"}
    writes = [POST(101, {"owner": "blue"}), PUT(101, {"ticket": "OPS-2"})]
    assert_lifecycle(out, "overwrite", 101, HOLDS, after, writes, added={"owner": "blue"}, updated={"ticket": "OPS-2"})
    assert sim.get_case(101) == after

    # purge: the unlisted key removed; the listed key with another value keeps it (no overwrite).
    after = {"source": "edr", "ticket": "OPS-1", "sev": "2", "owner": "blue"}
    writes = [POST(102, {"owner": "blue"}), DELETE(102, ["stale"])]
    assert_lifecycle(out, "purge", 102, HOLDS, after, writes, added={"owner": "blue"}, removed=["stale"])
    assert sim.get_case(102) == after
    delete = out.requests("purge: apply")[-1]
    assert delete["method"] == "DELETE"
    assert delete["headers"]["content-type"] == "application/json"
    assert int(delete["headers"]["content-length"]) > 0
    assert delete["body"] == {"metadata": ["stale"]}
    assert delete["status"] == 204

    # overwrite and purge: the case becomes exactly what the task lists; POST, PUT, DELETE in that order.
    after = {"source": "edr", "ticket": "OPS-2", "owner": "blue", "sev": "2"}
    writes = [POST(103, {"owner": "blue"}), PUT(103, {"ticket": "OPS-2"}), DELETE(103, ["stale"])]
    assert_lifecycle(
        out,
        "overwrite and purge",
        103,
        HOLDS,
        after,
        writes,
        added={"owner": "blue"},
        updated={"ticket": "OPS-2"},
        removed=["stale"],
    )
    assert sim.get_case(103) == after

    # Nothing missing: no POST, only the PUT (with the int 2 on the case rewritten as "2").
    after = {"ticket": "OPS-2", "sev": "2"}
    writes = [PUT(104, {"ticket": "OPS-2", "sev": "2"})]
    before = {"ticket": "OPS-1", "sev": 2}
    assert_lifecycle(out, "overwrite only", 104, before, after, writes, updated={"ticket": "OPS-2", "sev": "2"})
    assert sim.get_case(104) == after


def test_purge_everything_and_state_absent(plays, sim):
    for case_id in (111, 112, 113):
        sim.set_case(case_id, HOLDS)
    absent = {"ticket": None, "owner": None, "source": "edr", "sev": 2, "stale": "y"}
    out = plays.run(
        play(
            lifecycle("purge everything", case_id=111, metadata={}, purge=True)
            # overwrite has no effect with state=absent: ticket is removed, not set.
            + lifecycle("absent", case_id=112, metadata=absent, state="absent", overwrite=True)
            + lifecycle("absent, values differ", case_id=113, metadata={"source": "siem", "sev": 3}, state="absent")
        )
    )
    assert out.rc == 0, out

    everything = ["sev", "source", "stale", "ticket"]
    assert_lifecycle(out, "purge everything", 111, HOLDS, {}, [DELETE(111, everything)], removed=everything)
    assert sim.get_case(111) == {}

    # null: removed whatever the value; a value: removed only while the case holds it ("stale" holds x, not y);
    # "owner" is not on the case and costs nothing.
    after = {"stale": "x"}
    removed = ["sev", "source", "ticket"]
    assert_lifecycle(out, "absent", 112, HOLDS, after, [DELETE(112, removed)], removed=removed)
    assert sim.get_case(112) == after

    assert_lifecycle(out, "absent, values differ", 113, HOLDS, HOLDS)
    assert sim.get_case(113) == HOLDS
