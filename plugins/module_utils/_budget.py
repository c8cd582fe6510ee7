# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""One request budget per tenant and API key on a host, shared by every process that uses them.

Tines counts requests per (client IP, API token) over a minute, so every task, loop
item, thread and fork on one host that uses the same key draws from one budget. The
budget is a ring of the latest send times in a small file that each process maps and
locks for a few microseconds per request. Each process paces by its own `rate_limit`
against the shared history: a request may go out once the send `rate_limit` places
before it (whoever sent it) is a window old. So no window holds more than the largest
`rate_limit` in use, a stricter process keeps its own, and the file only grows. A 429
tells every process at once: the ring learns how many requests the tenant really
allowed and when to try again.

Send times are `time.monotonic()`, which every process on a Linux host shares and which
never steps; the boot id tells a file written before a reboot. No stored time may lie
further ahead than a window plus the longest hold after a 429 (the horizon), so no
request waits longer than that, whatever the file holds. A file that breaks a rule
(damaged, truncated, a time beyond the horizon) is rebuilt under the lock; one that
cannot be used at all leaves the process pacing alone. Either way with one warning for
the task that met it, never a failure.

The decisions (`reserve`, `confirm`, `note_rate_limited`, `backoff`) are pure functions
of a `Ring` over any buffer; the file, the lock and the sleeping are at the edge.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import mmap
import os
import random
import stat
import struct
import threading
import time
import uuid

try:
    import fcntl
except ImportError:  # not POSIX: every process keeps its own budget
    fcntl = None

WINDOW = 60.0
# The most requests a minute a budget can hold: its file keeps one send time (8 bytes) per request.
MAX_RATE_LIMIT = 1000000
# The longest window a budget paces over: longer ones count as a day.
MAX_WINDOW = 86400.0
# The longest Retry-After honoured (the client caps it there): the longest hold a 429 puts on every process.
MAX_RETRY_AFTER = 60.0
# The shortest wait after a 429, even when Retry-After says 0: no process polls a full budget in a tight loop.
MIN_WAIT = 0.5
# Strikes past this many double no further (the wait stops at the window long before).
MAX_STRIKES = 65535
MAGIC = b"TCRB"
VERSION = 2
# Read first from any file: magic, version, spare, capacity; the same in every version.
PREFIX = struct.Struct("<4sHHI")
# magic, version, spare, capacity, head, learned limit (0: none), strikes, window, blocked_until, last_429,
# last use (wall clock, for pruning), boot id
HEADER = struct.Struct("<4sHHIIIIdddd16s")
SLOT = struct.Struct("<d")
# Version 1: a 40-byte header and send times of the wall clock, which a budget of another clock cannot use.
V1_HEADER_SIZE = 40
STALE_AFTER = 86400.0
SALT_FILE = "name-salt"
SALT_SIZE = 32
SUFFIX = ".budget"
# How long a process waits for a budget file's lock (held for microseconds) before it paces alone.
LOCK_TIMEOUT = 10.0
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
ALONE = "rate_limit is paced for this process only: %s, so other processes on this host using the same API key are not counted"
HEALED = "rate_limit: the budget %s %s; it was rebuilt and pacing goes on"


def pacing_margin(window):
    """Slack added to each window, so that jitter in when requests arrive never tips one over."""
    return min(1.0, max(0.05, window * 0.005))


def horizon(window):
    """How far ahead of now any stored time may lie: a window and its margin, plus the longest hold after a 429."""
    return window + pacing_margin(window) + max(MAX_RETRY_AFTER, window)


def backoff(strikes, window, jitter=1.0):
    """Wait after the `strikes`-th 429 in a row that came without Retry-After: doubling up to the window."""
    doublings = min(max(0, strikes - 1), 64)
    return min(window, max(MIN_WAIT, window / 64.0 * 2.0**doublings)) * jitter


class Damaged(Exception):
    """The budget holds what no process pacing by it could have written: a damaged file, or a clock that stepped."""


