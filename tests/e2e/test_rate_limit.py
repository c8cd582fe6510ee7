"""Runs larger than the tenant's rate limit finish with nothing lost, on both paths, with forks sharing one budget.

The simulator limits each API token to a few requests per window of 2 seconds
(Tines: 5000 per minute), so that every scenario takes seconds; the tasks are told
the same window through `rate_limit_window`. The simulator counts what it accepted
and refused, so each test also shows that the limit really bit.
"""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from helpers.plays import hosts_play, play, play_data, playbook, task
from tines_sim import most_in_any_window

WINDOW = 2.0
TAG = {"triage": "done"}


def seed(sim, case_ids):
    for case_id in case_ids:
        sim.set_case(case_id, {"source": "edr"})


def tag_loop(cases, **options):
    """Tag each case: `cases` is a list, or a template naming one."""
    loop = cases if isinstance(cases, str) else list(cases)
    return task("tag each case", case_id="{{ item }}", metadata=TAG, loop=loop, rate_limit_window=WINDOW, **options)


def forked_playbook(path, groups, **options):
    """One host per group of cases, each a fork of its own, tagging its cases."""
    hosts = {f"fork{index}": {"path": path, "cases": list(case_ids)} for index, case_ids in enumerate(groups)}
    tag = play_data([tag_loop("{{ cases }}", **options)], hosts="forks", name="tag from every fork")
    return playbook(hosts_play("forks", hosts), tag)


def assert_nothing_lost(sim, result, case_ids):
    assert result.rc == 0, result
    items = [item for record in result.records("tag each case") for item in record["result"]["results"]]
    assert len(items) == len(case_ids)
    assert all(not item.get("failed") for item in items), [item.get("msg") for item in items if item.get("failed")]
    for case_id in case_ids:
        assert sim.get_case(case_id) == {"source": "edr", **TAG}, case_id


def stats(sim):
    return sim.rate_stats()[sim.api_key]


@pytest.mark.long_running
@pytest.mark.parametrize("retry_after", [None, "seconds"])
def test_a_loop_past_the_budget_finishes_with_nothing_lost(sim, run_playbook, ansible_path, retry_after):
    """The client's budget is far above the tenant's: only patient 429 handling gets the loop through."""
    # A shipped module's item can take longer than a window on a busy machine. A tenant that allows one
    # request per window still refuses its POST, sent right after its GET.
    limit, cases = (8, range(300, 316)) if ansible_path == "inprocess" else (1, range(300, 303))
    seed(sim, cases)
    sim.set_options(rate_limit=limit, rate_window=WINDOW, rate_limit_retry_after=retry_after)
    result = run_playbook(play([tag_loop(cases, rate_limit=1000)]), path=ansible_path)
    assert_nothing_lost(sim, result, cases)
    assert stats(sim)["refused"] > 0, "the tenant's limit was reached"
    assert stats(sim)["accepted"] == 2 * len(cases)


@pytest.mark.long_running
def test_a_budget_equal_to_the_tenants_gets_almost_no_429(sim, run_playbook, ansible_path):
    limit, cases = (10, range(320, 345)) if ansible_path == "inprocess" else (3, range(320, 328))
    seed(sim, cases)
    sim.set_options(rate_limit=limit, rate_window=WINDOW)
    result = run_playbook(play([tag_loop(cases, rate_limit=limit)]), path=ansible_path)
    assert_nothing_lost(sim, result, cases)
    served = stats(sim)
    assert served["accepted"] == 2 * len(cases)
    assert served["refused"] <= 1, served
    assert most_in_any_window([entry["time"] for entry in sim.log], WINDOW) <= limit + served["refused"]


def test_forks_on_one_token_share_the_budget(sim, run_playbook, ansible_path):
    """Six forks, each pacing alone at the tenant's limit, would get most of their requests refused."""
    limit = 12 if ansible_path == "inprocess" else 6
    # On the module path one case per fork is enough: its six processes share the budget or meet refusals.
    per_fork = 5 if ansible_path == "inprocess" else 1
    groups = [range(400 + 10 * fork, 400 + 10 * fork + per_fork) for fork in range(6)]
    cases = [case_id for group in groups for case_id in group]
    seed(sim, cases)
    sim.set_options(rate_limit=limit, rate_window=WINDOW)
    result = run_playbook(
        forked_playbook(ansible_path, groups, rate_limit=limit), path=ansible_path, env={"ANSIBLE_FORKS": "6"}
    )
    assert result.rc == 0, result
    for case_id in cases:
        assert sim.get_case(case_id) == {"source": "edr", **TAG}, case_id
    served = stats(sim)
    assert served["accepted"] == 2 * len(cases)
    # Alone, each fork would send its first requests at once: most of them refused.
    assert served["refused"] <= max(2, served["accepted"] // 10), served
    clients = {entry["client"] for entry in sim.log}
    assert len(clients) >= 6, "the requests came from six processes"


def test_a_tenant_allowing_less_than_rate_limit_still_finishes(sim, run_playbook, ansible_path):
    """Another tool shares the key: the tenant allows this controller less than rate_limit says."""
    # As above: on the module path, one request per window makes sure each item's POST meets the limit.
    tenant, cases = (5, range(500, 512)) if ansible_path == "inprocess" else (1, range(500, 503))
    seed(sim, cases)
    sim.set_options(rate_limit=tenant, rate_window=WINDOW)
    result = run_playbook(play([tag_loop(cases, rate_limit=2 * tenant)]), path=ansible_path)
    assert_nothing_lost(sim, result, cases)
    assert stats(sim)["refused"] > 0


def test_check_mode_is_paced_too(sim, run_playbook, ansible_path):
    limit, cases = (6, range(600, 620)) if ansible_path == "inprocess" else (2, range(600, 606))
    seed(sim, cases)
    sim.set_options(rate_limit=limit, rate_window=WINDOW)
    result = run_playbook(play([tag_loop(cases, rate_limit=limit)]), path=ansible_path, check=True)
    assert result.rc == 0, result
    served = stats(sim)
    assert served == {"accepted": len(cases), "refused": served["refused"]}
    assert served["refused"] <= 1, served
    times = [entry["time"] for entry in sim.log]
    assert max(times) - min(times) >= (len(cases) // limit - 1) * WINDOW, "the reads were spread over the windows"
    for case_id in cases:
        assert sim.get_case(case_id) == {"source": "edr"}


def test_the_budget_file_holds_no_secret_and_is_private(sim, run_playbook, ansible_path, tmp_path):
    seed(sim, [700, 701])
    result = run_playbook(play([tag_loop([700, 701], rate_limit=50)]), path=ansible_path)
    assert_nothing_lost(sim, result, [700, 701])
    directory = tmp_path / "runtime" / "tines.cases"
    assert stat.S_IMODE(os.lstat(directory).st_mode) == 0o700
    files = sorted(directory.iterdir())
    budgets = [path for path in files if path.name.endswith(".budget")]
    assert len(budgets) == 1, files
    key, url = sim.api_key.encode(), sim.url.encode()
    plain_hashes = {
        hashlib.new(name, data).hexdigest()
        for name in ("md5", "sha1", "sha256", "sha512")
        for data in (key, url + b"\n" + key, key + url)
    }
    for path in files:
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, path
        assert os.lstat(path).st_uid == os.getuid()
        content = path.read_bytes()
        for secret in (key, url):
            assert secret not in path.name.encode() and secret not in content, path
        assert not any(digest[:16] in path.name for digest in plain_hashes), path
