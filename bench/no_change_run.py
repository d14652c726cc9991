"""What a `sync --all` costs when nothing changed, against a bare scan of the platform.

N contacts in the sandbox, the same N as documents in a `files` platform folder, linked by
a first `sync --all` (not measured). Then, side by side in one process:
- a bare scan: read and parse every document of the folder (the least any run must do);
- a `sync --all` with nothing changed on either side (the engine's run, over real
  loopback HTTP and a real database).
Prints the median of a few runs of each, and their ratio (issue 9's target: within 2x).

    python bench/no_change_run.py --contacts 2000           # SQLite
    python bench/no_change_run.py --contacts 2000 --postgres
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scratch_databases import scratch_database

from syncengine.bootstrap import open_app
from syncengine.config import (
    CrmSettings,
    DatabaseSettings,
    GuardConfig,
    LocalSettings,
    RateLimitSettings,
    Settings,
    SyncSettings,
)
from syncengine.logging_setup import configure_logging
from syncengine.sandbox import SandboxServer, SandboxSettings

TOKEN = "bench-token-0123456789"
FIRST_ID = 100_000


def seed_contact(contact_id: int) -> dict[str, Any]:
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "informalName": f"Household {contact_id}",
        "modifiedDateTimeUtc": "2024-05-01T10:00:00.5",
        "contactIndividuals": [
            {
                "id": contact_id * 10 + 1,
                "firstName": f"First{contact_id}",
                "lastName": f"Last{contact_id}",
                "isPrimary": True,
                "contactMethods": [
                    {
                        "id": contact_id * 100 + 1,
                        "type": "Home Email",
                        "value": f"donor{contact_id}@example.org",
                        "isPrimary": True,
                    }
                ],
            }
        ],
    }


def bare_scan(folder: Path) -> int:
    count = 0
    for path in folder.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
        count += 1
    return count


def median_time(call: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    ids = range(FIRST_ID, FIRST_ID + args.contacts)
    sandbox = SandboxServer(
        SandboxSettings(token=TOKEN, hourly_limit=1_000_000),
        seed={"contacts": [seed_contact(i) for i in ids]},
    ).start()
    with tempfile.TemporaryDirectory() as scratch, scratch_database(args.postgres) as url:
        folder = Path(scratch) / "platform"
        folder.mkdir()
        for contact_id in ids:
            document = {
                "id": contact_id,
                "contactType": "Household",
                "name": f"The {contact_id} Household",
            }
            (folder / f"{contact_id}.json").write_text(json.dumps(document))
        settings = Settings(
            crm=CrmSettings(base_url=sandbox.base_url, rate_limit=RateLimitSettings(reserve=0)),
            database=DatabaseSettings(url=url),
            local=LocalSettings(adapter="files", path=str(folder)),
            sync=SyncSettings(guard=GuardConfig(min_contacts=10**9)),
        )
        with open_app(settings, {"CRMPLUS_API_TOKEN": TOKEN}) as app:
            started = time.perf_counter()
            first = app.runner().run_all(force=True)
            first_seconds = time.perf_counter() - started
            assert not first.failed, first.to_json()
            scan = median_time(lambda: bare_scan(folder), args.repeat)
            requests_before = app.crm.requests_made
            run = median_time(lambda: app.runner().run_all(), args.repeat)
            requests = (app.crm.requests_made - requests_before) / args.repeat
    sandbox.stop()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        "| backend | contacts | first sync (s) | bare scan (s) | no-change run (s) | ratio "
        "| requests per run |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {backend} | {args.contacts:,} | {first_seconds:.1f} | {scan:.3f} | {run:.3f} "
        f"| {run / scan:.1f} | {requests:.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
