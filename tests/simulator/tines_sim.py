"""A local stand-in for the Tines v2 case API: metadata, single case, case list (stdlib only).

Behaviour follows the documented v2 endpoints; every point the Tines docs
leave open (POST of an existing key, response content, status codes, PUT of a
new key, DELETE of an absent key, value types, error shapes, 429 headers and
window kind, 403 vs 404, how list filters travel, whether list items carry
metadata) has a default and a switch, so clients can be tested against each
plausible server. Faults (5xx, 429, proxy pages, truncated bodies, resets,
slow answers, redirects) can be queued per request.

Endpoints (``Authorization: Bearer KEY`` or ``X-User-Token: KEY``):
    GET    /api/v2/cases                      list (below)
    GET    /api/v2/cases/{id}                 the case record, metadata included
    GET    /api/v2/cases/{id}/metadata[/key]  {"case_id", "metadata"}
    POST, PUT, DELETE /api/v2/cases/{id}/metadata

Cases. Seeds (``cases=``, ``set_case``, ``reset(cases=)``, ``--seed``,
``PUT /_sim/cases``) map a case id to either its metadata map (the older form)
or a record, recognised by a "metadata" field holding an object or null::

    {"42": {"source": "edr"},
     "318": {"name": "Beacon on host-44", "status": "CLOSED", "priority": "HIGH",
             "team": {"id": 7, "name": "SecOps"}, "tags": ["edr"],
             "created_at": "2025-03-01T10:00:00Z", "metadata": {"source": "edr"}}}

Record fields and defaults: name ("Simulated case {id}"), description (""),
status (OPEN | CLOSED; OPEN), priority (INFO | LOW | MEDIUM | HIGH | CRITICAL;
MEDIUM), team ({id, name}, or team_id; {"id": 1, "name": "Default team"}),
tags ([]), created_at (2025-01-01T00:00:00Z plus {id} seconds, so creation
order is id order), opened_at and updated_at (created_at), metadata ({}).
A case_id field must match the key; other fields are refused (ValueError, or
400 on a control endpoint). A write that changes the metadata sets
updated_at to now (strictly later than any earlier edit). ``set_case(id, metadata_map)`` on a known case replaces only
its metadata; a record replaces the case.

List ``GET /api/v2/cases``: query ``page`` (1), ``per_page`` (20; capped at
``max_per_page``), ``team_id``, ``order`` (RECENTLY_EDITED,
LEAST_RECENTLY_EDITED, CREATED_ASC/DESC, OPENED_ASC/DESC, PRIORITY_ASC/DESC;
ties, and no or an empty order: by case id, ascending) and ``filters`` in bracket encoding
(``parse_query``): ``filters[status]=OPEN``, ``filters[priority]=HIGH``,
``filters[case_ids][]=318&filters[case_ids][]=319``,
``filters[metadata][source]=edr`` (several keys: all must match; a list of
values: any), ``filters[tags][]=x`` (also and_tags: all of them; or_tags: any;
exclude_tags: none), ``filters[search]=text`` (case-insensitive, in name,
description or id). A list value matches any of its items. Unknown filter
names, and values that are neither a string nor a list of strings, are
ignored, as a lenient server would; ``filters`` sent any other way (JSON
text, a request body) is ignored too. A page, per_page or team_id that is not
a whole number >= 1, or an unknown order, is a 400. Hidden cases are left
out. The answer is {"cases": [records], "meta": {current_page, previous_page,
next_page, next_page_number, per_page, pages, count}}: page links are
absolute URLs on the host the client connected to (its Host header), holding
the request's own query with page and per_page set; previous_page,
next_page and next_page_number are null at either end (unless ``paging`` says
otherwise); pages is 0 when
nothing matches; a page past the end lists no cases.

Rate limits (two, both off by default; the first to refuse answers 429 with
the ``error_shape`` body):
- ``rate_limit_after=N, rate_limit_count=K``: a fault counter over all
  tokens; the server answers N requests, refuses the next K, then starts over,
  with ``retry_after``/``retry_after_seconds`` as Retry-After.
- ``rate_limit=L``: a budget per API token (Tines budgets each (client IP,
  token) pair; the simulator sees one IP), ``rate_window`` seconds long,
  ``rate_window_kind`` "sliding" (no half-open interval of that length holds
  more than L accepted requests of one token, timed when the server decides)
  or "fixed" (windows of the wall clock aligned to multiples of the length).
  Refused requests use up no budget unless ``rate_count_refused``: then a
  client that keeps retrying too early stays locked out. A 429 carries no
  Retry-After (as documented: none is) unless ``rate_limit_retry_after`` is
  "seconds" (true) or "date": the whole seconds, at least 1, until a retry
  can succeed. ``rate_limit_headers`` "delta" (true) or "epoch" adds
  X-RateLimit-Limit, X-RateLimit-Remaining (after this request) and
  X-RateLimit-Reset (when Remaining next grows: seconds from now rounded up,
  or Unix time rounded up) to every answer the limit decides. Requests
  without a token are budgeted under "".
Both apply to every API request, before its route and key are checked, and
not to requests a fault consumes. Their counters restart on start, reset()
and any set_options touching their own options. ``rate_stats()`` (and GET
/_sim/stats) count, per token, the requests accepted and refused since the
last reset() or clear_rate_stats(), whether or not a limit is on.

Options (construction, ``set_options``, ``--option NAME=VALUE`` with a JSON or
plain value, ``POST /_sim/options``): post_existing, response_metadata,
post_status, put_new_key, delete_absent, non_string_values, key_limit,
hidden_cases, hidden_status, read_only_status, error_shape (the write and
error rules; see DEFAULT_OPTIONS and CHOICES), rate_limit_after,
rate_limit_count, retry_after, retry_after_seconds, rate_limit, rate_window,
rate_window_kind, rate_limit_retry_after, rate_limit_headers,
rate_count_refused (above), max_per_page (500; 50 mimics older tenants),
ignore_filters (false; true answers as a tenant that does not understand the
filter encoding: every filter is ignored, team_id still applies),
list_metadata (true; false leaves "metadata" out of list items), paging
("normal"; "repeat" lists page 1's cases whatever page is asked, with a
meta that names the page after the one asked as next, as a tenant that
ignores ``page`` but builds its links from the request; "endless" lists the
page asked, but every meta names the page after it as next, on the last
page and past the end too, where no cases are listed), latency
(seconds before every answer) and interleave (up to this many seconds
between a write's read and its store).

Details a test may depend on:
- ``response_metadata="sent"``: the keys the request named, with the values
  stored after the write (so a kept old value shows the old value).
- ``apply_write`` is the write rule alone (pure), for fakes that must agree
  with the simulator.
- Log entries: ``query`` is a dict (last value wins), ``query_string`` the
  raw query (repeated keys visible), ``body`` the parsed JSON, else the raw
  text, else None; ``status`` stays None for a "reset" fault; ``client`` is
  the peer's "host:port", so the requests of one kept-alive connection (one
  client process) can be told apart from another's.
- Faults with ``apply=True`` change the case first: "status", "html" and
  "empty" then answer as told, "reset" drops the connection, "truncated" sends
  half the answer and closes, "reset_mid" sends half the answer and resets,
  and "slow" waits ``delay`` before answering (without ``apply`` a "slow"
  write is applied only after the delay, as a queued request would be).
- Order of checks: rate limits (429), route (404), key (401), case exists /
  hidden (404 or 403), read-only key on a write, body shape (400), then the
  write (422).

Python API: ``Simulator(host, port, api_key, read_only_key, cases, tls,
rate_clock=time.time, **options)`` (rate_clock: the limiter's clock, for
tests that move time themselves), start/stop or ``with``, url, options, set_options, add_fault,
reset, cases (snapshot {id: metadata}), get_case (metadata), get_case_record,
set_case, log, clear_log, requests, rate_stats, clear_rate_stats.

Use it in-process (``Simulator(...).start()``) or from the command line::

    python tests/simulator/tines_sim.py --port 8080 --api-key KEY --seed cases.json

``launch(args)`` (and ``--background`` on the command line, for shell scripts) starts it in a
process of its own and returns once it listens: the one way the scripts start it.

Out-of-process users drive it through the unauthenticated control endpoints:
GET/DELETE /_sim/log, GET/PUT /_sim/cases (GET: metadata maps), GET
/_sim/records, GET/POST /_sim/options, POST /_sim/faults, GET/DELETE
/_sim/stats ({"rate": rate_stats()}), POST /_sim/reset.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import math
import os
import random
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque, namedtuple
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qsl, unquote, urlencode

DEFAULT_OPTIONS = {
    "post_existing": "keep",
    "response_metadata": "full",
    "post_status": 200,
    "put_new_key": "create",
    "delete_absent": "ignore",
    "non_string_values": "422",
    "key_limit": 100,
    "hidden_cases": frozenset(),
    "hidden_status": 404,
    "read_only_status": 403,
    "error_shape": "errors",
    "rate_limit_after": None,
    "rate_limit_count": 1,
    "retry_after": "1",
    "retry_after_seconds": 1,
    "rate_limit": None,
    "rate_window": 60.0,
    "rate_window_kind": "sliding",
    "rate_limit_retry_after": None,
    "rate_limit_headers": None,
    "rate_count_refused": False,
    "max_per_page": 500,
    "ignore_filters": False,
    "list_metadata": True,
    "paging": "normal",
    "latency": 0.0,
    "interleave": 0.0,
}

CHOICES = {
    "post_existing": ("keep", "overwrite", "422"),
    "response_metadata": ("full", "sent"),
    "post_status": (200, 201),
    "put_new_key": ("create", "ignore", "422"),
    "delete_absent": ("ignore", "404", "422"),
    "non_string_values": ("422", "accept"),
    "hidden_status": (404, 403),
    "read_only_status": (403, 404),
    "error_shape": ("errors", "error_object", "error_string", "message", "text", "empty"),
    "rate_window_kind": ("sliding", "fixed"),
    "rate_limit_retry_after": (None, "seconds", "date"),
    "rate_limit_headers": (None, "delta", "epoch"),
    "paging": ("normal", "repeat", "endless"),
}

# Options that take true/false; for the two "off or a form" switches true picks the first form.
FLAGS = ("rate_count_refused", "ignore_filters", "list_metadata")
SWITCHES = ("rate_limit_retry_after", "rate_limit_headers")
# Changing one of these starts every token's rate-limit window afresh.
LIMITER_OPTIONS = ("rate_limit", "rate_window", "rate_window_kind", "rate_count_refused")

FAULT_KINDS = ("status", "html", "empty", "truncated", "reset", "reset_mid", "slow", "redirect")

ERROR_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    422: "unprocessable_entity",
    429: "rate_limited",
}

PROXY_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b"<body><h1>Corporate proxy</h1><p>Please sign in to continue.</p></body></html>\n"
)

_ROUTE = re.compile(r"^/api/v2/cases/(\d+)(?:/(metadata)(?:/(.+))?)?$")
LIST_PATH = "/api/v2/cases"

STATUSES = ("OPEN", "CLOSED")
PRIORITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # lowest first, for PRIORITY_ASC
DEFAULT_TEAM = {"id": 1, "name": "Default team"}
RECORD_FIELDS = (
    "case_id",
    "name",
    "description",
    "status",
    "priority",
    "team",
    "team_id",
    "tags",
    "opened_at",
    "created_at",
    "updated_at",
    "metadata",
)
# A seeded case without created_at was created this many seconds after 2025-01-01T00:00:00Z,
# its case id, so that creation order is case id order.
SEED_EPOCH = 1735689600
# order= of the list endpoint: (record field, newest/highest first).
ORDERS = {
    "RECENTLY_EDITED": ("updated_at", True),
    "LEAST_RECENTLY_EDITED": ("updated_at", False),
    "CREATED_DESC": ("created_at", True),
    "CREATED_ASC": ("created_at", False),
    "OPENED_DESC": ("opened_at", True),
    "OPENED_ASC": ("opened_at", False),
    "PRIORITY_DESC": ("priority", True),
    "PRIORITY_ASC": ("priority", False),
}
_WRITES = ("POST", "PUT", "DELETE")
_PAGING = ("page", "per_page")


class Response:
    """One HTTP answer, written to the socket in a single piece."""

    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status, body=b"", content_type="application/json", headers=()):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = tuple(headers)


def _json_response(status, payload, headers=()):
    return Response(status, json.dumps(payload).encode(), headers=headers)


def error_response(shape, status, message, details="", headers=()):
    """Build an error answer in one of the body shapes Tines is known to use."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "error")
    if shape == "text":
        return Response(status, message.encode(), "text/plain; charset=utf-8", headers)
    if shape == "empty":
        return Response(status, b"", None, headers)
    payload = {
        "errors": {"errors": [{"message": message, "details": details}]},
        "error_object": {"error": {"type": kind, "message": message}},
        "error_string": {"error": message},
        "message": {"message": message},
    }[shape]
    return _json_response(status, payload, headers)


