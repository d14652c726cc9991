"""Runs callables on schedules (APScheduler 3.x). Knows nothing about syncing.

Every job is added with the guarantees the daemon relies on:

- never two runs of one job at once (``max_instances=1``): a run still going when the
  next is due makes the next one wait for its turn, never overlap;
- missed runs coalesce (``coalesce=True``, no misfire grace limit): after a pause (a
  suspended laptop, a long run) a job runs once, not once per missed interval;
- an exception in a run is the callable's to handle; whatever escapes is logged by
  APScheduler and the next run happens as scheduled: a failing run never stops the
  scheduler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

Task = Callable[[], None]


# Standard cron numbers the days of the week from Sunday (0 or 7); APScheduler 3 numbers
# them from Monday (0), also in ``from_crontab``, so "0 3 * * 1" would run on Tuesdays.
# Numeric days (single, ranges, steps) are spelt out as names, which both read alike.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC_DAYS = re.compile(r"^(\*|[0-7](?:-[0-7])?)(?:/([1-9]))?$")


def parse_cron(expression: str) -> CronTrigger:
    """A standard five-field crontab line (``"0 3 * * *"``), in UTC; ValueError if not."""
    fields = expression.split()
    if len(fields) == 5:
        fields[4] = ",".join(_days(part) for part in fields[4].split(","))
        expression = " ".join(fields)
    trigger: CronTrigger = CronTrigger.from_crontab(expression, timezone=UTC)
    return trigger


def _days(part: str) -> str:
    """One comma-separated part of a cron day-of-week field, as day names."""
    found = _NUMERIC_DAYS.match(part)
    if found is None or (found.group(1) == "*" and found.group(2) is None):
        return part  # names, or "*": the same in both numberings
    span, step = found.group(1), int(found.group(2) or 1)
    first, _, last = ("0-6" if span == "*" else span).partition("-")
    numbers = range(int(first), int(last or first) + 1, step)
    return ",".join(dict.fromkeys(_CRON_DAYS[n] for n in numbers))


class Scheduler:
    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )

    def every(self, name: str, seconds: float, task: Task, *, first_in: float = 0.0) -> None:
        """Run ``task`` every ``seconds``, the first time ``first_in`` seconds from now."""
        start = datetime.now(UTC) + timedelta(seconds=first_in)
        self._scheduler.add_job(
            task,
            IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC),
            id=name,
            name=name,
            replace_existing=True,
            next_run_time=start,
        )

    def cron(self, name: str, expression: str, task: Task) -> None:
        self._scheduler.add_job(
            task, parse_cron(expression), id=name, name=name, replace_existing=True
        )

    def start(self) -> None:
        self._scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop scheduling; with ``wait``, let the runs in progress finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}
