# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""One request budget per tenant and API key on a host, shared by every process that uses them.

Tines counts requests per (client IP, API token) over a minute, so every task, loop
item and fork on one host that uses the same key draws from one budget. The budget
is a ring of the last `rate_limit` send times in a small file that each process maps
and locks for a few microseconds per request: a request may go out once the one
`limit` places before it is a window old, so no window ever holds more than `limit`.
A 429 tells every process at once: the ring learns how many requests the tenant
really allowed and when to try again.

The decisions (`reserve`, `note_rate_limited`, `backoff`) are pure functions of a
`Ring` over any buffer; the file, the lock and the sleeping are at the edge.
"""

from __future__ import annotations

import hashlib
import hmac
import mmap
import os
import random
import stat
import struct
import threading
import time

try:
    import fcntl
except ImportError:  # not POSIX: every process keeps its own budget
    fcntl = None

WINDOW = 60.0
# The most requests a minute a budget can hold: its file keeps one send time (8 bytes) per request.
MAX_RATE_LIMIT = 1000000
MAGIC = b"TCRB"
VERSION = 1
# magic, version, spare, capacity, head, limit, strikes, blocked_until, last_429
HEADER = struct.Struct("<4sHHIIIIdd")
SLOT = struct.Struct("<d")
STALE_AFTER = 86400.0
# The shortest wait after a 429, even when Retry-After says 0: no process polls a full budget in a tight loop.
MIN_WAIT = 0.5
SALT_FILE = "name-salt"


def pacing_margin(window):
    """Slack added to each window, so that jitter in when requests arrive never tips one over."""
    return min(1.0, max(0.05, window * 0.005))


def backoff(strikes, window, jitter=1.0):
    """Wait after the `strikes`-th 429 in a row that came without Retry-After: doubling up to the window."""
    return min(window, max(MIN_WAIT, window / 64.0 * 2 ** max(0, strikes - 1))) * jitter


class Ring:
    """The budget's state in a buffer (a shared mapping or a bytearray): a header and `capacity` send times.

    The header is read once when a Ring is made (under the lock) and written back by
    save(); the send times are read and written in place.
    """

    def __init__(self, buffer):
        self.buffer = buffer
        fields = HEADER.unpack_from(buffer, 0) if len(buffer) >= HEADER.size else (None,) * 9
        self.valid = tuple(fields[:2]) == (MAGIC, VERSION)
        _magic, _version, _spare, self.capacity, self.head, self.limit, self.strikes = fields[:7]
        self.blocked_until, self.last_429 = fields[7:]

    @staticmethod
    def size(capacity):
        return HEADER.size + SLOT.size * capacity

    @classmethod
    def create(cls, buffer, capacity, times=()):
        """An empty ring for `capacity` requests in `buffer`, keeping the newest of `times`."""
        kept = sorted(times)[-capacity:] if capacity else []
        HEADER.pack_into(buffer, 0, MAGIC, VERSION, 0, capacity, len(kept) % capacity, capacity, 0, 0.0, 0.0)
        struct.pack_into("<%dd" % capacity, buffer, HEADER.size, *(kept + [0.0] * (capacity - len(kept))))
        return cls(buffer)

    def save(self):
        HEADER.pack_into(
            self.buffer,
            0,
            MAGIC,
            VERSION,
            0,
            self.capacity,
            self.head,
            self.limit,
            self.strikes,
            self.blocked_until,
            self.last_429,
        )

    def __getitem__(self, index):
        return SLOT.unpack_from(self.buffer, HEADER.size + SLOT.size * (index % self.capacity))[0]

    def __setitem__(self, index, value):
        SLOT.pack_into(self.buffer, HEADER.size + SLOT.size * (index % self.capacity), value)

    def times(self):
        """Every recorded send time, oldest first."""
        slots = struct.unpack_from("<%dd" % self.capacity, self.buffer, HEADER.size)
        return list(slots[self.head :] + slots[: self.head])


def reserve(ring, now, window):
    """Claim the next send time (returned with its slot): when the request `limit` places back is a window old.

    Send times never go backwards, so the ring stays in order. A limit lowered by a
    429 goes back to the full budget after two quiet windows.
    """
    if ring.limit < ring.capacity and now - ring.last_429 > 2 * window:
        ring.limit = ring.capacity
    head = ring.head
    at = max(now, ring.blocked_until, ring[head - 1], ring[head - ring.limit] + window + pacing_margin(window))
    ring[head] = at
    ring.head = (head + 1) % ring.capacity
    return at, head


def confirm(ring, slot, now):
    """Record that the request of `slot` really went out at `now` (later than planned when the process was slow)."""
    if now > ring[slot]:
        ring[slot] = now


def note_rate_limited(ring, slot, now, window, retry_after=None, jitter=1.0):
    """Take in a 429 for the request of `slot`: hold every process back, and learn what the tenant allows.

    The refused request is forgotten (Tines did not count it as served). The limit
    drops to the number of ours it served in the last window, until two quiet windows
    pass, but not below a tenth of the budget: a 429 that came after a few requests of
    ours says another client is busy (or a gateway hiccupped), not that the tenant allows
    a few a minute. Returns the seconds until requests may go out again; without
    Retry-After that wait doubles with each 429 in a row, up to the window.
    """
    ring[slot] = 0.0
    if slot == (ring.head - 1) % ring.capacity:
        ring.head = slot
    strikes = 1 if now - ring.last_429 > window else ring.strikes + 1
    served = sum(1 for sent in ring.times() if now - window < sent <= now)
    ring.limit = min(ring.limit, max(served, -(-ring.capacity // 10)))
    wait = retry_after if retry_after is not None else backoff(strikes, window, jitter)
    ring.blocked_until = max(ring.blocked_until, now + wait)
    ring.strikes = strikes
    ring.last_429 = now
    return ring.blocked_until - now


class RateBudget:
    """Paces one process's requests against a Ring kept in `store`, which provides locking."""

    def __init__(self, store, window=WINDOW):
        self.store = store
        self.window = window

    def wait_for_slot(self):
        """Sleep until this process may send its next request; returns the request's slot."""
        with self.store.ring() as ring:
            at, slot = reserve(ring, time.time(), self.window)
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
            with self.store.ring() as ring:
                confirm(ring, slot, time.time())
        return slot

    def rate_limited(self, slot, retry_after=None):
        """Tell every process that the request of `slot` got a 429; returns the seconds to hold back."""
        with self.store.ring() as ring:
            return note_rate_limited(ring, slot, time.time(), self.window, retry_after, random.uniform(0.5, 1.0))


