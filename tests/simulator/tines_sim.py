"""A local stand-in for the Tines v2 case-metadata API (stdlib only).

Behaviour follows the documented v2 metadata endpoints; every point the Tines
docs leave open (POST of an existing key, response content, status codes, PUT
of a new key, DELETE of an absent key, value types, error shapes, 429 headers,
403 vs 404) has a default and a switch, so clients can be tested against each
plausible server. Faults (5xx, 429, proxy pages, truncated bodies, resets,
slow answers, redirects) can be queued per request.

Details a test may depend on:
- Rate limit: with ``rate_limit_after=N, rate_limit_count=K`` the server
  answers N requests, refuses the next K with 429, then starts over. Counters
  restart on start, ``reset()`` and any ``set_options`` touching either value.
  Requests consumed by a fault are not counted.
- ``response_metadata="sent"``: the keys the request named, with the values
  stored after the write (so a kept old value shows the old value).
- Log entries: ``query`` is a dict (last value wins), ``body`` the parsed JSON,
  else the raw text, else None; ``status`` stays None for a "reset" fault;
  ``client`` is the peer's "host:port", so the requests of one kept-alive
  connection (one client process) can be told apart from another's.
- Faults with ``apply=True`` change the case first: "status", "html" and
  "empty" then answer as told, "reset" drops the connection, "truncated" sends
  half the answer and closes, "reset_mid" sends half the answer and resets,
  and "slow" waits ``delay`` before answering (without ``apply`` a "slow"
  write is applied only after the delay, as a queued request would be).
- Order of checks: route (404), key (401), case exists / hidden (404 or
  403), read-only key on a write, body shape (400), then the write (422).

Use it in-process (``Simulator(...).start()``) or from the command line::

    python tests/simulator/tines_sim.py --port 8080 --api-key KEY --seed cases.json

Out-of-process users drive it through the unauthenticated ``/_sim/...``
control endpoints (log, cases, options, faults, reset).
"""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qsl, unquote

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
}

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
_WRITES = ("POST", "PUT", "DELETE")


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


def _retry_after_header(value, seconds):
    if value is None:
        return ()
    if value == "date":
        return (("Retry-After", email.utils.formatdate(time.time() + seconds, usegmt=True)),)
    return (("Retry-After", str(value)),)


