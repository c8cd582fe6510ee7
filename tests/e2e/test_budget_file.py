"""The shared rate budget file in real runs, on both paths: several rate_limit values on one key, and damage.

Each test's runs share one XDG_RUNTIME_DIR (the harness gives every test its own),
so the budget file one run leaves is the one the next run meets.
"""

from __future__ import annotations

import struct

from helpers.plays import CREDENTIALS, INFO, play, task

# What an older version of the collection left after two rate_limit values: its header says 25 send times
# (240 bytes), the file holds 200.
OLDER_VERSION_CUT_SHORT = struct.pack("<4sHHIIIIdd", b"TCRB", 1, 0, 25, 0, 25, 0, 0.0, 0.0).ljust(200, b"\0")
GARBAGE = bytes(range(256)) * 3
DAMAGES = [
    (OLDER_VERSION_CUT_SHORT, "was 200 bytes where its header needs 240"),
    (GARBAGE, "was not a rate budget file"),
]


def budget_files(tmp_path):
    return sorted((tmp_path / "runtime" / "tines.cases").glob("*.budget"))


def reads(key, *rate_limits):
    """One metadata read of case 42 per value (None: the task does not set rate_limit), with the key `key`."""
    options = [{} if value is None else {"rate_limit": value} for value in rate_limits]
    return [
        task(f"{key}: read {index}", INFO, case_id=42, api_key="{{ %s }}" % key, **option)
        for index, option in enumerate(options)
    ]


# Two keys (the simulator's read-write and read-only ones), so two budget files: each test runs what it
# shows for one key on both at once.
KEYS = ("tines_key", "tines_read_only_key")


def test_two_rate_limits_on_one_key_in_one_playbook_both_work(sim, run_playbook, ansible_path, tmp_path):
    """As with rate_limit in module_defaults beside a lookup: the values alternate on one tenant and key.

    On one key the default, then 100; on the other 20, then 100.
    """
    book = play(reads(KEYS[0], None, 100, None) + reads(KEYS[1], 20, 100, 20))
    for _run in range(2):
        result = run_playbook(book, path=ansible_path)
        assert result.rc == 0, str(result)
        for key in KEYS:
            for index in range(3):
                record = result.record(f"{key}: read {index}")
                assert record["status"] == "ok", record
                assert record["result"]["metadata"] == {"source": "edr", "ticket": "OPS-1"}
                assert not record["result"].get("warnings"), record
    sizes = sorted(path.stat().st_size for path in budget_files(tmp_path))
    assert sizes == [872, 40072], "one budget per key, sized for its larger value (72 + 8 each): 100, the default 5000"


def test_a_damaged_budget_file_costs_one_warning_not_the_task(sim, run_playbook, ansible_path, tmp_path):
    """One key's budget file is cut short as an older version left it, the other's is garbage."""
    book = play(reads(KEYS[0], None) + reads(KEYS[1], None), defaults={**CREDENTIALS, "rate_limit": 25})
    assert run_playbook(book, path=ansible_path).rc == 0
    files = budget_files(tmp_path)
    assert len(files) == 2, files
    problems = {}
    for path, (damage, problem) in zip(files, DAMAGES):
        path.write_bytes(damage)
        problems[path] = problem

    result = run_playbook(book, path=ansible_path)
    assert result.rc == 0, str(result)
    warnings = []
    for key in KEYS:
        record = result.record(f"{key}: read 0")
        assert record["status"] == "ok" and record["result"]["metadata"] == {"source": "edr", "ticket": "OPS-1"}
        assert len(record["result"]["warnings"]) == 1, record
        warnings += record["result"]["warnings"]
    assert sorted(warnings) == sorted(
        "rate_limit: the budget file %s %s; it was rebuilt and pacing goes on" % (path, problem)
        for path, problem in problems.items()
    )
    assert [path.stat().st_size for path in files] == [272, 272], "rebuilt: 72 + 8 x 25 bytes"

    healed = run_playbook(book, path=ansible_path)
    assert healed.rc == 0, str(healed)
    for key in KEYS:
        assert not healed.task(f"{key}: read 0").get("warnings")
