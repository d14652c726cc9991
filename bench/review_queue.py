"""How the review queue scales with the number of open conflicts.

Builds a database with N open conflicts (spread over fields, contacts, rules and ages),
then times the queue's pages through the real application (in-process, no network): the
first page, a field filter, a deep page, a sort by age. Reports the median of several
runs for N=100 and N=10,000 side by side and their ratio: a queue paged in the database
costs about the same whatever N is; one that loaded every conflict would cost ~100x.

    python bench/review_queue.py                 # SQLite
    python bench/review_queue.py --postgres      # and PostgreSQL at 127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from scratch_databases import scratch_database

from syncengine.domain.ports import ConflictRecord
from syncengine.review.app import build_review_app
from syncengine.review.services import ContactSides, ReviewOptions, ReviewServices
from syncengine.store import MemoryProblemLog, SqlConflictStore, make_engine, prepare_database

PAGES = {
    "first page": "/",
    "field filter": "/?field=contactIndividuals%5B%5D.firstName",
    "deep page": "/?page=40",
    "sort by age": "/?sort=created_at&order=desc",
}
FIELDS = ["informalName", "description", "website", "contactIndividuals[id={n}].firstName"]
RULES = ["manual", "newest", "duplicate-value"]


def fill(store: SqlConflictStore, count: int) -> None:
    for n in range(count):
        store.record(
            ConflictRecord(
                contact_id=1000 + n // 3,
                path=FIELDS[n % len(FIELDS)].format(n=n),
                base="base",
                platform=f"platform {n}",
                crm=f"crm {n}",
                platform_modified=None,
                crm_modified=None,
                platform_author=None,
                crm_author="bench",
                suggestion=f"platform {n}" if n % 2 else f"crm {n}",
                rule=RULES[n % len(RULES)],
            )
        )


def timed(call: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(url: str, count: int, repeat: int) -> dict[str, float]:
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

    engine = make_engine(url)
    prepare_database(engine)
    clock_start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = iter(range(10**9))
    store = SqlConflictStore(engine, clock=lambda: clock_start + timedelta(minutes=next(ticks)))
    fill(store, count)
    services = ReviewServices(
        organization="bench",
        conflicts=store,
        problems=MemoryProblemLog(),
        contact_sides=lambda contact_id: ContactSides(contact_id, None, None, None),
        history=lambda contact_id: [],
        sync_now=lambda contact_id: "",
        decided=lambda contact_id: None,
    )
    client = TestClient(build_review_app(services, ReviewOptions(host="127.0.0.1")))
    client.get("/")  # warm up: imports, the first connection
    results = {}
    for name, path in PAGES.items():
        results[name] = timed(lambda path=path: client.get(path).raise_for_status(), repeat)
    engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    backends = [("SQLite", False)] + ([("PostgreSQL", True)] if args.postgres else [])
    print(f"| backend | page | {args.small:,} open (ms) | {args.large:,} open (ms) | ratio |")
    print("|---|---|---|---|---|")
    for label, postgres in backends:
        with scratch_database(postgres) as small_url, scratch_database(postgres) as large_url:
            small = measure(small_url, args.small, args.repeat)
            large = measure(large_url, args.large, args.repeat)
        for page in PAGES:
            ratio = large[page] / small[page]
            print(
                f"| {label} | {page} | {small[page] * 1000:.1f} | {large[page] * 1000:.1f} "
                f"| {ratio:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
