"""The lookup tines.cases.case_metadata: one GET per case, the modules' options and messages, the key never shown.

Lookups run on the controller whatever the inventory says, so these tests use the
in-process inventory only. Its EXAMPLES run here too, against the simulator.
"""

from __future__ import annotations

from pathlib import Path

import tines_sim
import yaml
from helpers.plays import calls, examples_of, failure, md_path, play

LOOKUP_FILE = Path(__file__).resolve().parents[2] / "plugins" / "lookup" / "case_metadata.py"
SECRET = "tk-LOOKUP5e1-SECRET8a2"
CASES = {318: {"source": "edr", "ticket": "OPS-7781"}, 319: {}, 320: {"source": "siem"}}


def debug(name, msg, **keywords):
    return {"name": name, "ansible.builtin.debug": {"msg": msg}, **keywords}


def test_lookup_and_query(run_playbook, tmp_path):
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(yaml.safe_dump({"key_with_newline": SECRET + "\n"}))
    with tines_sim.Simulator(api_key=SECRET, cases=CASES) as sim:
        echo = f"upstream rejected Authorization: Bearer {SECRET}"
        sim.add_fault(path_contains="/cases/320/", status=500, count=10, body={"errors": [{"message": echo}]})
        url, key = sim.url, "api_key=key_with_newline"
        result = run_playbook(
            play(
                [
                    debug(
                        "one case", "{{ lookup('tines.cases.case_metadata', 318, tenant_url='%s', %s) }}" % (url, key)
                    ),
                    debug("one case from the environment", "{{ lookup('tines.cases.case_metadata', '319') }}"),
                    debug("two cases with query", "{{ query('tines.cases.case_metadata', 318, 319, %s) }}" % key),
                    debug(
                        "missing case", "{{ lookup('tines.cases.case_metadata', 999, %s) }}" % key, ignore_errors=True
                    ),
                    debug(
                        "server echoing the key",
                        "{{ lookup('tines.cases.case_metadata', 320, max_retries=0, %s) }}" % key,
                        ignore_errors=True,
                    ),
                    debug(
                        "misspelled option",
                        "{{ lookup('tines.cases.case_metadata', 318, tenant_ulr='%s') }}" % url,
                        ignore_errors=True,
                    ),
                    debug("bool case id", "{{ lookup('tines.cases.case_metadata', true) }}", ignore_errors=True),
                    debug(
                        "plain http elsewhere",
                        "{{ lookup('tines.cases.case_metadata', 318, tenant_url='http://tines.example.test') }}",
                        ignore_errors=True,
                    ),
                ],
                vars_files=[secrets],
                defaults=None,
            ),
            verbosity=4,
            extra_vars={"tines_key": "unused", "tines_read_only_key": "unused"},
            env={"TINES_TENANT": url, "TINES_API_KEY": SECRET + "\n"},
        )
        assert result.rc == 0, str(result)
        assert result.task("one case")["msg"] == CASES[318]
        assert result.task("one case from the environment")["msg"] == {}
        assert result.task("two cases with query")["msg"] == [CASES[318], {}]
        # One GET per case and lookup: 318 three times (one case, query), 319 twice.
        assert calls(sim, 318) == [("GET", 200)] * 2
        assert calls(sim, 319) == [("GET", 200)] * 2
        assert calls(sim, 320) == [("GET", 500)]
        assert {entry["method"] for entry in sim.log} == {"GET"}
        assert {entry["headers"]["authorization"] for entry in sim.log} == {f"Bearer {SECRET}"}

        assert "case not found or not visible to this API key" in failure(result, "missing case")["msg"]
        assert f"GET {md_path(999)} failed with HTTP 404" in failure(result, "missing case")["msg"]
        echoed = failure(result, "server echoing the key")["msg"]
        assert "HTTP 500" in echoed and "Bearer ********" in echoed, echoed
        assert (
            "Unsupported parameters for (tines.cases.case_metadata) lookup: tenant_ulr"
            in (failure(result, "misspelled option")["msg"])
        )
        assert "case_id must be a positive integer, got True" in failure(result, "bool case id")["msg"]
        assert "uses plain HTTP to a non-loopback host" in failure(result, "plain http elsewhere")["msg"]
        for output in (result.stdout, result.stderr, str(result.results)):
            assert "LOOKUP5e1" not in output and "SECRET8a2" not in output


def test_lookup_examples_run(sim, run_playbook):
    for case_id, metadata in CASES.items():
        sim.set_case(case_id, metadata)
    result = run_playbook(
        play(examples_of(LOOKUP_FILE), defaults=None),
        extra_vars={"tines_api_key": sim.api_key},
        env={"TINES_TENANT_URL": sim.url, "TINES_API_KEY": sim.api_key},
    )
    assert result.rc == 0, str(result)
    assert (
        result.task("Show where case 318 came from (credentials from TINES_TENANT_URL and TINES_API_KEY)")["msg"]
        == "Case 318 came from edr"
    )
    facts = result.task("Pick the cases of several that already have a ticket")["ansible_facts"]
    assert facts["ticketed"] == [318]
    assert [entry["path"] for entry in sim.log] == [md_path(318), md_path(318), md_path(319), md_path(320)]


def test_a_list_term_is_read_as_its_cases_and_a_missing_key_says_where_the_lookup_reads_it(run_playbook, tmp_path):
    """The play's environment: sets TINES_API_KEY for tasks, which a lookup does not see; the message says so."""
    with tines_sim.Simulator(api_key=SECRET, cases=CASES) as sim:
        key = "api_key='%s'" % SECRET
        result = run_playbook(
            play(
                [
                    debug("a list", "{{ query('tines.cases.case_metadata', [318, 319], %s) }}" % key),
                    debug("a list variable", "{{ query('tines.cases.case_metadata', cases, %s) }}" % key),
                    debug("a list beside a number", "{{ query('tines.cases.case_metadata', [320], 318, %s) }}" % key),
                    debug("lookup of a list", "{{ lookup('tines.cases.case_metadata', ['319'], %s) }}" % key),
                    debug("no key", "{{ lookup('tines.cases.case_metadata', 318) }}", ignore_errors=True),
                ],
                vars={"cases": [319, 320]},
                environment={"TINES_API_KEY": SECRET},
                defaults=None,
            ),
            extra_vars={"tines_key": "unused", "tines_read_only_key": "unused"},
            env={"TINES_TENANT_URL": sim.url},
        )
        assert result.rc == 0, str(result)
        assert result.task("a list")["msg"] == [CASES[318], CASES[319]]
        assert result.task("a list variable")["msg"] == [CASES[319], CASES[320]]
        assert result.task("a list beside a number")["msg"] == [CASES[320], CASES[318]]
        assert result.task("lookup of a list")["msg"] == CASES[319]
        assert (
            "api_key is required: set the option or the TINES_API_KEY environment variable; a lookup reads these "
            "variables from the environment ansible-playbook runs in on the controller, not from a play's or task's "
            "environment keyword"
        ) in failure(result, "no key")["msg"]
        assert [entry["path"] for entry in sim.log] == [md_path(case) for case in (318, 319, 319, 320, 320, 318, 319)]