class _Locked:
    """`with store.ring() as ring`: the ring under the store's lock, its header saved before the lock goes.

    A failure while reading the ring unlocks again: a lock left held would stall every
    later request of this process and, for the file, of every other process.
    """

    def __init__(self, lock, read, unlock):
        self.lock, self.read, self.unlock = lock, read, unlock
        self.ring = None

    def __enter__(self):
        self.lock()
        try:
            self.ring = self.read()
        except BaseException:
            self.unlock()
            raise
        return self.ring

    def __exit__(self, *exc_info):
        try:
            self.ring.save()
        finally:
            self.unlock()


class MemoryStore:
    """A budget for this process only: where no private directory can hold a shared one."""

    def __init__(self, capacity):
        self._buffer = bytearray(Ring.size(capacity))
        Ring.create(self._buffer, capacity)
        self._lock = threading.Lock()

    def ring(self):
        return _Locked(self._lock.acquire, lambda: Ring(self._buffer), self._lock.release)


class FileStore:
    """A budget shared by every process of this user on this host, in a mapped file under a lock."""

    def __init__(self, path, capacity):
        self.capacity = capacity
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        self.map = None
        self._thread_lock = threading.Lock()
        with self.ring():
            pass

    def ring(self):
        return _Locked(self._lock, self._read, self._unlock)

    def _lock(self):
        """Lock this process's threads out, then the other processes."""
        self._thread_lock.acquire()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def _read(self):
        """The ring in the file, resized (keeping the newest send times) if another rate_limit sized it."""
        size = os.fstat(self.fd).st_size
        if self.map is None or len(self.map) != size:
            self._remap(size)
        ring = Ring(self.map if self.map is not None else b"")
        if ring.valid and ring.capacity == self.capacity:
            return ring
        os.ftruncate(self.fd, Ring.size(self.capacity))
        self._remap(Ring.size(self.capacity))
        return Ring.create(self.map, self.capacity, ring.times() if ring.valid else ())

    def _unlock(self):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def _remap(self, size):
        if self.map is not None:
            self.map.close()
        self.map = mmap.mmap(self.fd, size) if size else None


