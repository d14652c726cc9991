"""What a `sync --all` costs when nothing changed, against a bare scan of the platform.

N contacts in the sandbox (a child process: see scenario.py), the same N as documents in a
`files` platform folder, linked by a first `sync --all` (not measured). Then, side by side
in one process:
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
import time
from collections.abc import Callable
from pathlib import Path

from scenario import build_scenario

from syncengine.bootstrap import open_app
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with (
        build_scenario(args.contacts, postgres=args.postgres) as scenario,
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
        f"| {backend} | {args.contacts:,} | {first_seconds:.1f} | {scan:.3f} | {run:.3f} "
        f"| {run / scan:.1f} | {requests:.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