def normalize_option(name, value):
    """Coerce an option value (possibly from JSON or the command line) or raise ValueError."""
    if name not in DEFAULT_OPTIONS:
        raise ValueError(f"unknown option {name!r}")
    if name in CHOICES:
        for choice in CHOICES[name]:
            if str(value) == str(choice):
                return choice
        raise ValueError(f"option {name} must be one of {CHOICES[name]}, not {value!r}")
    if name == "hidden_cases":
        return frozenset(int(case_id) for case_id in value or ())
    if name == "rate_limit_after":
        return None if value is None else int(value)
    if name in ("key_limit", "rate_limit_count", "retry_after_seconds"):
        return int(value)
    if name in ("latency", "interleave"):
        return float(value)
    return None if value is None else str(value)  # retry_after


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
        **options,
    ):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.read_only_key = read_only_key
        self.tls = tls
        self.lock = threading.Lock()
        self.cases = {}
        self._seed(cases or {})
        self._options = dict(DEFAULT_OPTIONS)
        self.set_options(**options)
        self._log = []
        self._faults = []
        self._rate = [0, 0]
        self._server = None
        self._thread = None
        self._stopping = threading.Event()

    # --- lifecycle -----------------------------------------------------

    def start(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._stopping.clear()
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
        """Change switches at runtime; touching the rate limit restarts its counters."""
        new = {name: normalize_option(name, value) for name, value in options.items()}
        with self.lock:
            self._options = {**self._options, **new}
            if {"rate_limit_after", "rate_limit_count"} & new.keys():
                self._rate = [0, 0]

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
        """Forget log, faults, rate-limit counters and option changes; reseed when given cases."""
        with self.lock:
            self._log.clear()
            self._faults.clear()
            self._rate = [0, 0]
            self._options = dict(DEFAULT_OPTIONS)
            if cases is not None:
                self.cases.clear()
                self._seed(cases)

    def _seed(self, cases):
        self.cases.update({int(case_id): dict(md or {}) for case_id, md in cases.items()})

    def get_case(self, case_id):
        with self.lock:
            md = self.cases.get(int(case_id))
            return None if md is None else dict(md)

    def set_case(self, case_id, metadata):
        with self.lock:
            self.cases[int(case_id)] = dict(metadata)

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
            return self._answer(handler.command, path, entry["headers"], body, ok, options)

        if fault is None:
            resp = self._rate_limited(options) or normal()
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
                resp = applied or self._state_response(path)
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

    def _rate_limited(self, options):
        """Serve `rate_limit_after` requests, refuse the next `rate_limit_count` with 429, repeat."""
        if options["rate_limit_after"] is None:
            return None
        with self.lock:
            if self._rate[0] < options["rate_limit_after"]:
                self._rate[0] += 1
                return None
            self._rate[1] += 1
            if self._rate[1] >= options["rate_limit_count"]:
                self._rate = [0, 0]
        headers = _retry_after_header(options["retry_after"], options["retry_after_seconds"])
        return error_response(options["error_shape"], 429, "Rate limit exceeded", "Too many requests", headers)

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
        match = _ROUTE.match(path)
        case_id = int(match.group(1)) if match else None
        return _json_response(200, {"case_id": case_id, "metadata": self.get_case(case_id) or {}})

    def _answer(self, method, path, headers, body, ok, options):
        def error(status, message, details=""):
            return error_response(options["error_shape"], status, message, details)

        match = _ROUTE.match(path)
        if not match or (method != "GET" and (match.group(2) is None or match.group(3) is not None)):
            return error(404, "Not found", f"No route matches {method} {path}")
        if method not in ("GET", *_WRITES):
            return error(404, "Not found", f"No route matches {method} {path}")
        token = _token(headers)
        if not token or token not in (self.api_key, self.read_only_key):
            return error(401, "Unauthorized", "Missing or invalid API key")
        case_id = int(match.group(1))
        with self.lock:
            exists = case_id in self.cases
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
            case = {"case_id": case_id, "name": f"Simulated case {case_id}", "status": "OPEN", "metadata": md}
            return _json_response(200, case)
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
            current = self.cases.get(case_id)
            if current is None:
                return error(404, "Case not found", f"No case {case_id}")
            new, failure = apply_write(method, current, sent, options)
            if failure:
                return error(*failure)
            self.cases[case_id] = new
        if method == "DELETE":
            return Response(204, b"", None)
        if options["response_metadata"] == "sent":
            new = {key: new[key] for key in sent if key in new}
        status = options["post_status"] if method == "POST" else 200
        return _json_response(status, {"case_id": case_id, "metadata": new})

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
            with self.lock:
                return _json_response(200, {str(k): v for k, v in self.cases.items()})
        if route == ("PUT", "/_sim/cases"):
            cases = {int(k): dict(v or {}) for k, v in body.items()}
            with self.lock:
                self.cases = cases
            return _json_response(200, {str(k): v for k, v in cases.items()})
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


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local simulator of the Tines case-metadata API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default="test-api-key")
    parser.add_argument("--read-only-key", default=None)
    parser.add_argument("--seed", help='JSON file {"42": {"key": "value"}, ...}')
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--port-file", help="write the port actually bound here")
    parser.add_argument("--option", type=_option_arg, action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")

    cases = {}
    if args.seed:
        with open(args.seed, encoding="utf-8") as handle:
            cases = json.load(handle)
    try:
        sim = Simulator(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            read_only_key=args.read_only_key,
            cases=cases,
            tls=(args.tls_cert, args.tls_key) if args.tls_cert else None,
            **dict(args.option),
        )
    except ValueError as exc:
        parser.error(str(exc))

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    sim.start()
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
