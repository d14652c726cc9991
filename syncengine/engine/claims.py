"""Run claims: no contact, and no new platform record, is ever worked by two runs at once.

Every process that writes (``sync --all``, ``sync --contact``, ``push``, the daemon's
workers) takes a claim in the database before it touches a subject, and gives it back
when done:

- ``contact:<id>``: syncing, pushing, archiving, relinking a CRM+ contact;
- ``new:<platform key>``: creating (or linking) a new platform record in CRM+;
- ``email:<normalised email>``: looking a new platform record up by its email and
  creating it if not found: two new records sharing an email (different keys, so
  different ``new:`` claims) must not both miss each other's lookup and create two
  contacts, whether two threads of one run or two processes meet there.

Claims live in the shared database (``ClaimStore``), so they hold across processes and
machines: SQLite serialises the statement that takes one, PostgreSQL arbitrates it with a
row lock. A claim is valid until a moment ``ttl`` ahead; a heartbeat thread renews every
claim this process holds while it works, so a claim outlives long waits (a 429's pause)
but not its holder: a crashed or killed process stops renewing, and after ``ttl`` its
claims are free for the next run to take over.

A holder that was paused longer than ``ttl`` (a stopped process, a stalled disk) may have
lost its claim without knowing: ``check`` (the ``WriteFence`` of the safe update) refuses
to write once the last confirmed renewal has run out.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from syncengine.domain.ports import Claim, ClaimStore, Clock
from syncengine.errors import SyncEngineError

log = structlog.get_logger(__name__)

# A platform key can be as long as the platform likes; a subject must fit its column.
_MAX_KEY_IN_SUBJECT = 400


def contact_subject(contact_id: int) -> str:
    return f"contact:{contact_id}"


def new_record_subject(key: str) -> str:
    if len(key) <= _MAX_KEY_IN_SUBJECT:
        return f"new:{key}"
    return "new:sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def email_subject(email: str) -> str:
    """The claim of an email for a create: as CRM+ matches it (case-insensitive, trimmed)."""
    normalised = email.strip().casefold()
    if len(normalised) <= _MAX_KEY_IN_SUBJECT:
        return f"email:{normalised}"
    return "email:sha256:" + hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()


def process_owner() -> str:
    """Who this process is, in claims: host, pid and a random part (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class ClaimHeld(SyncEngineError):
    """Another run holds the subject: skip it (``--all``) or try again later."""

    def __init__(self, subject: str, holder: Claim | None) -> None:
        self.subject = subject
        self.holder = holder
        who = (
            f" by {holder.owner}"
            + (f" ({holder.purpose})" if holder.purpose else "")
            + f", claimed until {holder.until.isoformat(timespec='seconds')}"
            if holder is not None
            else ""
        )
        super().__init__(f"{subject} is being worked on by another run{who}; try again later")


class ClaimLost(SyncEngineError):
    """Our claim may have expired (the process was paused past its ttl): stop writing."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(
            f"{subject}: this run's claim could not be renewed in time and may belong to "
            "another run now; nothing more was written"
        )


@dataclass
class _Held:
    until: datetime | None  # None: lost to another run
    # The thread holding it: nested holds of the same subject by that thread (a sync
    # inside a push...) count up; another thread of this process waits like another run
    # would (several contacts run at once, and two of them may meet at one contact: a
    # merge's survivor, a create's link).
    thread: int = field(default_factory=threading.get_ident)
    depth: int = 1


@dataclass(frozen=True)
class ClaimSettings:
    ttl: timedelta = timedelta(seconds=120)
    # How long a one-contact command (sync --contact, push) waits for another run's claim.
    wait: timedelta = timedelta(seconds=30)
    poll: float = 0.25  # seconds between attempts while waiting


class RunClaims:
    """The claims of one process, with the heartbeat that keeps them alive."""

    def __init__(
        self,
        store: ClaimStore,
        clock: Clock,
        *,
        owner: str | None = None,
        settings: ClaimSettings | None = None,
        purpose: str | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.owner = owner or process_owner()
        self._settings = settings or ClaimSettings()
        self.purpose = purpose
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- taking and giving back ------------------------------------------------------------

    def try_take(self, subject: str) -> Claim | None:
        """Take ``subject``; None if taken (or already ours), else the claim in the way."""
        with self._lock:
            held = self._held.get(subject)
            if held is not None:
                if held.thread != threading.get_ident():
                    return self._ours_elsewhere(subject, held)
                held.depth += 1
                return None
        now = self._clock.now()
        until = now + self._settings.ttl
        blocker = self._store.acquire(
            subject, self.owner, until=until, now=now, purpose=self.purpose
        )
        if blocker is not None:
            return blocker
        with self._lock:
            held = self._held.get(subject)
            if held is not None and held.thread != threading.get_ident():
                # Another of our threads took it between our look and the store's answer
                # (the store grants our own owner again): that thread has it.
                return self._ours_elsewhere(subject, held)
            if held is not None:
                held.depth += 1
            else:
                self._held[subject] = _Held(until=until)
        self._ensure_heartbeat()
        return None

    def _ours_elsewhere(self, subject: str, held: _Held) -> Claim:
        """The claim as another thread of this process holds it (for ``ClaimHeld``)."""
        now = self._clock.now()
        return Claim(
            subject=subject,
            owner=f"{self.owner} (another thread)",
            until=held.until or now,
            acquired_at=now,
            purpose=self.purpose,
        )

    def take(self, subject: str, *, wait: timedelta | None = None) -> None:
        """Take ``subject``, waiting up to ``wait`` (default: the settings') for another
        run to give it back; ``ClaimHeld`` if it does not."""
        patience = self._settings.wait if wait is None else wait
        deadline = time.monotonic() + patience.total_seconds()
        while True:
            blocker = self.try_take(subject)
            if blocker is None:
                return
            if time.monotonic() >= deadline:
                raise ClaimHeld(subject, blocker)
            time.sleep(self._settings.poll)

    def give_back(self, subject: str) -> None:
        with self._lock:
            held = self._held.get(subject)
            if held is None:
                return
            if held.depth > 1:
                held.depth -= 1
                return
            del self._held[subject]
        self._store.release(subject, self.owner)

    @contextmanager
    def holding(self, subject: str, *, wait: timedelta | None = None) -> Iterator[None]:
        self.take(subject, wait=wait)
        try:
            yield
        finally:
            self.give_back(subject)

    @contextmanager
    def holding_if_free(self, subject: str) -> Iterator[Claim | None]:
        """Hold ``subject`` for the block if nobody else does: yields None when held, or
        the other run's claim (and then holds nothing)."""
        blocker = self.try_take(subject)
        try:
            yield blocker
        finally:
            if blocker is None:
                self.give_back(subject)

    def holds(self, subject: str) -> bool:
        with self._lock:
            return subject in self._held

    # -- the fence -------------------------------------------------------------------------

    def check(self, contact_id: int) -> None:
        """``WriteFence``: refuse to write a contact once our claim on it may have lapsed."""
        self.check_subject(contact_subject(contact_id))

    def check_subject(self, subject: str) -> None:
        with self._lock:
            held = self._held.get(subject)
            until = None if held is None else held.until
        if held is None:
            return  # not claimed here (a test, the demo): nothing to fence
        if until is None or self._clock.now() >= until:
            raise ClaimLost(subject)

    # -- the heartbeat ---------------------------------------------------------------------

    def renew(self) -> None:
        """Extend every claim we hold by ``ttl`` (the heartbeat calls this)."""
        with self._lock:
            # Only what was held BEFORE the renewal can be judged by its answer: a claim
            # taken while the statement ran is not in it, and is fresh anyway.
            before = {subject: held for subject, held in self._held.items()}
        if not before:
            return
        until = self._clock.now() + self._settings.ttl
        still = set(self._store.renew(self.owner, until=until))
        with self._lock:
            for subject, held in before.items():
                if self._held.get(subject) is not held:
                    continue  # given back (or taken anew) meanwhile
                if subject in still:
                    held.until = until
                elif held.until is not None:
                    # Taken over while we were away: say so; ``check`` stops the writes.
                    log.error("claims.lost", owner=self.owner, subject=subject)
                    held.until = None

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is not None and self._heartbeat.is_alive():
                return
            self._stop.clear()
            self._heartbeat = threading.Thread(
                target=self._beat, name=f"claims-heartbeat-{self.owner}", daemon=True
            )
            self._heartbeat.start()

    def _beat(self) -> None:
        interval = max(self._settings.ttl.total_seconds() / 4, 0.05)
        while not self._stop.wait(interval):
            with self._lock:
                if not self._held:
                    # Nothing to keep alive: the next take starts a new heartbeat.
                    self._heartbeat = None
                    return
            try:
                self.renew()
            except SyncEngineError as exc:
                # The database may be back by the next beat; until then ``check`` runs
                # out and writes stop.
                log.warning("claims.renew_failed", owner=self.owner, error=str(exc))

    def close(self) -> None:
        """Stop the heartbeat and give back everything still held."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        with self._lock:
            held = bool(self._held)
            self._held.clear()
        if held:
            self._store.release_all(self.owner)
