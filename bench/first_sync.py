"""A first `sync --all` over contacts that already agree, against its floor.

N contacts in the sandbox (a child process: see scenario.py) and the same N as documents
in a `files` platform folder, nothing mirrored or linked yet. Each measurement runs in a
fresh child process of its own (child_measure.py: wall, CPU, peak resident memory):
- the floor: a bare scan of the folder (read and parse every document) plus the bulk
  reads alone (every `Query/FullContact` page, each dropped once read);
- the first `sync --all` (real loopback HTTP, a real SQLite or PostgreSQL database).
Issue 9's target: the first sync within 3 times the floor, with memory flat in N.

    python bench/first_sync.py --contacts 2000 10000 [--postgres] [--profile DIR] [--plot PNG]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path
from typing import Any

from child_measure import Measured, in_child
from no_change_run import bare_scan
from scenario import build_scenario

from syncengine.config import Settings


def floor(settings: Settings, secrets: dict[str, str], folder: Path) -> int:
    """The least a first sync must do: read the folder and every bulk page once."""
    from syncengine.bootstrap import build_crm
    from syncengine.config import read_secrets
    from syncengine.engine.bulk import pages

    bare_scan(folder)
    crm = build_crm(settings, read_secrets(secrets))
    try:
        for _ in pages(crm):
            pass
        return crm.requests_made
    finally:
        crm.close()


def first_sync(settings: Settings, secrets: dict[str, str], profile: str | None) -> int:
    from syncengine.bootstrap import open_app
    from syncengine.logging_setup import configure_logging

    configure_logging("WARNING", "console")
    profiler = cProfile.Profile() if profile else None
    with open_app(settings, secrets) as app:
        if profiler is not None:
            profiler.enable()
        summary = app.runner().run_all(force=True)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        assert not summary.failed and summary.aborted is None, summary.to_json()
        return app.crm.requests_made


def measure(contacts: int, postgres: bool, profile_dir: Path | None) -> dict[str, Any]:
    backend = "PostgreSQL" if postgres else "SQLite"
    profile = None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        profile = str(profile_dir / f"first_sync-{backend}-{contacts}.prof")
    with build_scenario(contacts, postgres=postgres) as scenario:
        least: Measured = in_child(floor, scenario.settings, scenario.secrets, scenario.folder)
        run: Measured = in_child(first_sync, scenario.settings, scenario.secrets, profile)
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    return {"backend": backend, "contacts": contacts, "floor": least, "run": run}


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (times, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for backend in sorted({row["backend"] for row in rows}):
        mine = [row for row in rows if row["backend"] == backend]
        n = [row["contacts"] for row in mine]
        times.plot(n, [row["run"].wall for row in mine], "o-", label=f"first sync, {backend}")
        memory.plot(n, [row["run"].added_mb for row in mine], "o-", label=f"first sync, {backend}")
    n = [row["contacts"] for row in rows]
    times.plot(n, [row["floor"].wall for row in rows], "k.:", label="floor: scan + bulk reads")
    memory.plot(n, [row["floor"].added_mb for row in rows], "k.:", label="floor")
    times.set(xlabel="contacts", ylabel="wall time (s)", title="First sync --all: time")
    memory.set(xlabel="contacts", ylabel="peak memory added (MB)", title="...and memory")
    for axis in (times, memory):
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[2000])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of each run here")
    parser.add_argument("--plot", type=Path, help="a PNG of time and memory against N")
    args = parser.parse_args()
    rows = [measure(n, args.postgres, args.profile) for n in args.contacts]
    print(
        "| backend | contacts | floor wall / CPU (s) | first sync wall / CPU (s) | ratio (wall) "
        "| floor peak (MB) | first sync peak (MB) | requests (floor / sync) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        least, run = row["floor"], row["run"]
        print(
            f"| {row['backend']} | {row['contacts']:,} | {least.wall:.2f} / {least.cpu:.2f} "
            f"| {run.wall:.2f} / {run.cpu:.2f} | {run.wall / least.wall:.1f} "
            f"| +{least.added_mb:.0f} | +{run.added_mb:.0f} (of {run.peak_mb:.0f}) "
            f"| {least.result} / {run.result} |"
        )
    if args.plot is not None:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
