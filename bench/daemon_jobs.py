"""What each of the daemon's jobs costs over an organisation where nothing changed.

N contacts in the sandbox (a child process: see scenario.py), the same N as documents in
a `files` platform folder, linked by a first `sync --all` (not measured). Then each job
runs once in a fresh child process of its own (child_measure.py), which reports its wall
time, CPU time and peak resident memory:
- ``push``: the push job's scan, nothing changed on the platform;
- ``pull``: the pull job's first bulk query (no cursor yet: every contact, as a daemon
  started on an organisation a `sync --all` linked sees it), every contact already
  mirrored, so nothing is queued;
- ``reconcile``: the reconciliation's full comparison of every contact.
A bare scan of the folder (read and parse every document) is measured beside them, as
in no_change_run.py. Issue 9's memory target for a run: flat, under 300 MB.

    python bench/daemon_jobs.py --contacts 10000 100000 [--postgres]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from child_measure import in_child
from no_change_run import link, scan_in_child
from scenario import build_scenario

from syncengine.bootstrap import open_app
from syncengine.config import Settings
from syncengine.logging_setup import configure_logging

JOBS = ("push", "pull", "reconcile")


def job_in_child(settings: Settings, secrets: dict[str, str], name: str) -> dict[str, Any]:
    """One run of the daemon's job ``name``: its counts and the requests it made."""
    configure_logging("WARNING", "console")
    with open_app(settings, secrets) as app:
        (job,) = [job for job in app.daemon_parts().jobs if job.name == name]
        before = app.crm.requests_made
        counts = job.run(lambda: False)
        return {"counts": counts, "requests": app.crm.requests_made - before}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[10000])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        "| backend | contacts | job | wall (s) | CPU (s) | requests | peak (MB, +added) "
        "| bare scan (s, peak MB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for contacts in args.contacts:
        with build_scenario(contacts, postgres=args.postgres) as scenario:
            settings = scenario.settings.model_copy(
                update={
                    "daemon": scenario.settings.daemon.model_copy(
                        update={"reports": str(scenario.folder.parent / "reports")}
                    )
                }
            )
            in_child(link, settings, scenario.secrets)
            scan = in_child(scan_in_child, scenario.folder, 1)
            for name in args.jobs:
                measured = in_child(job_in_child, settings, scenario.secrets, name)
                print(
                    f"| {backend} | {contacts:,} | {name} | {measured.wall:.2f} "
                    f"| {measured.cpu:.2f} | {measured.result['requests']} "
                    f"| {measured.peak_mb:.0f} (+{measured.added_mb:.0f}) "
                    f"| {scan.result:.2f}, {scan.peak_mb:.0f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
