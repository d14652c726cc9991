"""The scheduler runs callables on schedules: never two runs of one job at once, missed
runs coalesced, a failing run never stops the others."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from syncengine.scheduler import Scheduler, parse_cron


def test_a_slow_job_never_overlaps_itself_and_missed_runs_coalesce() -> None:
    running = 0
    most = 0
    runs = 0
    lock = threading.Lock()

    def slow() -> None:
        nonlocal running, most, runs
        with lock:
            running += 1
            most = max(most, running)
            runs += 1
        time.sleep(0.5)  # five intervals long
        with lock:
            running -= 1

    scheduler = Scheduler()
    scheduler.every("slow", 0.1, slow)
    scheduler.start()
    time.sleep(1.6)
    scheduler.shutdown(wait=True)
    assert most == 1, "never two runs at once"
    assert 2 <= runs <= 4, f"the missed intervals did not each run later ({runs} runs)"


def test_a_failing_run_does_not_stop_the_next_ones() -> None:
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    scheduler = Scheduler()
    scheduler.every("failing", 0.1, failing)
    scheduler.start()
    time.sleep(0.55)
    scheduler.shutdown(wait=True)
    assert len(calls) >= 3
    assert not scheduler.running


def test_next_runs_name_every_job() -> None:
    scheduler = Scheduler()
    scheduler.every("push", 30, lambda: None, first_in=30)
    scheduler.cron("reconcile", "0 3 * * *", lambda: None)
    scheduler.start()
    try:
        upcoming = scheduler.next_runs()
    finally:
        scheduler.shutdown()
    assert set(upcoming) == {"push", "reconcile"}
    reconcile = upcoming["reconcile"]
    assert reconcile is not None and (reconcile.hour, reconcile.minute) == (3, 0)


def test_a_crontab_line_is_five_fields_in_utc() -> None:
    trigger = parse_cron("30 2 * * 1")
    fire = trigger.get_next_fire_time(None, datetime(2026, 12, 1, tzinfo=UTC))
    assert fire == datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_cron("every night")


@pytest.mark.parametrize(
    ("days", "first"),
    [
        ("0", "2026-12-06"),  # Sunday
        ("7", "2026-12-06"),  # Sunday too
        ("1", "2026-11-30"),  # Monday
        ("2-4", "2026-12-01"),  # Tuesday to Thursday
        ("5,6", "2026-12-04"),  # Friday, Saturday
        ("0-6/3", "2026-12-02"),  # Sunday, Wednesday, Saturday
        ("*/2", "2026-12-01"),  # Sunday, Tuesday, Thursday, Saturday
        ("sat", "2026-12-05"),
        ("*", "2026-11-30"),
    ],
)
def test_days_of_the_week_are_numbered_as_in_cron_sunday_first(days: str, first: str) -> None:
    # From Monday 2026-11-30 00:00 UTC: the first day the line allows, at noon.
    trigger = parse_cron(f"0 12 * * {days}")
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 30, tzinfo=UTC))
    assert fire is not None and fire.date().isoformat() == first
