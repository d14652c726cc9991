"""A simulation's script: the world's settings and the steps, drawn from one seed.

The same seed always gives the same script (``random.Random(seed)``, nothing else), so a
failure is replayed by its seed, and a script can be shrunk step by step (``shrink``)
to the fewest steps that still fail.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

# The fields the simulation edits on both sides: three top-level values and one nested
# in the primary person (an array item addressed by its id).
FIELDS = ("informalName", "description", "website", "firstName")
SEEDED = (9001, 9002, 9003)

# What runs the engine in a step; every other step changes one side by hand.
ENGINE_STEPS = frozenset(
    {
        "sync_one",
        "sync_all",
        "push",
        "daemon",
        "webhooks",
        "workers",
        "concurrent",
        "mid_run_edit",
    }
)
# Steps with two engine processes at once: no crash is injected into them (a crash is
# one process dying; which one's n-th call comes first is the threads' race).
CONCURRENT_STEPS = frozenset({"concurrent", "workers"})

WEIGHTS: dict[str, int] = {
    "platform_edit": 24,
    "crm_edit": 18,
    "sync_one": 9,
    "sync_all": 12,
    "push": 6,
    "daemon": 5,
    "webhooks": 4,
    "workers": 2,
    "concurrent": 4,
    "mid_run_edit": 5,
    "platform_create": 4,
    "crm_create": 3,
    "crm_merge": 2,
    "crm_archive": 1,
    "platform_remove": 1,
    "quiesce": 3,
}

CREATES = frozenset({"platform_create", "crm_create"})
# Seconds the CRM's clock is ahead of the engine's (negative: behind).
SKEWS = (0.0, 0.0, 90.0, -90.0, 3600.0, -3600.0)

# The faults injected into CRM+ for one engine step, with how often each is drawn.
FAULTS: dict[str, int] = {
    "503": 3,  # one 5xx, retried
    "503x5": 2,  # 5xx beyond the retries: the contact fails, the next round does it
    "429": 3,  # a 429 with Retry-After: 0
    "429wait": 1,  # a 429 with Retry-After: 1 (honoured: the client sleeps a second)
    "drop_put": 3,  # a PUT applied, its answer lost
    "drop_post": 2,  # a create applied, its answer lost
    "timeout_get": 1,  # a GET answered after the client's read timeout
}


@dataclass(frozen=True)
class Step:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    fault: str | None = None
    # Crash the engine's process at its n-th call of a port (before or after the call).
    crash: tuple[int, str] | None = None

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.args.items()))
        extra = "".join(
            [
                f" fault={self.fault}" if self.fault else "",
                f" crash=call {self.crash[0]} {self.crash[1]}" if self.crash else "",
            ]
        )
        return f"{self.kind}({args}){extra}"


@dataclass(frozen=True)
class Script:
    seed: int
    semantics: str  # replace | patch
    platform: str  # files | sql
    skew: float  # seconds the CRM's clock is ahead of the engine's (negative: behind)
    steps: tuple[Step, ...]
    # Contacts a `sync --all` syncs at once (``sync.concurrency``): with more than one,
    # which call a crash hits is the threads' race, so the trace leaves it out.
    concurrency: int = 1

    def describe(self) -> str:
        head = (
            f"seed {self.seed}: semantics={self.semantics} platform={self.platform} "
            f"skew={self.skew:+.0f}s concurrency={self.concurrency}"
        )
        return "\n".join([head, *(f"  {n:2d}. {s.describe()}" for n, s in enumerate(self.steps))])

    def with_steps(self, steps: tuple[Step, ...]) -> Script:
        return replace(self, steps=steps)


class Chooser(Protocol):
    """Where a script's choices come from: a seeded ``random.Random`` (the soak), or
    Hypothesis's draws (the state machine, which can then shrink them)."""

    def pick(self, options: Sequence[Any]) -> Any: ...

    def weighted(self, weights: dict[str, int]) -> str: ...

    def number(self, low: int, high: int) -> int: ...

    def chance(self, p: float) -> bool: ...


