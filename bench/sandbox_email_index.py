"""PUT time in the sandbox against its number of contacts: lookups by a scan of every
contact (before) and by the store's indexes (after), side by side.

Before, each PUT scanned every contact: the Contact PUT (and every other write) to check
that no other live contact owns an email it writes (409), and the sub-resource PUTs
(ContactIndividual, ContactAddress) also to find the contact holding the item. The store
now answers both from indexes (`syncengine/sandbox/email_index.py`, `reverse_index.py`).

Each size is one in-process sandbox over real loopback HTTP holding N `seed_contact`s
(one person, one email, a primary address). Its store answers either way, switched
between requests, so both are timed on the same data, server and moment: each round PUTs,
on each route, a contact once per way (the order alternating), the record as a GET showed
it with one field changed. Prints the median PUT time of each way per route and size, and
how each grows from the smallest size to the largest (the target: about flat).

    python bench/sandbox_email_index.py                          # 1,000 and 100,000
    python bench/sandbox_email_index.py --sizes 1000 10000 --rounds 9
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from scenario import FIRST_ID, TOKEN, seed_contact

from syncengine.domain.ports import Record
from syncengine.sandbox import SandboxServer, SandboxSettings, SandboxState
from syncengine.sandbox.api_errors import NotFoundError
from syncengine.sandbox.email_index import emails_of
from syncengine.sandbox.records import iter_items
from syncengine.sandbox.store import ContactStore

ROUTES = ("Contact", "ContactIndividual", "ContactAddress")


class SwitchableStore(ContactStore):
    """The store, with its lookups answerable by the scans they replaced."""

    scan = False

    # Both scans as they were before the indexes (store.py at 9119040), kept as the baseline.

    def email_owner(self, email: str, *, other_than: int) -> int | None:
        if not self.scan:
            return super().email_owner(email, other_than=other_than)
        wanted = email.lower()
        for contact in self.live():
            if contact["id"] != other_than and wanted in emails_of(contact):
                return int(contact["id"])
        return None

    def locate(self, shape: str, item_id: int) -> tuple[Record, Record]:
        if not self.scan:
            return super().locate(shape, item_id)
        for contact in self.all():
            for item_shape, item in iter_items(contact):
                if item_shape == shape and item["id"] == item_id:
                    return contact, item
        raise NotFoundError()


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


def edit(client: httpx.Client, route: str, contact_id: int, tag: str) -> tuple[str, Any]:
    """The PUT of ``route`` for the contact: its path and body, one field changed."""
    whole = client.get(f"/api/Contact/{contact_id}").json()
    if route == "ContactIndividual":
        person = whole["contactIndividuals"][0]
        return f"/api/ContactIndividual/{person['id']}", person | {"middleName": tag}
    if route == "ContactAddress":
        address = whole["address"]
        return f"/api/ContactAddress/{address['id']}", address | {"address2": tag}
    return f"/api/Contact/{contact_id}", whole | {"informalName": tag}


def measure(size: int, rounds: int) -> tuple[dict[tuple[str, bool], float], float]:
    """Median PUT seconds by (route, scan), and the seeding time."""
    times: dict[tuple[str, bool], list[float]] = {(r, s): [] for r in ROUTES for s in (True, False)}
    with sandbox_of(size) as (server, store, seeded):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=600) as client:
            for index in range(rounds + 1):  # round 0 warms up and is not counted
                for route in ROUTES:
                    for scan in (True, False) if index % 2 else (False, True):
                        contact_id = FIRST_ID + (index * 7919 + 31 * scan) % size
                        path, body = edit(client, route, contact_id, f"{index}-{scan}")
                        store.scan = scan
                        started = time.perf_counter()
                        client.put(path, json=body).raise_for_status()
                        if index:
                            times[route, scan].append(time.perf_counter() - started)
    return {key: statistics.median(values) for key, values in times.items()}, seeded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--rounds", type=int, default=21, help="PUTs per route, way and size")
    args = parser.parse_args()
    results = {size: measure(size, args.rounds) for size in args.sizes}
    print("| contacts | PUT | scan (ms) | index (ms) | scan / index |")
    print("|---|---|---|---|---|")
    for size, (medians, _) in results.items():
        for route in ROUTES:
            scan, index = medians[route, True], medians[route, False]
            print(
                f"| {size:,} | {route} | {1000 * scan:.2f} | {1000 * index:.2f} "
                f"| {scan / index:.1f} |"
            )
    for size, (_, seeded) in results.items():
        print(f"\nseeding {size:,} contacts: {seeded:.1f} s", end="")
    small, large = min(results), max(results)
    print(f"\n\nPUT time at {large:,} / at {small:,} contacts:")
    for route in ROUTES:
        growth = {
            scan: results[large][0][route, scan] / results[small][0][route, scan]
            for scan in (True, False)
        }
        print(f"- {route}: scan {growth[True]:.1f}x, index {growth[False]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