class Ring:
    """The budget's state in a buffer (a shared mapping or a bytearray): a header and `capacity` send times.

    The header is read once when a Ring is made (under the lock) and written back by
    save(); the send times are read and written in place.
    """

    def __init__(self, buffer):
        self.buffer = buffer
        self.magic, self.version, _spare, self.capacity = (
            PREFIX.unpack_from(buffer, 0) if len(buffer) >= PREFIX.size else (b"", 0, 0, 0)
        )
        self.valid = self.magic == MAGIC and self.version == VERSION and len(buffer) >= HEADER.size
        fields = HEADER.unpack_from(buffer, 0)[4:] if self.valid else (0, 0, 0, WINDOW, 0.0, 0.0, 0.0, b"")
        self.head, self.learned, self.strikes, self.window, self.blocked_until, self.last_429 = fields[:6]
        self.last_use, self.boot = fields[6:]

    @staticmethod
    def size(capacity):
        return HEADER.size + SLOT.size * capacity

    @classmethod
    def build(cls, capacity, window=WINDOW, boot=b"", times=(), state=None):
        """The bytes of a ring for `capacity` requests, keeping the newest of `times` and the 429 state of `state`."""
        kept = sorted(times)[-capacity:]
        held = (state.learned, state.strikes, state.blocked_until, state.last_429) if state else (0, 0, 0.0, 0.0)
        buffer = bytearray(cls.size(capacity))
        HEADER.pack_into(
            buffer, 0, MAGIC, VERSION, 0, capacity, len(kept) % capacity, *held[:2], window, *held[2:], 0.0, boot
        )
        struct.pack_into("<%dd" % len(kept), buffer, HEADER.size, *kept)
        return buffer

    def save(self):
        HEADER.pack_into(
            self.buffer,
            0,
            MAGIC,
            VERSION,
            0,
            self.capacity,
            self.head,
            self.learned,
            self.strikes,
            self.window,
            self.blocked_until,
            self.last_429,
            self.last_use,
            self.boot,
        )

    def __getitem__(self, index):
        return SLOT.unpack_from(self.buffer, HEADER.size + SLOT.size * (index % self.capacity))[0]

    def __setitem__(self, index, value):
        SLOT.pack_into(self.buffer, HEADER.size + SLOT.size * (index % self.capacity), value)

    def sent(self, index, now, reach):
        """The send time in slot `index`; Damaged when it is no time of this clock up to `reach` seconds ahead."""
        value = self[index]
        if not 0.0 <= value <= now + reach:  # NaN fails too
            if math.isfinite(value) and value > now:
                raise Damaged(
                    "held a send time %.6g s ahead of the clock (damage, or a clock that stepped back)" % (value - now)
                )
            raise Damaged("held an impossible send time (%r)" % value)
        return value

    def times(self):
        """Every recorded send time, oldest first."""
        slots = struct.unpack_from("<%dd" % self.capacity, self.buffer, HEADER.size)
        return list(slots[self.head :] + slots[: self.head])


def diagnose(ring, size, now, boot):
    """Whether a ring read from `size` bytes can be used: None, or what is wrong ("" for a silent fresh start).

    A new file, an older version's file and a file of another boot start afresh without a
    word; anything else that breaks a rule is damage worth a warning.
    """
    if size == 0:
        return ""
    if ring.magic != MAGIC or ring.version not in (1, VERSION):
        return "was not a rate budget file"
    needed = (V1_HEADER_SIZE if ring.version == 1 else HEADER.size) + SLOT.size * ring.capacity
    if size != needed:
        return "was %d bytes where its header needs %d" % (size, needed)
    if ring.version == 1 or ring.boot != boot:
        return ""
    if not 1 <= ring.capacity <= MAX_RATE_LIMIT or ring.head >= ring.capacity or ring.learned > ring.capacity:
        return "held an inconsistent header"
    if not 0 < ring.window <= MAX_WINDOW:
        return "held an inconsistent header"
    return None


def check_clock(ring, now, reach):
    """Refuse (Damaged) a ring whose 429 state lies ahead of the clock: its waits would have no bound."""
    if not (0.0 <= ring.blocked_until <= now + reach and 0.0 <= ring.last_429 <= now):
        raise Damaged("held a time ahead of the clock (damage, or a clock that stepped back)")