def _retry_after_header(value, seconds, now=None):
    if value is None:
        return ()
    if value == "date":
        when = (time.time() if now is None else now) + seconds
        return (("Retry-After", email.utils.formatdate(when, usegmt=True)),)
    return (("Retry-After", str(value)),)


_FLAG_WORDS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _flag(name, value):
    """A boolean from JSON, the command line or Python; anything else is a mistake worth reporting."""
    if str(value).lower() in _FLAG_WORDS:
        return _FLAG_WORDS[str(value).lower()]
    raise ValueError(f"option {name} must be true or false, not {value!r}")


def normalize_option(name, value):
    """Coerce an option value (possibly from JSON or the command line) or raise ValueError."""
    if name not in DEFAULT_OPTIONS:
        raise ValueError(f"unknown option {name!r}")
    if name in FLAGS:
        return _flag(name, value)
    if name in SWITCHES and str(value).lower() in _FLAG_WORDS:
        value = CHOICES[name][1] if _flag(name, value) else None
    if name in CHOICES:
        for choice in CHOICES[name]:
            if str(value) == str(choice):
                return choice
        raise ValueError(f"option {name} must be one of {CHOICES[name]}, not {value!r}")
    if name == "hidden_cases":
        return _case_ids(value)
    if name in ("rate_limit_after", "rate_limit"):
        return None if value is None else _at_least(name, _whole(name, value), 0)
    if name in ("key_limit", "rate_limit_count", "retry_after_seconds"):
        return _whole(name, value)
    if name == "max_per_page":
        return _at_least(name, _whole(name, value), 1)
    if name in ("latency", "interleave"):
        return _number(name, value)
    if name == "rate_window":
        if _number(name, value) <= 0:
            raise ValueError(f"option rate_window must be above 0, not {value!r}")
        return float(value)
    return None if value is None else str(value)  # retry_after


