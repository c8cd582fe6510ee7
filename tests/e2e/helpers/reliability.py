"""Building blocks of the reliability tests: playbooks, per-case request logs and a silent listener.

Each task of a reliability playbook works on its own case and the faults are
queued for that case's path only, so the simulator's log of one case is the
whole conversation of one task, whatever the other tasks did.
"""

from __future__ import annotations

import socket
import threading

import yaml

MD = "tines.cases.tines_case_metadata"
INFO = "tines.cases.tines_case_metadata_info"
GROUP = "group/tines.cases.tines"
CREDENTIALS = {"tenant_url": "{{ tines_url }}", "api_key": "{{ tines_key }}"}
TASK_KEYWORDS = frozenset(
    (
        "async",
        "check_mode",
        "delay",
        "diff",
        "environment",
        "ignore_errors",
        "loop",
        "no_log",
        "poll",
        "register",
        "retries",
        "until",
        "vars",
        "when",
    )
)


def md_path(case_id):
    return f"/api/v2/cases/{case_id}/metadata"


def fault_path(case_id):
    """A `path_contains` that matches case `case_id` only (not 1010 for 101)."""
    return f"/cases/{case_id}/"


def task(name, module=MD, **arguments):
    """One task: task keywords go on the task, everything else to the module (`async_` is `async`)."""
    if "async_" in arguments:
        arguments["async"] = arguments.pop("async_")
    keywords = {key: value for key, value in arguments.items() if key in TASK_KEYWORDS}
    options = {key: value for key, value in arguments.items() if key not in TASK_KEYWORDS}
    return {"name": name, module: options, **keywords}


def playbook(*tasks, defaults=None, vars_files=()):
    """A one-play playbook on localhost; `defaults` (CREDENTIALS unless given) become the tines group's module_defaults."""
    play = {"name": "reliability", "hosts": "localhost", "gather_facts": False}
    defaults = CREDENTIALS if defaults is None else defaults
    if defaults:
        play["module_defaults"] = {GROUP: dict(defaults)}
    if vars_files:
        play["vars_files"] = [str(path) for path in vars_files]
    play["tasks"] = list(tasks)
    return yaml.safe_dump([play], sort_keys=False, allow_unicode=True, width=1000)


def calls(sim, case_id):
    """(method, status) of every request the simulator logged for one case's metadata, in order."""
    return [(entry["method"], entry["status"]) for entry in sim.log if entry["path"] == md_path(case_id)]


def bodies(sim, case_id, method):
    return [entry["body"] for entry in sim.log if entry["path"] == md_path(case_id) and entry["method"] == method]


def gaps(sim, case_id):
    """Seconds between consecutive requests for one case (each request's arrival time)."""
    times = [entry["time"] for entry in sim.log if entry["path"] == md_path(case_id)]
    return [later - earlier for earlier, later in zip(times, times[1:])]


def non_loopback_ipv4():
    """This host's outgoing IPv4 address (no packet is sent), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


class Listener:
    """A TCP listener that answers nothing and records every connection and every byte it is sent.

    Stands at the address a redirect points to: if a client followed the
    redirect, the request (and its Authorization header) would land here.
    """

    def __init__(self, host="127.0.0.2"):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self.host, self.port = self._socket.getsockname()[:2]
        self.connections = []
        self.received = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-listener", daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, peer = self._socket.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                data = b""
                try:
                    while chunk := conn.recv(65536):
                        data += chunk
                except OSError:
                    pass
            with self._lock:
                self.connections.append(peer)
                self.received += data

    def close(self):
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def failure(outcome, name):
    """The result of task `name`, which must have failed (ansible-core 2.19 drops `failed` from it)."""
    record = outcome.record(name)
    assert record["status"] == "failed", f"task {name!r} did not fail: {record}"
    return record["result"]