def pace_limit(ring, now, window, limit):
    """The limit a process at `limit` paces by: its own, or what the tenant allowed after a 429 until two quiet windows."""
    if ring.learned and now - ring.last_429 > 2 * window:
        ring.learned = 0
    return min(limit, ring.learned) if ring.learned else limit


def reserve(ring, now, window, limit=None):
    """Claim the next send time: when the send `limit` places back (by anyone) is a window old.

    Returns (at, ticket); the ticket names the claimed slot for confirm and
    note_rate_limited. Send times never go backwards, so the ring stays in order. When
    so many wait that `at` lies beyond the horizon, nothing is claimed (ticket None):
    ask again at the time returned, when `at` will be within it.
    """
    reach = horizon(max(ring.window, window))
    check_clock(ring, now, reach)
    limit = pace_limit(ring, now, window, min(limit or ring.capacity, ring.capacity))
    head = ring.head
    back = ring.sent(head - limit, now, reach) + window + pacing_margin(window)
    at = max(now, ring.blocked_until, ring.sent(head - 1, now, reach), back)
    if at > now + reach:
        return at - reach, None
    ring[head] = at
    ring.head = (head + 1) % ring.capacity
    return at, (head, at)


def confirm(ring, ticket, now):
    """Record that the request of `ticket` really went out at `now` (later than planned when the process was slow).

    Returns the ticket for what the slot holds now. A slot that another request took
    meanwhile (the ring went round) is left alone.
    """
    slot, planned = ticket
    if now > planned and ring[slot] == planned:
        ring[slot] = now
        return slot, now
    return ticket


