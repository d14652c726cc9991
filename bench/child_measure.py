"""One measurement in a fresh child process: wall time, CPU time and peak memory.

The peak is the child's ``VmHWM`` (the high-water mark of its resident memory), so
each measurement runs in a process of its own: what an earlier one held cannot hide a
later one's peak. ``baseline_mb`` is the child's peak just before the measured call
(the interpreter and the engine's imports), so ``peak_mb - baseline_mb`` is what the
call itself added.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measured:
    result: Any
    wall: float
    cpu: float
    peak_mb: float
    baseline_mb: float

    @property
    def added_mb(self) -> float:
        return self.peak_mb - self.baseline_mb


def _peak_mb() -> float:
    """The process's own high-water mark of resident memory, in MB.

    ``VmHWM`` belongs to the process's memory map, which exec replaces: it counts this
    process only. ``ru_maxrss`` does not do for a spawned child: Linux keeps it across
    the fork and exec that start the child, so a child of a parent holding 300 MB
    reported 300 MB before doing anything (the 100,000-contact rows of 2026-12-07).
    """
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run(call: Callable[..., Any], args: tuple[Any, ...], pipe: Any) -> None:
    try:
        # The engine's imports come before the baseline: they are no part of the call.
        import syncengine.bootstrap  # noqa: F401

        baseline = _peak_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = call(*args)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        pipe.send(("ok", Measured(result, wall, cpu, _peak_mb(), baseline)))
    except BaseException as exc:  # handed to the parent, which raises it
        pipe.send(("error", repr(exc)))
        raise


def in_child(call: Callable[..., Any], *args: Any) -> Measured:
    """``call(*args)`` in a spawned child process, measured there."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_run, args=(call, args, theirs))
    child.start()
    try:
        status, value = ours.recv()
    finally:
        child.join()
    if status != "ok":
        raise RuntimeError(f"the measured child failed: {value}")
    measured: Measured = value
    return measured