def _case_ids(value):
    """hidden_cases: a list of case ids (None: none)."""
    if value is None:
        return frozenset()
    if isinstance(value, (list, tuple, set, frozenset)) and all(_is_case_id(case_id) for case_id in value):
        return frozenset(int(case_id) for case_id in value)
    raise ValueError(f"option hidden_cases must be a list of case ids such as [7, 42], not {value!r}")


def _is_case_id(value):
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, str) and value.isdigit()))


def _whole(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise ValueError(f"option {name} must be a whole number, not {value!r}")
    return int(value)


def _number(name, value):
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"option {name} must be a number, not {value!r}") from None


def _at_least(name, number, low):
    if number < low:
        raise ValueError(f"option {name} must be at least {low}, not {number}")
    return number


def apply_write(method, current, sent, options):
    """Return (new_metadata, None) or (None, (status, message, details)) for one write."""
    if method == "DELETE":
        absent = [key for key in sent if key not in current]
        if absent and options["delete_absent"] != "ignore":
            return None, (int(options["delete_absent"]), "Metadata key not found", ", ".join(absent))
        return {k: v for k, v in current.items() if k not in sent}, None

    bad = [key for key, value in sent.items() if not isinstance(value, str)]
    if bad and options["non_string_values"] == "422":
        return None, (422, "Metadata values must be strings", ", ".join(bad))
    existing = [key for key in sent if key in current]
    absent = [key for key in sent if key not in current]
    if method == "POST":
        if existing and options["post_existing"] == "422":
            return None, (422, "Metadata key already exists", ", ".join(existing))
        write = options["post_existing"] == "overwrite"
        new = {**current, **{k: v for k, v in sent.items() if write or k not in current}}
    else:
        if absent and options["put_new_key"] == "422":
            return None, (422, "Metadata key not found", ", ".join(absent))
        create = options["put_new_key"] == "create"
        new = {**current, **{k: v for k, v in sent.items() if create or k in current}}
    if len(new) > options["key_limit"]:
        limit = options["key_limit"]
        return None, (422, f"A case can have at most {limit} metadata keys", f"{len(new)} keys after this write")
    return new, None


def iso_time(seconds):
    """The timestamp form the simulator writes: UTC, milliseconds, "Z"."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(text):
    """Seconds since the epoch of an ISO 8601 timestamp; "Z" or an offset, none meaning UTC."""
    if not isinstance(text, str):
        raise ValueError(f"timestamp must be an ISO 8601 string, not {text!r}")
    value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def _is_record(value):
    """A seed value is a case record when it has a "metadata" field holding an object (or null);
    any other mapping is the case's metadata itself (the older seed form)."""
    return "metadata" in value and (value["metadata"] is None or isinstance(value["metadata"], dict))


def case_record(case_id, value):
    """Build the stored record of one case from either seed form, filling documented defaults.

    Raises ValueError on unknown record fields, a bad status/priority/team or an unreadable time,
    so that a typo in a seed file fails at start instead of quietly becoming metadata.
    """
    case_id = int(case_id)
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise ValueError(f"case {case_id}: expected an object, not {value!r}")
    if not _is_record(value):
        value = {"metadata": value}
    unknown = sorted(set(value) - set(RECORD_FIELDS))
    if unknown:
        raise ValueError(f"case {case_id}: unknown case fields {unknown} (metadata goes under 'metadata')")
    if int(value.get("case_id", case_id)) != case_id:
        raise ValueError(f"case {case_id}: case_id {value['case_id']!r} does not match")
    status = str(value.get("status", "OPEN")).upper()
    priority = str(value.get("priority", "MEDIUM")).upper()
    if status not in STATUSES or priority not in PRIORITIES:
        raise ValueError(f"case {case_id}: status must be one of {STATUSES} and priority one of {PRIORITIES}")
    tags = value.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"case {case_id}: tags must be a list of strings")
    created = value.get("created_at") or iso_time(SEED_EPOCH + case_id)
    record = {
        "case_id": case_id,
        "name": str(value.get("name") or f"Simulated case {case_id}"),
        "description": str(value.get("description") or ""),
        "status": status,
        "priority": priority,
        "team": _team(case_id, value),
        "tags": list(tags),
        "opened_at": value.get("opened_at") or created,
        "created_at": created,
        "updated_at": value.get("updated_at") or created,
        "metadata": dict(value.get("metadata") or {}),
    }
    for field in ("opened_at", "created_at", "updated_at"):
        _instant(record[field])
    return record