def note_rate_limited(ring, ticket, now, window, limit=None, retry_after=None, jitter=1.0):
    """Take in a 429 for the request of `ticket`: hold every process back, and learn what the tenant allows.

    The refused request is forgotten (Tines did not count it as served); a request
    claimed after it was paced by the one before it, so none goes sooner. The limit
    drops to the number of requests it served in the last window, until two quiet windows
    pass, but not below a tenth of `limit`: a 429 that came after a few requests says
    another client is busy (or a gateway hiccupped), not that the tenant allows a few a
    minute. Returns the seconds until requests may go out again; without Retry-After that
    wait doubles with each 429 in a row, up to the window. The 429s of requests that were
    already on their way when the first one came count once.
    """
    check_clock(ring, now, horizon(max(ring.window, window)))
    slot, planned = ticket
    if ring[slot] == planned:
        ring[slot] = 0.0
        if slot == (ring.head - 1) % ring.capacity:
            ring.head = slot
    if planned < ring.last_429 <= now:
        # Sent before the last 429 was known (one of the requests in flight at once): the same refusal.
        return max(0.0, ring.blocked_until - now)
    limit = min(limit or ring.capacity, ring.capacity)
    strikes = 1 if not 0 <= now - ring.last_429 <= window else min(ring.strikes + 1, MAX_STRIKES)
    served = sum(1 for sent in ring.times() if now - window < sent <= now)
    ring.learned = min(pace_limit(ring, now, window, limit), max(served, -(-limit // 10)))
    wait = retry_after if retry_after is not None else backoff(strikes, window, jitter)
    ring.blocked_until = max(ring.blocked_until, now + min(wait, max(MAX_RETRY_AFTER, window)))
    ring.strikes = strikes
    ring.last_429 = now
    return ring.blocked_until - now


class Notices:
    """Warnings waiting for the next task that drains them, each text once; shared by a budget's threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._texts = []

    def add(self, text):
        with self._lock:
            if text not in self._texts:
                self._texts.append(text)

    def take(self):
        with self._lock:
            texts, self._texts = self._texts, []
        return texts


def _monotonic():
    return time.monotonic()


_BOOT_ID = []


def boot_id():
    """This boot's id (16 bytes; zeros where the system tells none): send times of another boot mean nothing."""
    if not _BOOT_ID:
        try:
            with open(BOOT_ID_FILE, encoding="ascii") as handle:
                _BOOT_ID.append(uuid.UUID(handle.read().strip()).bytes)
        except (OSError, ValueError):
            _BOOT_ID.append(bytes(16))
    return _BOOT_ID[0]


class _Store:
    """A ring behind a lock, checked on every access: what breaks a rule is rebuilt with a warning, never raised.

    Subclasses lock and unlock, give the buffer, and replace its whole content.
    """

    name = "of this process"

    def __init__(self, limit, window, boot, wall, notices, clock):
        self.limit = limit
        self.window = min(window, MAX_WINDOW)
        self.boot = (boot_id() if boot is None else boot).ljust(16, b"\0")[:16]
        self.wall = wall or time.time
        self.notices = notices or Notices()
        self.clock = clock or _monotonic

    def run(self, decide):
        """decide(ring, now) under the lock, on a ring that keeps every rule; the header is saved after it."""
        self._acquire()
        try:
            now = self.clock()
            ring = self._usable_ring(now)
            try:
                result = decide(ring, now)
            except Damaged as exc:
                ring = self._rebuild(ring, now, str(exc), keep=True)
                result = decide(ring, now)
            ring.last_use = self.wall()
            ring.save()
            return result
        finally:
            self._release()

    def _usable_ring(self, now):
        buffer = self._buffer()
        ring = Ring(buffer)
        problem = diagnose(ring, len(buffer), now, self.boot)
        if problem is not None:
            return self._rebuild(ring, now, problem, keep=False)
        if ring.capacity < self.limit or ring.window < self.window:
            return self._rebuild(ring, now, None, keep=True)
        return ring

    def _rebuild(self, ring, now, problem, keep):
        """A new ring sized for every user so far; keeps the sane send times, and the 429 state when nothing was wrong."""
        latest = now + horizon(max(ring.window, self.window))
        times = [sent for sent in ring.times() if 0.0 < sent <= latest] if keep else []
        capacity = max(self.limit, ring.capacity if keep else 0)
        window = max(self.window, ring.window if keep else 0.0)
        self._replace(Ring.build(capacity, window, self.boot, times, None if problem else ring))
        if problem:
            self.notices.add(HEALED % (self.name, problem))
        return Ring(self._buffer())


class MemoryStore(_Store):
    """A budget for this process only: where no private directory can hold a shared one."""

    def __init__(self, limit, window=WINDOW, boot=None, wall=None, notices=None, clock=None):
        super().__init__(limit, window, boot, wall, notices, clock)
        self._data = bytearray()
        self._lock = threading.Lock()

    def _acquire(self):
        self._lock.acquire()

    def _release(self):
        self._lock.release()

    def _buffer(self):
        return self._data

    def _replace(self, content):
        self._data = content

    def close(self):
        pass


def _flock(fd, timeout=LOCK_TIMEOUT, pause=time.sleep):
    """Lock `fd` for this process, or raise TimeoutError: a process stopped while holding it must not stall the rest."""
    deadline = time.perf_counter() + timeout
    delay = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.perf_counter() > deadline:
                raise TimeoutError("its lock stayed taken for %g s" % timeout) from None
            pause(delay)
            delay = min(delay * 2, 0.01)


class FileStore(_Store):
    """A budget shared by every process of this user on this host, in a mapped file under a lock.

    Every access locks the file, checks that the path still names it (a pruned or
    replaced file is opened anew, so one key never has two budgets) and that the map
    covers the whole file, then checks the ring. The file is only ever written whole
    with pwrite, so a full disk shows as an error here, never as a fault through the map.
    """

    def __init__(self, path, limit, window=WINDOW, boot=None, wall=None, notices=None, clock=None):
        super().__init__(limit, window, boot, wall, notices, clock)
        self.path = path
        self.name = "file " + path
        self.closed = False
        self.fd = self._open()
        self.map = None
        self._thread_lock = threading.Lock()
        try:
            self.run(lambda ring, now: None)
        except BaseException:
            self.close()
            raise

    def _open(self):
        return os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)

    def _acquire(self):
        """Lock this process's threads out, then the other processes; on the file the path names now."""
        self._thread_lock.acquire()
        try:
            if self.closed:
                raise OSError("the budget file was given up")
            for _attempt in range(5):
                _flock(self.fd)
                if self._is_at_path():
                    return
                self._reopen()
            raise OSError("its path keeps being replaced")
        except BaseException:
            self._thread_lock.release()
            raise

    def _is_at_path(self):
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(self.fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _reopen(self):
        self._unmap()
        fd, self.fd = self.fd, -1
        os.close(fd)  # also unlocks it
        self.fd = self._open()

    def _release(self):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _buffer(self):
        """The whole file, mapped afresh whenever its size changed (another process grew or rebuilt it)."""
        size = os.fstat(self.fd).st_size
        if self.map is None or len(self.map) != size:
            self._unmap()
            self.map = mmap.mmap(self.fd, size) if size else None
        return self.map if self.map is not None else b""

    def _replace(self, content):
        self._unmap()
        content = memoryview(bytes(content))
        try:
            done = 0
            while done < len(content):
                done += os.pwrite(self.fd, content[done:], done)
            os.ftruncate(self.fd, len(content))
        except BaseException:
            _quietly(os.ftruncate, self.fd, 0)  # an empty file starts afresh, a half-written one would be damage
            raise

    def _unmap(self):
        if self.map is not None:
            self.map.close()
            self.map = None

    def close(self):
        """Give the file up (this process paces alone from now on)."""
        with self._thread_lock:
            self.closed = True
            self._unmap()
            if self.fd >= 0:
                _quietly(os.close, self.fd)
                self.fd = -1


def _quietly(action, *args):
    try:
        action(*args)
    except OSError:
        pass


class RateBudget:
    """Paces one process's requests at `limit` per window against the ring in `store`, whatever the store does.

    Thread-safe: every loop item and thread of the process shares it. Anything the shared
    file raises makes the budget this process's alone, with a warning in `notices`,
    which the client drains into the result of the task that met it.
    """

    def __init__(self, store, window=WINDOW, limit=None):
        self.store = store
        self.window = min(window, MAX_WINDOW)
        self.limit = limit or store.limit
        self.notices = store.notices
        self.alone = None if isinstance(store, FileStore) else "no file is shared"
        self._lock = threading.Lock()

    def wait_for_slot(self):
        """Sleep until this process may send its next request; returns the request's ticket."""
        while True:
            at, ticket = self._run(lambda ring, now: reserve(ring, now, self.window, self.limit))
            delay = min(at - self.store.clock(), horizon(MAX_WINDOW))
            if delay > 0:
                time.sleep(delay)
            if ticket is not None:
                break
        return self.confirm(ticket) if delay > 0 else ticket

    def confirm(self, ticket):
        """Record that the request of `ticket` was still on its way now; returns the ticket for what its slot holds."""
        return self._run(lambda ring, now: confirm(ring, ticket, now))

    def rate_limited(self, ticket, retry_after=None):
        """Tell every process that the request of `ticket` got a 429; returns the seconds to hold back."""
        jitter = random.uniform(0.5, 1.0)
        return self._run(
            lambda ring, now: note_rate_limited(ring, ticket, now, self.window, self.limit, retry_after, jitter)
        )

    def warning(self):
        """The warning every task using this budget gets while it paces alone, else None."""
        return None if self.alone is None else ALONE % self.alone

    def _run(self, decide):
        store = self.store
        try:
            return store.run(decide)
        except Exception as exc:  # pylint: disable=broad-except
            if isinstance(store, MemoryStore):
                raise
            self._go_alone(store, exc)
            return self.store.run(decide)

    def _go_alone(self, store, exc):
        with self._lock:
            if self.store is not store:
                return
            self.alone = "the shared budget file failed (%s: %s)" % (type(exc).__name__, exc)
            self.store = MemoryStore(self.limit, self.window, store.boot, store.wall, self.notices, store.clock)
            self.notices.add(self.warning())
        store.close()


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
    digest = hmac.new(name_salt(directory), ("%s\n%s" % (tenant_url, api_key)).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:40] + SUFFIX


def name_salt(directory):
    """The random salt of the budget names on this host, the same for every process however many start at once.

    A new salt is written whole to a file of its own and then linked into place, so no
    process ever reads half of one; an incomplete salt (left by an older version that
    died writing it) is replaced under the directory's lock, so all agree on the new one.
    """
    path = os.path.join(directory, SALT_FILE)
    salt = _read_salt(path)
    if salt is None:
        _place_salt(directory, path, os.link)
        salt = _read_salt(path)
    if salt is not None and len(salt) >= SALT_SIZE:
        return salt
    lock = os.open(directory, os.O_RDONLY)
    try:
        _flock(lock)
        salt = _read_salt(path)
        if salt is None or len(salt) < SALT_SIZE:
            _place_salt(directory, path, os.replace)
            salt = _read_salt(path)
    finally:
        os.close(lock)
    if salt is None or len(salt) < SALT_SIZE:
        raise OSError("budget name salt %s is incomplete" % path)
    return salt


def _read_salt(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(4096)


def _place_salt(directory, path, place):
    """Write a new salt beside `path` and put it there with `place` (link: only if none is there yet)."""
    temporary = os.path.join(directory, ".%s.%d.%s.tmp" % (SALT_FILE, os.getpid(), os.urandom(4).hex()))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(SALT_SIZE))
        place(temporary, path)
    except FileExistsError:
        pass
    finally:
        _quietly(os.unlink, temporary)


def last_use(fd):
    """When a budget file was last used (wall clock) by its own stamp; None when it has no valid one."""
    header = os.pread(fd, HEADER.size, 0)
    ring = Ring(header)
    return ring.last_use if ring.valid and math.isfinite(ring.last_use) and ring.last_use > 0 else None


def prune_stale(directory, now=None):
    """Remove budgets nobody has used for a day (each test server or retired key leaves one behind).

    A file's age is its last-use stamp (on tmpfs, writes through a map do not update the
    mtime); the mtime only for a file without a valid stamp. A file whose lock is taken is
    in use and stays; one removed under its lock is noticed by any process that still
    has it open, which opens the path anew.
    """
    now = time.time() if now is None else now
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name.endswith(SUFFIX):
            _prune_budget(path, now)
        elif name.startswith("." + SALT_FILE) and name.endswith(".tmp"):
            _quietly(_prune_by_mtime, path, now)


def _prune_budget(path, now):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        stamp = last_use(fd)
        if stamp is None or stamp > now + STALE_AFTER:
            stamp = os.fstat(fd).st_mtime
        named, held = os.stat(path, follow_symlinks=False), os.fstat(fd)
        if now - stamp > STALE_AFTER and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _prune_by_mtime(path, now):
    if now - os.lstat(path).st_mtime > STALE_AFTER:
        os.unlink(path)


_BUDGETS = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(tenant_url, api_key, rate_limit, window=WINDOW, environ=None):
    """The RateBudget of this tenant and key at `rate_limit` for this process, and a warning or None.

    Made once per process and reused by every loop item and thread. A forked child makes
    its own: a lock taken through a descriptor it inherited would be its parent's. Every
    task using a budget that paces alone gets the warning.
    """
    identity = hashlib.sha256(("%s\n%s" % (tenant_url, api_key)).encode("utf-8")).digest()
    key = (identity, rate_limit, window, os.getpid())
    with _BUDGETS_LOCK:
        if key not in _BUDGETS:
            _BUDGETS[key] = _new_budget(tenant_url, api_key, rate_limit, window, environ)
        budget = _BUDGETS[key]
    return budget, budget.warning()


def _new_budget(tenant_url, api_key, rate_limit, window, environ):
    """A budget in the shared file; or one for this process alone when no file can be had."""
    directory = state_directory(environ) if fcntl is not None else None
    if directory is None:
        problem = "no private directory for it (tried $XDG_RUNTIME_DIR and ~/.cache)"
    else:
        try:
            path = os.path.join(directory, budget_file_name(directory, tenant_url, api_key))
            if not os.path.exists(path):
                prune_stale(directory)
            return RateBudget(FileStore(path, rate_limit, window), window)
        except Exception as exc:  # pylint: disable=broad-except
            problem = "cannot use %s (%s)" % (directory, getattr(exc, "strerror", None) or exc)
    budget = RateBudget(MemoryStore(rate_limit, window), window)
    budget.alone = problem
    return budget
