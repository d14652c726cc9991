"""CPU per pushed contact: a `sync --all` pushing N platform edits against the naive loop.

N contacts in a sandbox (a child process, so the CPU counted is the client's alone) and a
`files` platform folder, linked by a first `sync --all`. Then, in one process:
- every contact edited on the platform (`--edit`: its informal name by default), and a
  `sync --all` pushes them (GET, three-way merge with the mirror, full PUT, verify,
  record);
- every contact edited again, and the naive loop pushes them (GET, overlay, full PUT);
- edited a third time, and the safe-update floor pushes them: GET, the engine's merge,
  the coerced full PUT, nothing recorded (``naive_loop.safe_update_floor``).
Prints wall time, requests and CPU time of each per pushed contact -- the client's alone,
and with the sandbox's answering it -- and their ratios (issue 9's target: the engine's
CPU per pushed contact within 2 times the naive loop's).

    python bench/push_cpu.py --contacts 200
    python bench/push_cpu.py --contacts 200 --profile   # and the engine run's cProfile
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from naive_loop import NaiveResult, naive_loop, safe_update_floor
from scenario import EDITS, Scenario, build_scenario

from syncengine.bootstrap import open_app
from syncengine.config import Settings
from syncengine.logging_setup import configure_logging


@dataclass(frozen=True)
class Measured:
    pushed: int
    requests: int
    seconds: float
    cpu_seconds: float  # the client's (this process)
    sandbox_cpu_seconds: float  # the simulated CRM+'s answering it

    def ms_per_push(self, *, with_sandbox: bool = False) -> float:
        cpu = self.cpu_seconds + (self.sandbox_cpu_seconds if with_sandbox else 0.0)
        return 1000 * cpu / max(self.pushed, 1)

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.pushed} | {self.requests} | {self.seconds:.2f} "
            f"| {self.pushed / self.seconds:.0f} | {self.ms_per_push():.2f} "
            f"| {self.ms_per_push(with_sandbox=True):.2f} |"
        )


def loop_measured(
    scenario: Scenario,
    loop: Callable[[str, str, Iterable[Mapping[str, Any]]], NaiveResult],
    *,
    edit: str,
    edition: int,
) -> Measured:
    """Every contact edited on the platform (``edition``), then pushed by ``loop``."""
    scenario.change_on_platform(scenario.ids, edit=edit, edition=edition)
    records = scenario.platform_records()
    sandbox_cpu = scenario.sandbox.cpu_seconds()
    result = loop(scenario.sandbox.base_url, scenario.sandbox.token, records)
    return Measured(
        result.contacts,
        result.requests,
        result.seconds,
        result.cpu_seconds,
        scenario.sandbox.cpu_seconds() - sandbox_cpu,
    )


def with_concurrency(settings: Settings, concurrency: int) -> Settings:
    """``settings`` syncing ``concurrency`` contacts at once (the profile sees one thread:
    profile with 1)."""
    sync = settings.sync.model_copy(update={"concurrency": concurrency})
    return settings.model_copy(update={"sync": sync})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--edit", choices=EDITS, default="contact", help="which platform edit")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="sync.concurrency (1: as the naive loop)"
    )
    parser.add_argument("--profile", action="store_true", help="profile the engine's run")
    parser.add_argument("--profile-out", help="also save the engine run's profile (pstats)")
    parser.add_argument("--top", type=int, default=40, help="profile lines to print")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    profiler = cProfile.Profile() if args.profile or args.profile_out else None
    with (
        build_scenario(args.contacts, postgres=args.postgres) as scenario,
        open_app(with_concurrency(scenario.settings, args.concurrency), scenario.secrets) as app,
    ):
        first = app.runner().run_all(force=True)
        assert not first.failed, first.to_json()
        scenario.change_on_platform(scenario.ids, edit=args.edit, edition=1)
        scenario.sandbox.clear_requests()
        sandbox_cpu = scenario.sandbox.cpu_seconds()
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        run = app.runner().run_all()
        if profiler is not None:
            profiler.disable()
        engine = Measured(
            pushed=run.to_json()["summary"]["pushed"],
            requests=len(scenario.sandbox.requests()),
            seconds=time.perf_counter() - wall,
            cpu_seconds=time.process_time() - cpu,
            sandbox_cpu_seconds=scenario.sandbox.cpu_seconds() - sandbox_cpu,
        )
        assert not run.failed, run.to_json()
        naive = loop_measured(scenario, naive_loop, edit=args.edit, edition=2)
        floor = loop_measured(scenario, safe_update_floor, edit=args.edit, edition=3)
    print(
        "| loop | pushed | requests | wall (s) | pushes/s | CPU per push, client (ms) "
        "| with the sandbox's (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(engine.row("engine `sync --all`"))
    print(naive.row("naive loop"))
    print(floor.row("safe-update floor (GET, merge, coerced full PUT; nothing recorded)"))
    client = engine.ms_per_push() / naive.ms_per_push()
    both = engine.ms_per_push(with_sandbox=True) / naive.ms_per_push(with_sandbox=True)
    print(
        f"\nCPU per pushed contact, engine / naive: {client:.1f} (client), "
        f"{both:.1f} (with the sandbox)"
    )
    print(
        f"the floor / naive: {floor.ms_per_push() / naive.ms_per_push():.1f} (client), "
        f"{floor.ms_per_push(with_sandbox=True) / naive.ms_per_push(with_sandbox=True):.1f}"
        " (with the sandbox)"
    )
    if profiler is not None and args.profile_out:
        profiler.dump_stats(args.profile_out)
    if profiler is not None and args.profile:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