def _team(case_id, value):
    team, team_id = value.get("team"), value.get("team_id")
    if team is None:
        return dict(DEFAULT_TEAM) if team_id is None else {"id": int(team_id), "name": f"Team {int(team_id)}"}
    if not isinstance(team, dict) or "id" not in team:
        raise ValueError(f"case {case_id}: team must be an object with an id")
    if team_id is not None and int(team_id) != int(team["id"]):
        raise ValueError(f"case {case_id}: team_id {team_id!r} and team id {team['id']!r} differ")
    return {"id": int(team["id"]), "name": str(team.get("name") or f"Team {int(team['id'])}")}


def case_json(record, metadata=True):
    """A record as the API shows it (a copy; without `metadata` when the list leaves it out)."""
    shown = {**record, "team": dict(record["team"]), "tags": list(record["tags"])}
    if metadata:
        shown["metadata"] = dict(record["metadata"])
    else:
        del shown["metadata"]
    return shown


def parse_query(query):
    """Decode a query string with bracket nesting, as Rails and Rack servers read it.

    ``a=1`` gives {"a": "1"} (a repeated plain name: last value wins), ``a[b]=1`` {"a": {"b": "1"}},
    ``a[]=1&a[]=2`` {"a": ["1", "2"]}, ``a[b][]=1`` {"a": {"b": ["1"]}} and ``a[][b]=1&a[][b]=2``
    [{"b": "1"}, {"b": "2"}]. A name whose brackets do not close is taken as a plain name.
    """
    params = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", name)
        if match is None:
            params[name] = value
            continue
        _nest(params, [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))], value)
    return params


def _nest(container, parts, value):
    head, rest = parts[0], parts[1:]
    if not rest:
        container[head] = value
    elif rest[0] == "":
        items = container[head] if isinstance(container.get(head), list) else []
        container[head] = items
        if len(rest) == 1:
            items.append(value)
        else:  # a[][b]: a new object unless the last one has no "b" yet
            if not (items and isinstance(items[-1], dict) and rest[1] not in items[-1]):
                items.append({})
            _nest(items[-1], rest[1:], value)
    else:
        child = container[head] if isinstance(container.get(head), dict) else {}
        container[head] = child
        _nest(child, rest, value)


def _values(value):
    """A filter value as a list of strings, or None when it is neither a string nor a list of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _found(text, record):
    """`search` looks for the text, case-insensitively, in the name, the description and the id."""
    text = text.casefold()
    return any(text in field.casefold() for field in (record["name"], record["description"], str(record["case_id"])))


# The list filters the simulator understands: name -> check(record, values as a list of strings).
FILTERS = {
    "status": lambda record, values: record["status"] in {value.upper() for value in values},
    "priority": lambda record, values: record["priority"] in {value.upper() for value in values},
    "case_ids": lambda record, values: str(record["case_id"]) in {value.strip() for value in values},
    "tags": lambda record, values: set(record["tags"]).issuperset(values),
    "and_tags": lambda record, values: set(record["tags"]).issuperset(values),
    "or_tags": lambda record, values: not values or not set(record["tags"]).isdisjoint(values),
    "exclude_tags": lambda record, values: set(record["tags"]).isdisjoint(values),
    "search": lambda record, values: any(_found(value, record) for value in values),
}


def case_matches(record, filters):
    """Whether a case passes the list filters; unknown filters and malformed values are ignored."""
    for name, wanted in filters.items():
        if name == "metadata" and isinstance(wanted, dict):
            for key, accepted in wanted.items():
                accepted = _values(accepted)
                if accepted is not None and record["metadata"].get(key) not in accepted:
                    return False
            continue
        values = _values(wanted)
        if name in FILTERS and values is not None and not FILTERS[name](record, values):
            return False
    return True


def sort_cases(records, order=None):
    """Sort records in place by a documented `order` (None: by case id); ties go by case id."""
    records.sort(key=lambda record: record["case_id"])
    if order is not None:
        field, newest_first = ORDERS[order]
        key = (lambda r: PRIORITIES.index(r["priority"])) if field == "priority" else (lambda r: _instant(r[field]))
        records.sort(key=key, reverse=newest_first)  # stable, also reversed: ties keep case id order
    return records


def _parse_body(raw):
    """Return (value, ok): the decoded JSON, or the raw text / None with ok False."""
    if not raw:
        return None, False
    try:
        return json.loads(raw), True
    except ValueError:
        return raw.decode("utf-8", "replace"), False


def _body_to_response(status, body, headers):
    if isinstance(body, (dict, list)):
        return _json_response(status, body, headers)
    data = body.encode() if isinstance(body, str) else bytes(body)
    try:
        json.loads(data)
        content_type = "application/json"
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to decode
        content_type = "text/plain; charset=utf-8"
    return Response(status, data, content_type, headers)


RateDecision = namedtuple("RateDecision", "allowed remaining free_at now")
RateDecision.__doc__ = """One request's fate: `free_at` is the clock time at which `remaining` next grows."""


