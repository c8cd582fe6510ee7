"""Changing cases in the simulator as a tenant's users would, for the event source tests."""

from __future__ import annotations

import time

import requests
import tines_sim

OLD = "2025-06-01T09:00:00.000Z"


def record(status="OPEN", created=OLD, updated=None, metadata=None, **fields):
    """A case record for the simulator; created and updated default to long before any source starts."""
    return {
        "status": status,
        "created_at": created,
        "updated_at": updated or created,
        "metadata": metadata or {},
        **fields,
    }


def created_now(sim, case_id, status="OPEN", metadata=None, **fields):
    moment = tines_sim.iso_time(time.time())
    sim.set_case(case_id, record(status, moment, moment, metadata, **fields))
    time.sleep(0.002)  # times have milliseconds: an edit right after must come out later


def edit(sim, case_id, **metadata):
    """Add metadata through the API, as a person or a story would: the case's updated_at moves."""
    answer = requests.post(
        "%s/api/v2/cases/%d/metadata" % (sim.url, case_id),
        json={"metadata": metadata},
        headers={"Authorization": "Bearer " + sim.api_key},
        timeout=10,
    )
    answer.raise_for_status()


def list_requests(sim):
    """The simulator's log of case list requests: each poll makes at least one."""
    return sim.requests("GET", "/api/v2/cases")
