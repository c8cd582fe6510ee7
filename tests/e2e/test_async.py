"""`async:` works on both paths, polled and fire-and-forget: the module runs once, through Ansible's async wrapper."""

from __future__ import annotations

import ansible.release
from helpers.reliability import calls, playbook, task

# ansible-core 2.16 refuses async and check mode on one task ("check mode and async cannot be used on same task").
ASYNC_CHECK_MODE = tuple(int(part) for part in ansible.release.__version__.split(".")[:2]) >= (2, 17)


def test_async_with_poll_and_with_async_status(sim, run_playbook, ansible_path):
    for case_id in (31, 32, 33):
        sim.set_case(case_id, {"source": "edr"})
    tag = {"triage": "done"}
    result = run_playbook(
        playbook(
            task("async, polled", case_id=31, metadata=tag, register="polled", async_=30, poll=1),
            task("async, fire and forget", case_id=32, metadata=tag, register="job", async_=30, poll=0),
            task(
                "wait for the job",
                module="ansible.builtin.async_status",
                jid="{{ job.ansible_job_id }}",
                register="finished",
                until="finished is finished",
                retries=60,
                delay=1,
            ),
            *(
                [task("async in check mode", case_id=33, metadata=tag, async_=30, poll=1, check_mode=True, diff=True)]
                if ASYNC_CHECK_MODE
                else []
            ),
        ),
        path=ansible_path,
    )
    assert result.rc == 0, str(result)

    polled = result.task("async, polled")
    assert polled["changed"] is True
    assert polled["added"] == tag
    assert polled["metadata"] == {"source": "edr", **tag}
    assert result.task("async, fire and forget")["ansible_job_id"]
    finished = result.task("wait for the job")
    assert finished["finished"] in (1, True)
    assert finished["changed"] is True
    assert finished["added"] == tag
    if ASYNC_CHECK_MODE:
        checked = result.task("async in check mode")
        assert checked["changed"] is True and checked["added"] == tag
        assert checked["diff"] == {"before": {"source": "edr"}, "after": {"source": "edr", **tag}}
        assert calls(sim, 33) == [("GET", 200)]

    for case_id in (31, 32):
        assert calls(sim, case_id) == [("GET", 200), ("POST", 200)], "the module ran exactly once"
        assert sim.get_case(case_id) == {"source": "edr", **tag}
    assert sim.get_case(33) == {"source": "edr"}
