"""Play many seeded simulations, in parallel processes; report the figures and, for any
failure, its seed and its shrunk script.

    python -m tests.simulation --seeds 10000 --jobs 2            # the soak (docs/testing.md)
    python -m tests.simulation --start 4242 --seeds 1 --verbose  # replay one seed
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from syncengine.store.migrate import db_upgrade
from tests.simulation.model import InvariantViolation
from tests.simulation.script import Script, draw, shrink
from tests.simulation.world import Figures, run, stop_sandboxes


@dataclass
class Failure:
    seed: int
    error: str
    script: str  # the shrunk script
    steps_before: int
    steps_after: int


@dataclass
class Tally:
    seeds: int = 0
    seconds: float = 0.0
    figures: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def add(self, figures: Figures) -> None:
        for name, value in asdict(figures).items():
            self.figures[name] = self.figures.get(name, 0) + value

    def merge(self, other: Tally) -> None:
        self.seeds += other.seeds
        for name, value in other.figures.items():
            self.figures[name] = self.figures.get(name, 0) + value
        self.failures += other.failures


@contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="syncengine-sim-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_TEMPLATE: list[Path] = []


def fresh_database(folder: Path) -> str:
    """A migrated SQLite database in ``folder``: a copy of one migrated once per process
    (migrating every run's database took a third of the soak's time)."""
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="syncengine-sim-template-")) / "engine.db"
        db_upgrade(f"sqlite:///{template}")
        _TEMPLATE.append(template)
    shutil.copyfile(_TEMPLATE[0], folder / "engine.db")
    return f"sqlite:///{folder}/engine.db"


def play(script: Script) -> Figures:
    """One run on a fresh SQLite database and platform; ``InvariantViolation`` if broken."""
    with scratch() as folder:
        return run(script, fresh_database(folder), folder)[1]


def fails(script: Script) -> bool:
    try:
        play(script)
    except Exception:
        return True
    return False


def play_seeds(seeds: list[int], max_steps: int) -> Tally:
    quiet()
    tally = Tally()
    try:
        for seed in seeds:
            script = draw(seed, max_steps=max_steps)
            tally.seeds += 1
            try:
                tally.add(play(script))
            except Exception as failure:
                error = (
                    str(failure)
                    if isinstance(failure, InvariantViolation)
                    else "".join(traceback.format_exception(failure)[-6:])
                )
                # Said at once (the tally comes at the end): a long soak shows its
                # failures while it runs.
                print(f"FAILED seed {seed}: {error.strip()}", file=sys.stderr, flush=True)
                small = shrink(script, fails)
                tally.failures.append(
                    Failure(seed, error, small.describe(), len(script.steps), len(small.steps))
                )
    finally:
        stop_sandboxes()
    return tally


def quiet() -> None:
    """Only what the soak itself prints: the engine's warnings are the faults we inject."""
    from syncengine.logging_setup import configure_logging

    configure_logging("CRITICAL", "console")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds")
    parser.add_argument("--jobs", type=int, default=2, help="processes at once")
    parser.add_argument("--max-steps", type=int, default=10, help="steps per script, at most")
    parser.add_argument("--chunk", type=int, default=50, help="seeds per task")
    parser.add_argument("--verbose", action="store_true", help="print each seed's script")
    parser.add_argument("--json", action="store_true", help="the tally as JSON")
    args = parser.parse_args(argv)
    seeds = list(range(args.start, args.start + args.seeds))
    if args.verbose:
        for seed in seeds:
            print(draw(seed, max_steps=args.max_steps).describe())
    started = time.monotonic()
    tally = Tally()
    chunks = [seeds[i : i + args.chunk] for i in range(0, len(seeds), args.chunk)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(play_seeds, chunk, args.max_steps) for chunk in chunks]
        for future in as_completed(futures):
            tally.merge(future.result())
            elapsed = time.monotonic() - started
            # The running figures too: a soak stopped early (a CI run needs the machine)
            # still leaves its tally so far in its last line.
            print(
                f"{tally.seeds}/{len(seeds)} seeds, {len(tally.failures)} failing, "
                f"{elapsed:.0f}s: {json.dumps(tally.figures)}",
                file=sys.stderr,
                flush=True,
            )
    tally.seconds = round(time.monotonic() - started, 1)
    tally.failures.sort(key=lambda f: f.seed)
    if args.json:
        print(json.dumps(asdict(tally), indent=2))
    else:
        print(f"seeds {tally.seeds}, {tally.seconds}s: {json.dumps(tally.figures)}")
        for failure in tally.failures:
            print(
                f"\nFAILED seed {failure.seed} ({failure.steps_before} steps, shrunk to "
                f"{failure.steps_after}): {failure.error}\n{failure.script}"
            )
    return 1 if tally.failures else 0
