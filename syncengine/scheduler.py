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

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

Task = Callable[[], None]


def parse_cron(expression: str) -> CronTrigger:
    """A standard five-field crontab line (``"0 3 * * *"``), in UTC; ValueError if not."""
    trigger: CronTrigger = CronTrigger.from_crontab(expression, timezone=UTC)
    return trigger


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