def most_in_any_window(times, window):
    """The most of `times` inside one half-open interval `window` seconds long: what a sliding limit bounds."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] + window <= at:  # the same sum as RateLimiter's, for the same float rounding
            start += 1
        most = max(most, end - start + 1)
    return most


class RateLimiter:
    """At most `limit` requests per token in `window` seconds, as Tines budgets each (client IP, API token).

    "sliding": no half-open interval of `window` seconds holds more than `limit` accepted requests
    (times as `clock` reads them when the request is decided). "fixed": at most `limit` per window of
    the clock aligned to multiples of `window` (whole minutes for 60 s). With `count_refused` a refused
    request uses up budget too, so a client that keeps retrying keeps itself locked out.

    Not thread-safe on its own: the simulator calls `check` under one short lock. A sliding window
    keeps a deque of times per token, trimmed when that token is next seen, so a check is amortised O(1).
    """

    def __init__(self, limit, window=60.0, kind="sliding", count_refused=False, clock=time.time):
        self.limit = limit
        self.window = window
        self.kind = kind
        self.count_refused = count_refused
        self.clock = clock
        self._tokens = {}

    def check(self, token):
        """Decide one request of `token` now and count it."""
        now = self.clock()
        if self.kind == "fixed":
            return self._fixed(token, now)
        return self._sliding(token, now)

    def _sliding(self, token, now):
        times = self._tokens.setdefault(token, deque())
        while times and times[0] + self.window <= now:  # the same sum as free_at, so free_at > now
            times.popleft()
        allowed = len(times) < self.limit
        if allowed or self.count_refused:
            times.append(now)
        excess = len(times) - self.limit
        # Budget frees when enough of the oldest times leave for the count to drop below the limit.
        free_at = times[max(0, excess)] + self.window if self.limit > 0 and times else now + self.window
        return RateDecision(allowed, max(0, -excess), free_at, now)

    def _fixed(self, token, now):
        index = math.floor(now / self.window)
        state = self._tokens.get(token)
        if state is None or state[0] != index:
            state = self._tokens[token] = [index, 0]
        allowed = state[1] < self.limit
        if allowed or self.count_refused:
            state[1] += 1
        return RateDecision(allowed, max(0, self.limit - state[1]), (index + 1) * self.window, now)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128

    def __init__(self, sim, address, family):
        self.address_family = family
        self.sim = sim
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._closing = False
        self._workers = []
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        """Daemon worker threads, remembered so that server_close() can join them."""
        worker = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self._conns_lock:
            self._workers = [thread for thread in self._workers if thread.is_alive()]
            self._workers.append(worker)
        worker.start()

    def server_close(self):
        super().server_close()
        with self._conns_lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join()

    def server_bind(self):
        """Skip HTTPServer's getfqdn(), which can stall on hosts without DNS."""
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        """Client hang-ups and TLS failures are expected; stay quiet."""

    def track(self, conn, add):
        with self._conns_lock:
            if not add:
                self._conns.discard(conn)
            elif self._closing:
                _shutdown(conn)
            else:
                self._conns.add(conn)

    def close_connections(self):
        """Wake handler threads idling on keep-alive connections so they can be joined."""
        with self._conns_lock:
            self._closing = True
            for conn in self._conns:
                _shutdown(conn)


