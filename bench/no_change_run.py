"""What a `sync --all` costs when nothing changed, against a bare scan of the platform.

N contacts in the sandbox (a child process: see scenario.py), the same N as documents in a
`files` platform folder, linked by a first `sync --all` (not measured). Then, side by side
in one process:
- a bare scan: read and parse every document of the folder (the least any run must do);
- a `sync --all` with nothing changed on either side (the engine's run, over real
  loopback HTTP and a real database).
Prints the median of a few runs of each, and their ratio (issue 9's target: within 2x).
With ``--memory`` each side runs in a fresh child process of its own (child_measure.py)
and its peak resident memory is printed too (issue 9's target: flat, under 300 MB).

    python bench/no_change_run.py --contacts 2000           # SQLite
    python bench/no_change_run.py --contacts 2000 --postgres
    python bench/no_change_run.py --contacts 10000 100000 --memory [--postgres]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from child_measure import in_child
from scenario import build_scenario

from syncengine.bootstrap import open_app
from syncengine.config import Settings
from syncengine.logging_setup import configure_logging


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


def link(settings: Settings, secrets: dict[str, str]) -> None:
    """The first sync, which links every contact (the set-up, not the subject)."""
    configure_logging("WARNING", "console")
    with open_app(settings, secrets) as app:
        first = app.runner().run_all(force=True)
        assert not first.failed, first.to_json()


def scan_in_child(folder: Path, repeat: int) -> float:
    return median_time(lambda: bare_scan(folder), repeat)


def runs_in_child(settings: Settings, secrets: dict[str, str], repeat: int) -> tuple[float, float]:
    """The median no-change run, and the requests each made."""
    configure_logging("WARNING", "console")
    with open_app(settings, secrets) as app:
        before = app.crm.requests_made
        run = median_time(lambda: app.runner().run_all(), repeat)
        return run, (app.crm.requests_made - before) / repeat


def with_memory(contacts: int, postgres: bool, repeat: int, spread: bool) -> None:
    """One row: each side in a child process of its own, with its peak memory."""
    with build_scenario(contacts, postgres=postgres, spread_stamps=spread) as scenario:
        first = in_child(link, scenario.settings, scenario.secrets)
        scan = in_child(scan_in_child, scenario.folder, repeat)
        runs = in_child(runs_in_child, scenario.settings, scenario.secrets, repeat)
    run, requests = runs.result
    backend = "PostgreSQL" if postgres else "SQLite"
    print(
        f"| {backend} | {contacts:,} | {first.wall:.1f} | {scan.result:.3f} | {run:.3f} "
        f"| {run / scan.result:.1f} | {requests:.0f} | {scan.peak_mb:.0f} | {runs.peak_mb:.0f} "
        f"(+{runs.added_mb:.0f}) |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[2000])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="peak memory, in child processes")
    parser.add_argument(
        "--spread-stamps",
        action="store_true",
        help="contacts stamped an hour apart (a refresh window holds a day's), not all on "
        "one day (every refresh reading every contact: the worst case)",
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    if args.memory:
        print(
            "| backend | contacts | first sync (s) | bare scan (s) | no-change run (s) | ratio "
            "| requests per run | scan peak (MB) | run peak (MB, +added) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for contacts in args.contacts:
            with_memory(contacts, args.postgres, args.repeat, args.spread_stamps)
        return 0
    if len(args.contacts) != 1:
        parser.error("several --contacts need --memory")
    contacts = args.contacts[0]
    with (
        build_scenario(
            contacts, postgres=args.postgres, spread_stamps=args.spread_stamps
        ) as scenario,
        open_app(scenario.settings, scenario.secrets) as app,
    ):
        started = time.perf_counter()
        first = app.runner().run_all(force=True)
        first_seconds = time.perf_counter() - started
        assert not first.failed, first.to_json()
        scan = median_time(lambda: bare_scan(scenario.folder), args.repeat)
        requests_before = app.crm.requests_made
        run = median_time(lambda: app.runner().run_all(), args.repeat)
        requests = (app.crm.requests_made - requests_before) / args.repeat
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        "| backend | contacts | first sync (s) | bare scan (s) | no-change run (s) | ratio "
        "| requests per run |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {backend} | {contacts:,} | {first_seconds:.1f} | {scan:.3f} | {run:.3f} "
        f"| {run / scan:.1f} | {requests:.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