class SeededChooser:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def pick(self, options: Sequence[Any]) -> Any:
        return self._rng.choice(options)

    def weighted(self, weights: dict[str, int]) -> str:
        return self._rng.choices(list(weights), list(weights.values()))[0]

    def number(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)

    def chance(self, p: float) -> bool:
        return self._rng.random() < p


def value_for(chooser: Chooser, name: str) -> str | None:
    # A deliberate clear now and then (not of a person's first name, which CRM+ requires).
    if name != "firstName" and chooser.chance(0.08):
        return None
    return f"{name[:2]}-{chooser.pick('abcdefgh')}{chooser.number(0, 9)}"


def draw_step(chooser: Chooser, creates: int) -> Step:
    """One step; ``creates``: how many records the script created before it (keys)."""
    kind = chooser.weighted(WEIGHTS)
    args: dict[str, Any] = {}
    if kind in ("platform_edit", "crm_edit", "push", "mid_run_edit"):
        name = chooser.pick(FIELDS)
        args = {"slot": chooser.number(0, 2), "field": name, "value": value_for(chooser, name)}
    elif kind in ("sync_one", "crm_archive", "platform_remove", "crm_merge"):
        args = {"slot": chooser.number(0, 2)}
    elif kind in ("webhooks", "workers"):
        args = {"slots": [chooser.number(0, 2) for _ in range(chooser.number(2, 4))]}
        if kind == "webhooks" and chooser.chance(0.5):
            args["stale"] = chooser.number(0, 2)  # a queued pull carrying an old version
    elif kind == "concurrent":
        name = chooser.pick(FIELDS)
        args = {
            "slot": chooser.number(0, 2),
            "other": chooser.pick(["sync_one", "push", "sync_all"]),
            "field": name,
            "value": value_for(chooser, name),
        }
    elif kind in ("platform_create", "crm_create"):
        args = {"key": f"k{creates + 1}", "value": value_for(chooser, "description")}
    fault = None
    if kind in ENGINE_STEPS and chooser.chance(0.3):
        fault = chooser.weighted(FAULTS)
    crash = None
    if kind in ENGINE_STEPS and kind not in CONCURRENT_STEPS and chooser.chance(0.2):
        crash = (chooser.number(1, 40), chooser.pick(["before", "after"]))
    return Step(kind, args, fault, crash)


def draw(seed: int, *, max_steps: int = 10) -> Script:
    chooser = SeededChooser(seed)
    semantics = chooser.pick(["replace", "patch"])
    platform = chooser.pick(["files", "sql"])
    skew = chooser.pick(SKEWS)
    concurrency = chooser.pick([1, 4])
    steps: list[Step] = []
    for _ in range(chooser.number(3, max_steps)):
        steps.append(draw_step(chooser, sum(1 for s in steps if s.kind in CREATES)))
    return Script(seed, semantics, platform, skew, tuple(steps), concurrency)


def shrink(script: Script, fails: Callable[[Script], bool]) -> Script:
    """The shortest script found that still fails: drop chunks of steps while the failure
    stays (delta debugging), then the faults and crashes one by one."""
    steps = list(script.steps)
    chunk = max(len(steps) // 2, 1)
    while chunk >= 1:
        start = 0
        while start < len(steps):
            candidate = steps[:start] + steps[start + chunk :]
            if candidate and fails(script.with_steps(tuple(candidate))):
                steps = candidate
            else:
                start += chunk
        chunk //= 2
    for index, step in enumerate(steps):
        if step.fault is None and step.crash is None:
            continue
        plain = [*steps[:index], replace(step, fault=None, crash=None), *steps[index + 1 :]]
        if fails(script.with_steps(tuple(plain))):
            steps = plain
    return script.with_steps(tuple(steps))