def _reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _shutdown(conn):
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "tines-sim"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()
        self.server.track(self.request, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.request, False)

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.sim._serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def head_bytes(self, resp, length):
        lines = [
            f"HTTP/1.1 {resp.status} {_reason(resp.status)}",
            "Server: tines-sim",
            f"Date: {self.date_time_string()}",
        ]
        if resp.content_type:
            lines.append(f"Content-Type: {resp.content_type}")
        if resp.status != 204:
            lines.append(f"Content-Length: {length}")
        lines.extend(f"{name}: {value}" for name, value in resp.headers)
        lines.append("Connection: close" if self.close_connection else "Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, resp):
        self.wfile.write(self.head_bytes(resp, len(resp.body)) + resp.body)

    def send_truncated(self, resp, reset=False):
        """Send the head and half the body, then close (or reset) the connection."""
        self.close_connection = True
        self.wfile.write(self.head_bytes(resp, len(resp.body)) + resp.body[: len(resp.body) // 2])
        if reset:
            self.reset()

    def reset(self):
        """Drop the connection with an RST instead of an answer."""
        self.close_connection = True
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()


class Simulator:
    """The simulated tenant: cases, options, queued faults and a request log."""

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        api_key="test-api-key",
        read_only_key="read-only-key",
        cases=None,
        tls=None,
        rate_clock=time.time,
        **options,
    ):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.read_only_key = read_only_key
        self.tls = tls
        self.lock = threading.Lock()
        self._records = {}
        self._last_edit = 0.0
        self._seed(cases or {})
        self._log = []
        self._faults = []
        # Rate limiting has its own lock, held only to decide and count one request.
        self._rate_lock = threading.Lock()
        self._rate_clock = rate_clock
        self._rate = [0, 0]
        self._limiter = None
        self._rate_counts = {}
        self._options = dict(DEFAULT_OPTIONS)
        self.set_options(**options)
        self._server = None
        self._thread = None
        self._stopping = threading.Event()

    # --- lifecycle -----------------------------------------------------

    def start(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._stopping.clear()
        self._restart_rate_limits(self._options)
        self._server = _Server(self, (self.host, self.port), family)
        self.port = self._server.server_address[1]
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="tines-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self if self._server else self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    # --- state ---------------------------------------------------------

    @property
    def options(self):
        return dict(self._options)

    def set_options(self, **options):
        """Change switches at runtime; touching a rate limit restarts its counters (not rate_stats)."""
        new = {name: normalize_option(name, value) for name, value in options.items()}
        with self.lock:
            self._options = {**self._options, **new}
            options = self._options
        with self._rate_lock:
            if {"rate_limit_after", "rate_limit_count"} & new.keys():
                self._rate = [0, 0]
            if set(LIMITER_OPTIONS) & new.keys():
                self._limiter = _limiter(options, self._rate_clock)

    def _restart_rate_limits(self, options):
        with self._rate_lock:
            self._rate = [0, 0]
            self._limiter = _limiter(options, self._rate_clock)

    def add_fault(
        self,
        method=None,
        path_contains=None,
        count=1,
        kind="status",
        status=500,
        apply=False,
        delay=0.0,
        retry_after=None,
        location=None,
        body=None,
    ):
        """Queue a fault for the next `count` API requests that match; first match wins."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
        fault = {
            "method": method.upper() if method else None,
            "path_contains": path_contains,
            "remaining": int(count),
            "kind": kind,
            "status": int(status),
            "apply": bool(apply),
            "delay": float(delay),
            "retry_after": None if retry_after is None else str(retry_after),
            "location": location,
            "body": body,
        }
        with self.lock:
            self._faults.append(fault)

    def reset(self, cases=None):
        """Forget log, faults, rate limits and their stats, option changes; reseed when given cases."""
        records = None if cases is None else _records(cases)
        with self.lock:
            self._log.clear()
            self._faults.clear()
            self._options = dict(DEFAULT_OPTIONS)
            if records is not None:
                self._records = records
        self._restart_rate_limits(DEFAULT_OPTIONS)
        self.clear_rate_stats()

    def _seed(self, cases):
        records = _records(cases)
        with self.lock:
            self._records.update(records)

    @property
    def cases(self):
        """A snapshot {case id: metadata} of every case; change cases with set_case."""
        with self.lock:
            return {case_id: dict(record["metadata"]) for case_id, record in self._records.items()}

    def get_case(self, case_id):
        """The metadata of one case (a copy), or None."""
        with self.lock:
            record = self._records.get(int(case_id))
            return None if record is None else dict(record["metadata"])

    def get_case_record(self, case_id):
        """The whole record of one case as the single-case GET shows it, or None."""
        with self.lock:
            record = self._records.get(int(case_id))
            return None if record is None else case_json(record)

    def set_case(self, case_id, value):
        """Store a case: a record replaces it, a metadata map replaces only the metadata of a known case."""
        case_id = int(case_id)
        record = case_record(case_id, value)
        with self.lock:
            if case_id in self._records and not _is_record(value or {}):
                self._records[case_id]["metadata"] = record["metadata"]
            else:
                self._records[case_id] = record

    def rate_stats(self):
        """{token: {"accepted": n, "refused": n}}: what the rate limits decided since the last reset.

        Every API request that no fault consumed counts, whether or not a limit is on; "refused" counts
        the 429 answers of either rate limit. Requests without a token count under "".
        """
        with self._rate_lock:
            return {token: {"accepted": ok, "refused": no} for token, (ok, no) in self._rate_counts.items()}

    def clear_rate_stats(self):
        with self._rate_lock:
            self._rate_counts.clear()

    @property
    def log(self):
        with self.lock:
            return [dict(entry) for entry in self._log]

    def clear_log(self):
        with self.lock:
            self._log.clear()

    def requests(self, method=None, path_prefix=None):
        return [
            entry
            for entry in self.log
            if (method is None or entry["method"] == method.upper())
            and (path_prefix is None or entry["path"].startswith(path_prefix))
        ]

    # --- request handling ----------------------------------------------

    def _serve(self, handler):
        raw = handler.read_body()
        path, _sep, query = handler.path.partition("?")
        if path.startswith("/_sim/"):
            handler.send(self._control(handler.command, path, raw))
            return
        body, ok = _parse_body(raw)
        entry = {
            "method": handler.command,
            "path": path,
            "query": dict(parse_qsl(query, keep_blank_values=True)),
            "query_string": query,
            "headers": {name.lower(): value for name, value in handler.headers.items()},
            "body": body,
            "status": None,
            "time": time.time(),
            "client": "%s:%s" % tuple(handler.client_address[:2]),
        }
        with self.lock:
            self._log.append(entry)
            fault = self._take_fault(handler.command, path)
            options = self._options
        self._sleep(options["latency"])

        def normal():
            return self._answer(handler.command, path, query, entry["headers"], body, ok, options)

        if fault is None:
            refusal, headers = self._rate_limit(_token(entry["headers"]), options)
            resp = refusal or normal()
            if headers and not refusal:
                resp = Response(resp.status, resp.body, resp.content_type, resp.headers + headers)
        elif fault["kind"] == "slow":
            applied = normal() if fault["apply"] else None
            self._sleep(fault["delay"])
            resp = applied or normal()
        else:
            applied = normal() if fault["apply"] else None
            if fault["kind"] == "reset":
                handler.reset()
                return
            if fault["kind"] in ("truncated", "reset_mid"):
                resp = applied or self._state_response(path) or normal()
                self._finish(entry, resp)
                handler.send_truncated(resp, reset=fault["kind"] == "reset_mid")
                return
            resp = self._fault_response(fault, handler.path, options)
        self._finish(entry, resp)
        handler.send(resp)

    def _finish(self, entry, resp):
        with self.lock:
            entry["status"] = resp.status

    def _take_fault(self, method, path):
        for fault in self._faults:
            if fault["method"] not in (None, method):
                continue
            if fault["path_contains"] and fault["path_contains"] not in path:
                continue
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                self._faults.remove(fault)
            return dict(fault)
        return None

    def _rate_limit(self, token, options):
        """Decide and count one request under both rate limits: (429 answer or None, headers to add)."""
        with self._rate_lock:
            cycled = self._cycle(options)
            decision = None if cycled or self._limiter is None else self._limiter.check(token)
            refused = cycled or (decision is not None and not decision.allowed)
            counts = self._rate_counts.setdefault(token, [0, 0])
            counts[1 if refused else 0] += 1
        if cycled:
            headers = _retry_after_header(options["retry_after"], options["retry_after_seconds"])
        else:
            headers = _rate_headers(decision, options)
        if not refused:
            return None, headers
        return error_response(options["error_shape"], 429, "Rate limit exceeded", "Too many requests", headers), ()

    def _cycle(self, options):
        """The old fault counter: serve `rate_limit_after` requests, refuse `rate_limit_count`, repeat."""
        if options["rate_limit_after"] is None:
            return False
        if self._rate[0] < options["rate_limit_after"]:
            self._rate[0] += 1
            return False
        self._rate[1] += 1
        if self._rate[1] >= options["rate_limit_count"]:
            self._rate = [0, 0]
        return True

    def _fault_response(self, fault, target, options):
        kind = fault["kind"]
        if kind == "html":
            return Response(200, PROXY_PAGE, "text/html; charset=utf-8")
        if kind == "empty":
            return Response(200, b"")
        if kind == "redirect":
            status = fault["status"] if 300 <= fault["status"] < 400 else 302
            location = (fault["location"] or self.url).rstrip("/") + target
            return Response(status, b"", None, (("Location", location),))
        headers = _retry_after_header(fault["retry_after"], options["retry_after_seconds"])
        if fault["body"] is not None:
            return _body_to_response(fault["status"], fault["body"], headers)
        message = "Rate limit exceeded" if fault["status"] == 429 else "Simulated server fault"
        return error_response(options["error_shape"], fault["status"], message, "injected fault", headers)

    def _state_response(self, path):
        """A case's metadata as a 200 answer (what a cut-off answer shows), or None off the case routes."""
        match = _ROUTE.match(path)
        if match is None:
            return None
        case_id = int(match.group(1))
        return _json_response(200, {"case_id": case_id, "metadata": self.get_case(case_id) or {}})

    def _answer(self, method, path, query, headers, body, ok, options):
        def error(status, message, details=""):
            return error_response(options["error_shape"], status, message, details)

        listing = method == "GET" and path == LIST_PATH
        match = _ROUTE.match(path)
        if not listing and (not match or (method != "GET" and (match.group(2) is None or match.group(3) is not None))):
            return error(404, "Not found", f"No route matches {method} {path}")
        if method not in ("GET", *_WRITES):
            return error(404, "Not found", f"No route matches {method} {path}")
        token = _token(headers)
        if not token or token not in (self.api_key, self.read_only_key):
            return error(401, "Unauthorized", "Missing or invalid API key")
        if listing:
            return self._list(query, headers.get("host"), options, error)
        case_id = int(match.group(1))
        with self.lock:
            exists = case_id in self._records
        if not exists:
            return error(404, "Case not found", f"No case {case_id}")
        if case_id in options["hidden_cases"]:
            if options["hidden_status"] == 403:
                return error(403, "Forbidden", "This case belongs to another team")
            return error(404, "Case not found", f"No case {case_id}")
        if method in _WRITES and token != self.api_key:
            return error(options["read_only_status"], "Forbidden", "This API key cannot edit cases")
        if method == "GET":
            return self._read(case_id, match.group(2), match.group(3), error)

        want = list if method == "DELETE" else dict
        sent = body.get("metadata") if ok and isinstance(body, dict) else None
        if not isinstance(sent, want) or (want is list and not all(isinstance(k, str) for k in sent)):
            shape = '{"metadata": ["key", ...]}' if want is list else '{"metadata": {"key": "value"}}'
            return error(400, "Invalid request body", f"Expected JSON {shape}")
        return self._write(method, case_id, sent, options, error)

    def _read(self, case_id, metadata, key, error):
        md = self.get_case(case_id)
        if md is None:
            return error(404, "Case not found", f"No case {case_id}")
        if metadata is None:
            return _json_response(200, self.get_case_record(case_id))
        if key is None:
            return _json_response(200, {"case_id": case_id, "metadata": md})
        key = unquote(key)
        if key not in md:
            return error(404, "Metadata key not found", key)
        return _json_response(200, {"case_id": case_id, "metadata": {key: md[key]}})

    def _write(self, method, case_id, sent, options, error):
        if options["interleave"] > 0:
            self.get_case(case_id)
            self._sleep(random.uniform(0, options["interleave"]))
        with self.lock:
            record = self._records.get(case_id)
            if record is None:
                return error(404, "Case not found", f"No case {case_id}")
            new, failure = apply_write(method, record["metadata"], sent, options)
            if failure:
                return error(*failure)
            if new != record["metadata"]:
                record["updated_at"] = self._edit_time()
            record["metadata"] = new
        if method == "DELETE":
            return Response(204, b"", None)
        if options["response_metadata"] == "sent":
            new = {key: new[key] for key in sent if key in new}
        status = options["post_status"] if method == "POST" else 200
        return _json_response(status, {"case_id": case_id, "metadata": new})

    def _edit_time(self):
        """Now, but later than any earlier edit, so that RECENTLY_EDITED never sees a tie. Under self.lock."""
        self._last_edit = max(round(time.time(), 3), self._last_edit + 0.001)
        return iso_time(self._last_edit)

    def _list(self, query, host, options, error):
        """GET /api/v2/cases: the visible cases that pass team_id and filters, ordered, one page."""
        params = parse_query(query)
        try:
            page = _positive(params.get("page", "1"), "page")
            per_page = min(_positive(params.get("per_page", "20"), "per_page"), options["max_per_page"])
            team_id = None if params.get("team_id") is None else _positive(params["team_id"], "team_id")
        except ValueError as exc:
            return error(400, "Invalid request", str(exc))
        order = params.get("order") or None
        if order is not None and order not in ORDERS:
            return error(400, "Invalid request", f"order must be one of {', '.join(ORDERS)}")
        filters = params.get("filters")
        if options["ignore_filters"] or not isinstance(filters, dict):
            filters = {}
        with self.lock:
            records = [
                case_json(record)
                for record in self._records.values()
                if record["case_id"] not in options["hidden_cases"]
                and (team_id is None or record["team"]["id"] == team_id)
                and case_matches(record, filters)
            ]
        sort_cases(records, order)
        count = len(records)
        pages = -(-count // per_page)
        listed = 1 if options["paging"] == "repeat" else page
        shown = records[(listed - 1) * per_page : listed * per_page]
        more = page < pages or options["paging"] != "normal"
        if not options["list_metadata"]:
            for record in shown:
                del record["metadata"]

        base = f"{'https' if self.tls else 'http'}://{host or self.url.split('://', 1)[1]}{LIST_PATH}?"
        kept = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name not in _PAGING]

        def link(number):
            return base + urlencode([*kept, ("page", number), ("per_page", per_page)], safe="[]")

        meta = {
            "current_page": link(page),
            "previous_page": link(page - 1) if page > 1 else None,
            "next_page": link(page + 1) if more else None,
            "next_page_number": page + 1 if more else None,
            "per_page": per_page,
            "pages": pages,
            "count": count,
        }
        return _json_response(200, {"cases": shown, "meta": meta})

    def _sleep(self, seconds):
        if seconds > 0:
            self._stopping.wait(seconds)

    # --- control endpoints ---------------------------------------------

    def _control(self, method, path, raw):
        body, ok = _parse_body(raw)
        if raw and not ok:
            return _json_response(400, {"error": "body must be JSON"})
        try:
            return self._control_action(method, path, body)
        except (TypeError, ValueError, AttributeError) as exc:
            return _json_response(400, {"error": str(exc)})

    def _control_action(self, method, path, body):
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_sim/log"):
            return _json_response(200, self.log)
        if route == ("DELETE", "/_sim/log"):
            self.clear_log()
            return Response(204, b"", None)
        if route == ("GET", "/_sim/cases"):
            return _json_response(200, {str(k): v for k, v in self.cases.items()})
        if route == ("GET", "/_sim/records"):
            with self.lock:
                return _json_response(200, {str(k): case_json(v) for k, v in self._records.items()})
        if route == ("PUT", "/_sim/cases"):
            records = _records(body)
            with self.lock:
                self._records = records
            return _json_response(200, {str(k): v for k, v in self.cases.items()})
        if route == ("GET", "/_sim/stats"):
            return _json_response(200, {"rate": self.rate_stats()})
        if route == ("DELETE", "/_sim/stats"):
            self.clear_rate_stats()
            return Response(204, b"", None)
        if route == ("POST", "/_sim/options"):
            self.set_options(**(body or {}))
            return _json_response(200, _jsonable_options(self.options))
        if route == ("GET", "/_sim/options"):
            return _json_response(200, _jsonable_options(self.options))
        if route == ("POST", "/_sim/faults"):
            self.add_fault(**(body or {}))
            with self.lock:
                return _json_response(200, {"queued": len(self._faults)})
        if route == ("POST", "/_sim/reset"):
            self.reset(cases=(body or {}).get("cases"))
            return _json_response(200, {"reset": True})
        return _json_response(404, {"error": f"no control endpoint {method} {path}"})


def _records(cases):
    """Case records keyed by int id from a seed mapping {id: metadata map or record}."""
    if not isinstance(cases, dict):
        raise ValueError(f"cases must be an object keyed by case id, not {cases!r}")
    wrong = [case_id for case_id in cases if not str(case_id).strip().isdigit()]
    if wrong:
        raise ValueError(f"case ids must be whole numbers, not {wrong[0]!r}")
    return {int(case_id): case_record(case_id, value) for case_id, value in cases.items()}


def _limiter(options, clock):
    if options["rate_limit"] is None:
        return None
    limit, window, kind, count_refused = (options[name] for name in LIMITER_OPTIONS)
    return RateLimiter(limit, window, kind, count_refused, clock)


def _rate_headers(decision, options):
    """Retry-After on a refusal and X-RateLimit-* on any answer, as the options ask; () without a decision."""
    if decision is None:
        return ()
    wait = decision.free_at - decision.now
    headers = []
    if not decision.allowed and options["rate_limit_retry_after"] is not None:
        seconds = max(1, math.ceil(wait))
        form = "date" if options["rate_limit_retry_after"] == "date" else str(seconds)
        headers.extend(_retry_after_header(form, seconds, decision.now))
    if options["rate_limit_headers"] is not None:
        reset = decision.free_at if options["rate_limit_headers"] == "epoch" else max(0.0, wait)
        headers.append(("X-RateLimit-Limit", str(options["rate_limit"])))
        headers.append(("X-RateLimit-Remaining", str(decision.remaining)))
        headers.append(("X-RateLimit-Reset", str(math.ceil(reset))))
    return tuple(headers)


def _positive(value, name):
    """A query parameter as an integer of at least 1, or ValueError saying which one is wrong."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return number


def _jsonable_options(options):
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in options.items()}


def _token(headers):
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return headers.get("x-user-token", "").strip()


def _option_arg(text):
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def launch(args=(), log=None, timeout=30.0):
    """Run this simulator with command-line `args` in a process of its own; return (process, url) once it listens.

    Its output goes to the file `log` (default: a temporary one). Raises RuntimeError with that output
    when it exits first, or is not listening after `timeout` seconds.
    """
    with tempfile.TemporaryDirectory() as tmp:
        log = log or os.path.join(tmp, "simulator.log")
        with open(log, "w", encoding="utf-8") as out:
            command = [sys.executable, os.path.abspath(__file__), *args]
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while True:
            with open(log, encoding="utf-8", errors="replace") as handle:
                output = handle.read()
            listening = re.search(r"listening on (\S+)", output)
            if listening:
                return process, listening[1]
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"the Tines simulator did not start: {output.strip() or 'no output'}")
            time.sleep(0.05)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local simulator of the Tines case-metadata API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default="test-api-key")
    parser.add_argument("--read-only-key", default=None)
    parser.add_argument("--seed", help='JSON file {"42": {"key": "value"}, "43": {"status": "CLOSED", "metadata": {}}}')
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--port-file", help="write the port actually bound here")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--background", action="store_true", help="start in a process of its own, print URL PID")
    parser.add_argument("--log", help="with --background: the file that gets the simulator's output")
    args = parser.parse_args(argv)
    if args.background:
        try:
            process, url = launch(
                [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--background"], args.log
            )
        except RuntimeError as exc:
            parser.exit(1, f"{exc}\n")
        print(url, process.pid)
        return 0
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")

    def fail(message):
        """Bad input is the user's to fix: one line on stderr and exit status 2, never a traceback."""
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    options = {}
    for text in args.option:
        try:
            name, value = _option_arg(text)
            normalize_option(name, value)
        except (ValueError, argparse.ArgumentTypeError) as exc:
            fail(f"--option {text}: {exc}")
        options[name] = value
    cases = {}
    if args.seed:
        try:
            with open(args.seed, encoding="utf-8") as handle:
                cases = json.load(handle)
            _records(cases)
        except OSError as exc:
            fail(f"--seed {args.seed}: {exc.strerror or exc}")
        except json.JSONDecodeError as exc:
            fail(f"--seed {args.seed}: not valid JSON: {exc}")
        except ValueError as exc:
            fail(f"--seed {args.seed}: {exc}")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    if tls:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(*tls)
        except OSError as exc:  # ssl.SSLError included
            fail(f"--tls-cert {args.tls_cert} --tls-key {args.tls_key}: {exc.strerror or exc}")
    sim = Simulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        read_only_key=args.read_only_key,
        cases=cases,
        tls=tls,
        **options,
    )

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    try:
        sim.start()
    except OSError as exc:
        fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(f"{sim.port}\n")
        os.replace(tmp, args.port_file)
    print(f"Tines simulator listening on {sim.url}", flush=True)
    while not stop.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
