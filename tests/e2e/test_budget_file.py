"""The shared rate budget file in real runs, on both paths: several rate_limit values on one key, and damage.

Each test's runs share one XDG_RUNTIME_DIR (the harness gives every test its own),
so the budget file one run leaves is the one the next run meets.
"""

from __future__ import annotations

import struct

import pytest
from helpers.plays import CREDENTIALS, INFO, play, task

# What an older version of the collection left after two rate_limit values: its header says 25 send times
# (240 bytes), the file holds 200.
OLDER_VERSION_CUT_SHORT = struct.pack("<4sHHIIIIdd", b"TCRB", 1, 0, 25, 0, 25, 0, 0.0, 0.0).ljust(200, b"\0")
GARBAGE = bytes(range(256)) * 3


def budget_files(tmp_path):
    return sorted((tmp_path / "runtime" / "tines.cases").glob("*.budget"))


def reads(*rate_limits):
    """One metadata read of case 42 per value (None: the task does not set rate_limit)."""
    options = [{} if value is None else {"rate_limit": value} for value in rate_limits]
    return [task("read %d" % index, module=INFO, case_id=42, **option) for index, option in enumerate(options)]


@pytest.mark.parametrize(("first", "size"), [(None, 40072), (20, 872)], ids=["default then 100", "20 then 100"])
def test_two_rate_limits_on_one_key_in_one_playbook_both_work(sim, run_playbook, ansible_path, tmp_path, first, size):
    """As with rate_limit in module_defaults beside a lookup: the values alternate on one tenant and key."""
    book = play(reads(first, 100, first))
    for _run in range(2):
        result = run_playbook(book, path=ansible_path)
        assert result.rc == 0, str(result)
        for index in range(3):
            record = result.record("read %d" % index)
            assert record["status"] == "ok", record
            assert record["result"]["metadata"] == {"source": "edr", "ticket": "OPS-1"}
            assert not record["result"].get("warnings"), record
    files = budget_files(tmp_path)
    assert [path.stat().st_size for path in files] == [size], "one budget, sized for the larger value (72 + 8 each)"


@pytest.mark.parametrize(
    ("damage", "problem"),
    [(OLDER_VERSION_CUT_SHORT, "was 200 bytes where its header needs 240"), (GARBAGE, "was not a rate budget file")],
    ids=["older version cut short", "garbage"],
)
def test_a_damaged_budget_file_costs_one_warning_not_the_task(
    sim, run_playbook, ansible_path, tmp_path, damage, problem
):
    defaults = {**CREDENTIALS, "rate_limit": 25}
    book = play(reads(None), defaults=defaults)
    assert run_playbook(book, path=ansible_path).rc == 0
    [path] = budget_files(tmp_path)
    path.write_bytes(damage)

    result = run_playbook(book, path=ansible_path)
    assert result.rc == 0, str(result)
    record = result.record("read 0")
    assert record["status"] == "ok" and record["result"]["metadata"] == {"source": "edr", "ticket": "OPS-1"}
    assert record["result"]["warnings"] == [
        "rate_limit: the budget file %s %s; it was rebuilt and pacing goes on" % (path, problem)
    ]
    assert path.stat().st_size == 272, "rebuilt: 72 + 8 x 25 bytes"

    healed = run_playbook(book, path=ansible_path)
    assert healed.rc == 0, str(healed)
    assert not healed.task("read 0").get("warnings")
