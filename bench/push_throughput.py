"""Push throughput: `sync --all` over N contacts changed on the platform against the naive
loop (bench/naive_loop.py: GET then full PUT of each, one after the other), side by side
on the same sandbox, with no added latency and with 100 ms per request; the engine with
`sync.concurrency` 1 and the default, 8 (``--concurrency``).

    python bench/push_throughput.py                 # 200 contacts, SQLite
    python bench/push_throughput.py --postgres
    python bench/push_throughput.py --concurrency 8 16   # 1, 8 and 16 side by side

The sandbox runs in a child process (bench/scenario.py), so the CPU figures are the
client's alone. Issue 9's target: at least 8 times the naive loop's pushes per second at
100 ms. Not a timed test: figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from naive_loop import naive_loop
from scenario import Scenario, build_scenario

from syncengine.bootstrap import open_app
from syncengine.config import SyncSettings
from syncengine.logging_setup import configure_logging

LATENCIES = (0.0, 0.1)


def engine_run(scenario: Scenario, concurrency: int, edition: int, latency: float) -> float:
    """Pushes per second of one `sync --all` after a platform edit of every contact."""
    sync = scenario.settings.sync.model_copy(update={"concurrency": concurrency})
    settings = scenario.settings.model_copy(update={"sync": sync})
    scenario.change_on_platform(scenario.ids, edition=edition)
    with open_app(settings, scenario.secrets) as app:
        scenario.sandbox.set_latency(latency)
        started = time.perf_counter()
        summary = app.runner().run_all(force=True)
        seconds = time.perf_counter() - started
        scenario.sandbox.set_latency(0.0)
    pushed = summary.counts().get("pushed", 0) + summary.counts().get("synced", 0)
    if pushed != len(scenario.ids) or summary.failed:
        raise RuntimeError(f"expected {len(scenario.ids)} pushes, got {summary.counts()}")
    return pushed / seconds


def naive_run(scenario: Scenario, edition: int, latency: float) -> float:
    scenario.change_on_platform(scenario.ids, edition=edition)
    scenario.sandbox.set_latency(latency)
    result = naive_loop(
        scenario.sandbox.base_url, scenario.sandbox.token, scenario.platform_records()
    )
    scenario.sandbox.set_latency(0.0)
    return result.contacts_per_second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[SyncSettings().concurrency],
        help="the engine's further runs, side by side (default: sync.concurrency's default)",
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    levels = [1, *args.concurrency]
    print(f"{args.contacts} contacts changed on the platform; concurrency {levels}")
    engines = " | ".join(f"engine c={c}" for c in levels)
    print(f"latency (ms) | naive (pushes/s) | {engines} | ratios")
    with build_scenario(args.contacts, postgres=args.postgres) as scenario:
        with open_app(scenario.settings, scenario.secrets) as app:
            app.runner().run_all(force=True)  # the first sync links them: not measured
        edition = 1
        for latency in LATENCIES:
            edition += 1
            naive = naive_run(scenario, edition, latency)
            figures = []
            for concurrency in levels:
                edition += 1
                figures.append(engine_run(scenario, concurrency, edition, latency))
            ratios = " / ".join(f"{f / naive:.2f}x" for f in figures)
            rates = " | ".join(
                f"{f:>{len(f'engine c={c}')}.1f}" for f, c in zip(figures, levels, strict=True)
            )
            print(f"{latency * 1000:>12.0f} | {naive:>16.1f} | {rates} | {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
