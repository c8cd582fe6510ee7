"""Odd but legal keys and values go through Ansible, the module and the API unchanged, and stay idempotent.

For each write the test compares the body the simulator received, what the task
returned and what the simulator then serves (read back with the info module).
"""

from __future__ import annotations

import json

from helpers.plays import INFO, bodies, calls, play, task

CASE = 800
SEED = {"Key": "seeded"}
ODD = {
    "ключ": "значение",
    "key with spaces": "value with  two  spaces",
    " padded ": "  padded value  ",
    "dotted.key.name": "a.b.c",
    "slash/key": "path/to/thing",
    "url?x=1&y=2#frag": "100% & more",
    "key": "lower",  # the case holds "Key": keys differing only in case are different keys
    "KEY": "upper",
    "emoji 🚀": "🚀 launch",
    "rtl שלום": "שלום",
    "combining é": "e\u0301 stays decomposed",
    "empty": "",
    "multi-line": "line one\nline two\ttabbed\r\n",
    "quotes": "she said \"hi\" and 'bye' \\ backslash",
    "looks typed": "007",
    "bool-ish": "true",
    "null-ish": "null",
    "number-ish": "1e3",
    "long": "0123456789abcdef" * 640,
    "long unicode": "ü€𝄞" * 1200,
}
CHANGED = {key: value + "!" for key, value in ODD.items()}


def test_odd_keys_and_values_round_trip(sim, run_playbook, ansible_path, tmp_path):
    assert len(ODD["long"]) == 10240 and len(ODD["long unicode"].encode()) > 10000
    sim.set_case(CASE, SEED)
    odd_vars = tmp_path / "odd.json"
    odd_vars.write_text(
        json.dumps({"odd": ODD, "changed": CHANGED, "odd_keys": dict.fromkeys(ODD)}, ensure_ascii=False),
        encoding="utf-8",
    )
    result = run_playbook(
        play(
            [
                task("add", case_id=CASE, metadata="{{ odd }}"),
                task("read back after add", module=INFO, case_id=CASE),
                task("add again", case_id=CASE, metadata="{{ odd }}"),
                task("predict the change", case_id=CASE, metadata="{{ changed }}", overwrite=True, check_mode=True),
                task("change", case_id=CASE, metadata="{{ changed }}", overwrite=True),
                task("read back after change", module=INFO, case_id=CASE),
                task("change again", case_id=CASE, metadata="{{ changed }}", overwrite=True),
                task("remove", case_id=CASE, metadata="{{ odd_keys }}", state="absent"),
                task("remove again", case_id=CASE, metadata="{{ odd_keys }}", state="absent"),
            ],
            vars_files=[odd_vars],
        ),
        path=ansible_path,
    )
    assert result.rc == 0, result
    assert [method for method, _status in calls(sim, CASE)] == [
        "GET",
        "POST",  # add
        "GET",  # read back after add
        "GET",  # add again
        "GET",  # predict the change
        "GET",
        "PUT",  # change
        "GET",  # read back after change
        "GET",  # change again
        "GET",
        "DELETE",  # remove
        "GET",  # remove again
    ]

    added = result.task("add")
    assert bodies(sim, CASE, "POST") == [{"metadata": ODD}]
    assert added["added"] == ODD
    assert added["metadata"] == result.task("read back after add")["metadata"] == {**SEED, **ODD}

    predicted = result.task("predict the change")
    changed = result.task("change")
    assert bodies(sim, CASE, "PUT") == [{"metadata": CHANGED}]
    assert changed["updated"] == predicted["updated"] == CHANGED
    assert changed["metadata"] == predicted["metadata"] == {**SEED, **CHANGED}
    assert result.task("read back after change")["metadata"] == {**SEED, **CHANGED}

    removed = result.task("remove")
    assert bodies(sim, CASE, "DELETE") == [{"metadata": sorted(ODD)}]
    assert removed["removed"] == sorted(ODD)
    assert removed["metadata"] == SEED == sim.get_case(CASE)

    for name in ("add again", "change again", "remove again"):
        again = result.task(name)
        assert again["changed"] is False, name
        assert (again["added"], again["updated"], again["removed"]) == ({}, {}, []), name
    assert result.task("add again")["metadata"] == {**SEED, **ODD}
    assert result.task("change again")["metadata"] == {**SEED, **CHANGED}
