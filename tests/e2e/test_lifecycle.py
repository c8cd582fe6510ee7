"""The rows of the state/overwrite/purge table (the user guide, docs/docsite/rst/user_guide.rst), on both paths.

Every row runs as check -> apply -> check again -> apply again on a case of its
own, so one playbook covers several rows: the check run writes nothing and
predicts the real run exactly (changed, metadata, added, updated, removed, diff),
the real run sends only the writes of that row, in the order POST, PUT, DELETE,
and both later runs are exactly one GET.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from helpers.plays import DELETE, POST, PUT, assert_lifecycle, lifecycle, play

# What each case holds before its row, and what the rows ask ("sev: 2" matches the stored "2").
HOLDS = {"source": "edr", "ticket": "OPS-1", "stale": "x", "sev": "2"}
ASKS = {"source": "edr", "ticket": "OPS-2", "owner": "blue", "sev": 2}
ABSENT = {"ticket": None, "owner": None, "source": "edr", "sev": 2, "stale": "y"}
EVERYTHING = ["sev", "source", "stale", "ticket"]


@dataclass
class Row:
    """One row: the task's options, the case after it, the writes of the real run and the changes it reports."""

    name: str
    case_id: int
    asks: dict
    after: dict
    writes: list = field(default_factory=list)
    added: dict = None
    updated: dict = None
    removed: list = None
    before: dict = field(default_factory=lambda: dict(HOLDS))


ROWS = [
    # Missing keys POSTed, differing keys PUT; matching keys (source, sev) never sent.
    Row(
        "overwrite",
        101,
        dict(metadata=ASKS, overwrite=True),
        {"source": "edr", "ticket": "OPS-2", "stale": "x", "sev": "2", "owner": "blue"},
        [POST(101, {"owner": "blue"}), PUT(101, {"ticket": "OPS-2"})],
        added={"owner": "blue"},
        updated={"ticket": "OPS-2"},
    ),
    # The unlisted key removed; the listed key with another value keeps it (no overwrite).
    Row(
        "purge",
        102,
        dict(metadata=ASKS, purge=True),
        {"source": "edr", "ticket": "OPS-1", "sev": "2", "owner": "blue"},
        [POST(102, {"owner": "blue"}), DELETE(102, ["stale"])],
        added={"owner": "blue"},
        removed=["stale"],
    ),
    # The case becomes exactly what the task lists; POST, PUT, DELETE in that order.
    Row(
        "overwrite and purge",
        103,
        dict(metadata=ASKS, overwrite=True, purge=True),
        {"source": "edr", "ticket": "OPS-2", "owner": "blue", "sev": "2"},
        [POST(103, {"owner": "blue"}), PUT(103, {"ticket": "OPS-2"}), DELETE(103, ["stale"])],
        added={"owner": "blue"},
        updated={"ticket": "OPS-2"},
        removed=["stale"],
    ),
    # Nothing missing: no POST, only the PUT. A value set by other means that is not a string (the int 2)
    # never matches, so the PUT rewrites it as "2" and converges.
    Row(
        "overwrite only",
        104,
        dict(metadata={"ticket": "OPS-2", "sev": 2}, overwrite=True),
        {"ticket": "OPS-2", "sev": "2"},
        [PUT(104, {"ticket": "OPS-2", "sev": "2"})],
        updated={"ticket": "OPS-2", "sev": "2"},
        before={"ticket": "OPS-1", "sev": 2},
    ),
    Row("purge everything", 111, dict(metadata={}, purge=True), {}, [DELETE(111, EVERYTHING)], removed=EVERYTHING),
    # null: removed whatever the value; a value: removed only while the case holds it ("stale" holds x, not y);
    # "owner" is not on the case and costs nothing. overwrite has no effect with state=absent: ticket is removed.
    Row(
        "absent",
        112,
        dict(metadata=ABSENT, state="absent", overwrite=True),
        {"stale": "x"},
        [DELETE(112, ["sev", "source", "ticket"])],
        removed=["sev", "source", "ticket"],
    ),
    Row("absent, values differ", 113, dict(metadata={"source": "siem", "sev": 3}, state="absent"), dict(HOLDS)),
]


@pytest.mark.long_running
def test_every_row(plays, sim):
    for row in ROWS:
        sim.set_case(row.case_id, row.before)
    out = plays.run(play([step for row in ROWS for step in lifecycle(row.name, case_id=row.case_id, **row.asks)]))
    assert out.rc == 0, out
    for row in ROWS:
        changes = {"added": row.added, "updated": row.updated, "removed": row.removed}
        assert_lifecycle(out, row.name, row.case_id, row.before, row.after, row.writes, **changes)
        assert sim.get_case(row.case_id) == row.after, row.name

    delete = out.requests("purge: apply")[-1]
    assert delete["method"] == "DELETE"
    assert delete["headers"]["content-type"] == "application/json"
    assert int(delete["headers"]["content-length"]) > 0
    assert delete["body"] == {"metadata": ["stale"]}
    assert delete["status"] == 204
