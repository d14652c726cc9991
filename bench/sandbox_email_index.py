"""PUT time in the sandbox against its number of contacts: the email-ownership check by a
scan of every contact (before) and by the email index (after), side by side.

Each size is one in-process sandbox over real loopback HTTP holding N `seed_contact`s
(one person, one email, a primary address). Its store can answer the ownership check
either way, switched between requests, so both are timed on the same data, server and
moment: each round PUTs a contact once per way (the order alternating), the full record
as a GET showed it with `informalName` changed. Prints the median PUT time of each way per
size, and how each grows from the smallest size to the largest (the index's target:
about flat, where the scan grows with the count).

    python bench/sandbox_email_index.py                          # 1,000 and 100,000
    python bench/sandbox_email_index.py --sizes 1000 10000 --rounds 21
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from scenario import FIRST_ID, TOKEN, seed_contact

from syncengine.sandbox import SandboxServer, SandboxSettings, SandboxState
from syncengine.sandbox.email_index import emails_of
from syncengine.sandbox.store import ContactStore


class SwitchableStore(ContactStore):
    """The store, with the ownership check answerable by the scan it replaced."""

    scan = False

    def email_owner(self, email: str, *, other_than: int) -> int | None:
        if not self.scan:
            return super().email_owner(email, other_than=other_than)
        # The check as it was before the index (store.py at 9119040), kept as the baseline.
        wanted = email.lower()
        for contact in self.live():
            if contact["id"] != other_than and wanted in emails_of(contact):
                return int(contact["id"])
        return None


@dataclass(frozen=True)
class Timing:
    contacts: int
    scan_ms: float
    index_ms: float
    seed_seconds: float


@contextmanager
def sandbox_of(size: int) -> Iterator[tuple[SandboxServer, SwitchableStore, float]]:
    started = time.perf_counter()
    state = SandboxState(seed={"contacts": []})
    store = SwitchableStore()
    state.store = store
    state.initial_seed = {"contacts": [seed_contact(FIRST_ID + i) for i in range(size)]}
    state.load(state.initial_seed)
    seeded = time.perf_counter() - started
    settings = SandboxSettings(token=TOKEN, hourly_limit=10_000_000)
    with SandboxServer(settings, state=state) as server:
        yield server, store, seeded


def measure(size: int, rounds: int) -> Timing:
    times: dict[bool, list[float]] = {True: [], False: []}
    with sandbox_of(size) as (server, store, seeded):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=600) as client:
            for index in range(rounds + 1):  # round 0 warms up and is not counted
                order = (True, False) if index % 2 else (False, True)
                for scan in order:
                    contact_id = FIRST_ID + (index * 7919 + scan) % size
                    body = client.get(f"/api/Contact/{contact_id}").json()
                    body["informalName"] = f"Household {contact_id} ({index}, {scan})"
                    store.scan = scan
                    started = time.perf_counter()
                    client.put(f"/api/Contact/{contact_id}", json=body).raise_for_status()
                    if index:
                        times[scan].append(time.perf_counter() - started)
    return Timing(
        contacts=size,
        scan_ms=1000 * statistics.median(times[True]),
        index_ms=1000 * statistics.median(times[False]),
        seed_seconds=seeded,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--rounds", type=int, default=21, help="PUTs per way and size")
    args = parser.parse_args()
    timings = [measure(size, args.rounds) for size in args.sizes]
    print("| contacts | PUT, scan (ms) | PUT, index (ms) | scan / index | seeding (s) |")
    print("|---|---|---|---|---|")
    for t in timings:
        print(
            f"| {t.contacts:,} | {t.scan_ms:.2f} | {t.index_ms:.2f} "
            f"| {t.scan_ms / t.index_ms:.1f} | {t.seed_seconds:.1f} |"
        )
    small, large = timings[0], timings[-1]
    print(
        f"\nPUT time at {large.contacts:,} / at {small.contacts:,} contacts: "
        f"scan {large.scan_ms / small.scan_ms:.1f}x, index {large.index_ms / small.index_ms:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