def state_directory(environ=None):
    """A directory only this user can enter, for the budgets; None when there is none to be had.

    $XDG_RUNTIME_DIR (a per-user tmpfs) when set, else the user's cache directory.
    """
    environ = os.environ if environ is None else environ
    candidates = []
    if environ.get("XDG_RUNTIME_DIR"):
        candidates.append(os.path.join(environ["XDG_RUNTIME_DIR"], "tines.cases"))
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(os.path.join(cache, "tines.cases", "rate-budgets"))
    for path in candidates:
        if _private_directory(path):
            return path
    return None


def _private_directory(path):
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        if info.st_mode & 0o077:
            os.chmod(path, 0o700)
        return True
    except OSError:
        return False


def budget_file_name(directory, tenant_url, api_key):
    """The budget's file name: a keyed hash of tenant and key, so that it reveals neither."""
    salt_path = os.path.join(directory, SALT_FILE)
    try:
        fd = os.open(salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
    with open(salt_path, "rb") as handle:
        salt = handle.read()
    if len(salt) < 32:
        raise OSError("budget name salt %s is incomplete" % salt_path)
    digest = hmac.new(salt, ("%s\n%s" % (tenant_url, api_key)).encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:40] + ".budget"


def prune_stale(directory, now=None):
    """Remove budgets nobody has used for a day (each test server or retired key leaves one behind)."""
    now = time.time() if now is None else now
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not name.endswith(".budget"):
            continue
        try:
            if now - os.lstat(path).st_mtime > STALE_AFTER:
                os.unlink(path)
        except OSError:
            pass


_BUDGETS = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(tenant_url, api_key, rate_limit, window=WINDOW, environ=None):
    """The RateBudget of this tenant and key for this process, and a warning or None.

    Made once per process and reused by every loop item. A forked child makes its
    own: a lock taken through a descriptor it inherited would be its parent's.
    """
    identity = hashlib.sha256(("%s\n%s" % (tenant_url, api_key)).encode("utf-8")).digest()
    key = (identity, rate_limit, window, os.getpid())
    with _BUDGETS_LOCK:
        if key not in _BUDGETS:
            _BUDGETS[key] = _new_budget(tenant_url, api_key, rate_limit, window, environ)
        return _BUDGETS[key]


def _new_budget(tenant_url, api_key, rate_limit, window, environ):
    """A budget in the shared file; or, with a warning, one for this process alone when no file can be had."""
    directory = state_directory(environ) if fcntl is not None else None
    if directory is None:
        problem = "no private directory for it (tried $XDG_RUNTIME_DIR and ~/.cache)"
    else:
        try:
            path = os.path.join(directory, budget_file_name(directory, tenant_url, api_key))
            if not os.path.exists(path):
                prune_stale(directory)
            return RateBudget(FileStore(path, rate_limit), window), None
        except OSError as exc:
            problem = "cannot use %s (%s)" % (directory, exc.strerror or exc)
    return RateBudget(MemoryStore(rate_limit), window), (
        "rate_limit is paced for this process only: %s, so other processes on this host using the same API key "
        "are not counted" % problem
    )
