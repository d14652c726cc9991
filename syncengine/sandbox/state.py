"""Everything the running sandbox holds, behind ONE lock: the CRM data, the clock, and the
test conditions (faults, latency, request log, rate-limit counters).

The HTTP server runs in its own thread while tests and the hook API call in from theirs;
a single re-entrant lock around every read-modify-write keeps them from interleaving.
"""

from __future__ import annotations

import threading
from typing import Any

from syncengine.domain.ports import Clock
from syncengine.sandbox.clock import StampClock, SystemClock
from syncengine.sandbox.collection_defs import CollectionBook, load_collections
from syncengine.sandbox.faults import FaultBook
from syncengine.sandbox.import_queue import ImportQueue
from syncengine.sandbox.ratelimit import RateLimiter
from syncengine.sandbox.records import iter_items
from syncengine.sandbox.render import View
from syncengine.sandbox.requestlog import RequestLog
from syncengine.sandbox.seed import SEED_USER, default_seed, parse_seed
from syncengine.sandbox.store import ContactStore


class SandboxState:
    def __init__(self, *, clock: Clock | None = None, seed: Any = None) -> None:
        """``seed``: seed data (see ``seed.py``); the default organisation when None."""
        self.lock = threading.RLock()
        self.clock = StampClock(clock or SystemClock())
        self.store = ContactStore()
        self.faults = FaultBook()
        self.requests = RequestLog()
        self.limiter = RateLimiter()
        self.latency = 0.0  # seconds added to every API request
        # API requests being answered right now: a reset waits for them, so a slow
        # request of one test never lands in the next test's fresh state or log.
        self.in_flight = 0
        self.collections = CollectionBook()  # the org's custom collections (seed data)
        self.imports = ImportQueue()  # accepted Contact transactions not yet applied
        self.initial_seed: Any = default_seed() if seed is None else seed
        self.load(self.initial_seed)

    def load(self, seed: Any) -> None:
        """Replace all CRM data with ``seed`` (test conditions are left as they are)."""
        parsed = parse_seed(seed)
        collections = load_collections(seed, parsed.contacts)
        with self.lock:
            self.collections = collections
            self.imports.clear()  # pending transactions belong to the data being replaced
            self.store.load(
                parsed.contacts, parsed.custom_fields, stamp=self.clock.stamp, user=SEED_USER
            )
            # Seeded stamps may lie ahead of the clock: later writes must still exceed them.
            for contact in self.store.all():
                for _, item in iter_items(contact):
                    self.clock.observe(item["modifiedDateTimeUtc"])

    def view(self) -> View:
        return View(self.store.custom_fields, self.clock.today())
