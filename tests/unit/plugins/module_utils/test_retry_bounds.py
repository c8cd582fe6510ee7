"""Properties of the client's retry loop: whatever the server asks, the waits and the requests are bounded.

The integration tests cannot wait minutes for the 60 s and 120 s caps, so these
run the real TinesClient.request against a fake session that answers 429 or 503
forever, with sleeping recorded instead of done.
"""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
from ansible_collections.tines.cases.plugins.module_utils._client import (
    MAX_SINGLE_WAIT,
    MAX_TOTAL_WAIT,
    TinesClient,
    TinesError,
)
from hypothesis import given, settings
from hypothesis import strategies as st


class Storm:
    """A session whose every answer is a retryable error with the next Retry-After of `retry_afters`."""

    def __init__(self, status, retry_afters):
        self.status = status
        self.retry_afters = list(retry_afters)
        self.requests = 0

    def request(self, method, url, **_kwargs):
        self.requests += 1
        header = self.retry_afters.pop(0) if self.retry_afters else None
        return mock.Mock(
            status_code=self.status,
            headers={} if header is None else {"Retry-After": header},
            text=json.dumps({"errors": [{"message": "slow down"}]}),
        )


retry_after = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=3600).map(str),
    st.floats(min_value=0, max_value=200, allow_nan=False).map(lambda seconds: "%.2f" % seconds),
)


@settings(deadline=None)
@given(
    status=st.sampled_from([429, 500, 502, 503, 504]),
    retry_afters=st.lists(retry_after, max_size=12),
    max_retries=st.integers(min_value=0, max_value=10),
)
def test_a_storm_ends_within_the_bounds(status, retry_afters, max_retries):
    storm = Storm(status, retry_afters)
    waits = []
    client = TinesClient("https://acme.tines.example", "k", max_retries=max_retries)
    client.session = storm
    client.sleep = waits.append  # an older client took its sleep function as an attribute
    with mock.patch.object(time, "sleep", waits.append), pytest.raises(TinesError) as failure:
        client.request("GET", "/api/v2/cases/1/metadata")
    assert storm.requests == len(waits) + 1 <= max_retries + 1
    assert all(0 <= wait <= MAX_SINGLE_WAIT for wait in waits)
    assert sum(waits) <= MAX_TOTAL_WAIT
    message = str(failure.value)
    assert "gave up after %d retr" % len(waits) in message
    assert failure.value.status == status
    if status == 429:
        assert "rate limit hit" in message


def test_long_retry_afters_stop_at_the_total_cap():
    """Retry-After: 50 each time: 50 + 50 s are waited, a third wait would pass 120 s, so it gives up."""
    storm = Storm(429, ["50"] * 10)
    waits = []
    client = TinesClient("https://acme.tines.example", "k", max_retries=10)
    client.session = storm
    client.sleep = waits.append
    with (
        mock.patch.object(time, "sleep", waits.append),
        pytest.raises(TinesError, match=r"gave up after 2 retries \(100\.0 s waited\)"),
    ):
        client.request("GET", "/api/v2/cases/1/metadata")
    assert waits == [50.0, 50.0] and storm.requests == 3
