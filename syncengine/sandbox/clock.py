"""Time sources: the injectable wall clock and the stamp dispenser built on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from syncengine.domain.ports import Clock
from syncengine.domain.timestamps import crm_ticks
from syncengine.sandbox.timefmt import datetime_from_ticks, unix_seconds_from_ticks


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and rehearsals of time-based logic."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._now = moment


class StampClock:
    """Hands out ``modifiedDateTimeUtc`` stamps that strictly increase, whatever the clock does.

    The engine detects concurrent edits by comparing stamps, so two writes must never share
    one, even when the wall clock stands still or steps back: the next stamp is then the
    previous one plus one tick (100 ns), which shows as a 7th fraction digit, as on .NET.
    Not locked itself: it is only used under the sandbox state's lock.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = 0

    def stamp(self) -> int:
        self._last = max(crm_ticks(self._clock.now()), self._last + 1)
        return self._last

    def observe(self, ticks: int) -> None:
        """Account for a stamp that came from elsewhere (seed data), so later ones exceed it."""
        self._last = max(self._last, ticks)

    def ticks_now(self) -> int:
        """The clock's time in .NET ticks, without taking a stamp."""
        return crm_ticks(self._clock.now())

    def unix_now(self) -> float:
        return unix_seconds_from_ticks(crm_ticks(self._clock.now()))

    def today(self) -> date:
        return datetime_from_ticks(crm_ticks(self._clock.now())).date()
