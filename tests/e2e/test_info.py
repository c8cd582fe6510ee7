"""tines_case_metadata_info: one GET, the metadata as Tines holds it, never a change, on both paths."""

from __future__ import annotations

from helpers.plays import GET, INFO, assert_json_headers, play, task

CASE_42 = {"source": "edr", "ticket": "OPS-1"}


def test_info_reads_once_and_never_changes(plays, sim):
    # Answers the simulator's cases cannot give: a null map, no map, a list where the map belongs.
    answers = {8: {"case_id": 8, "metadata": None}, 9: {"case_id": 9}, 10: {"case_id": 10, "metadata": ["a"]}}
    for case_id, body in answers.items():
        sim.add_fault(method="GET", path_contains=f"/cases/{case_id}/metadata", status=200, body=body)
    out = plays.run(
        play(
            [
                task("read", INFO, case_id=42),
                task("read in check mode", INFO, case_id=42, check_mode=True),
                task("read with diff", INFO, case_id=42, diff=True),
                task("read a case without metadata", INFO, case_id=7),
                task("read with a read-only key", INFO, case_id=42, api_key="{{ tines_read_only_key }}"),
                task("read null metadata", INFO, case_id=8),
                task("read missing metadata", INFO, case_id=9),
                task("read a list", INFO, case_id=10, ignore_errors=True),
                task("read an unknown case", INFO, case_id=999, ignore_errors=True),
                task("read case 0", INFO, case_id=0, ignore_errors=True),
            ]
        )
    )
    assert out.rc == 0, out
    for name, case_id, metadata in (
        ("read", 42, CASE_42),
        ("read in check mode", 42, CASE_42),
        ("read with diff", 42, CASE_42),
        ("read a case without metadata", 7, {}),
        ("read with a read-only key", 42, CASE_42),
        ("read null metadata", 8, {}),
        ("read missing metadata", 9, {}),
    ):
        result = out.task(name)
        assert out.status(name) == "ok", (name, result.get("msg"))
        assert {k: result.get(k) for k in ("changed", "case_id", "metadata")} == {
            "changed": False,
            "case_id": case_id,
            "metadata": metadata,
        }, name
        assert "diff" not in result, name
        assert out.calls(name) == [GET(case_id)], name
    for entry in out.requests("read"):
        assert_json_headers(entry)
    assert out.requests("read with a read-only key")[0]["headers"]["authorization"] == f"Bearer {sim.read_only_key}"

    assert out.task("read a list")["msg"] == (
        "GET /api/v2/cases/10/metadata: expected a JSON object with a metadata map, got list"
    )
    unknown = out.task("read an unknown case")
    assert out.status("read an unknown case") == "failed"
    assert unknown["msg"] == (
        "GET /api/v2/cases/999/metadata failed with HTTP 404: case not found or not visible to this API key "
        "(Tines said: Case not found (No case 999))"
    )
    assert unknown["status"] == 404
    assert out.task("read case 0")["msg"] == "case_id must be a positive integer, got 0"
    assert out.calls("read case 0") == []

    assert {entry["method"] for entry in sim.log} == {"GET"}
    assert sim.get_case(42) == CASE_42
