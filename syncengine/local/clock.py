"""Clocks for the adapters that stamp modification times themselves (sql, memory).

Both satisfy ``syncengine.domain.ports.Clock``. The files adapter needs none: the file
system stamps its documents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from syncengine.local.moments import require_aware

# Where a ManualClock starts unless told otherwise: fixed, so test runs repeat exactly.
MANUAL_CLOCK_START: Final = datetime(2024, 1, 1, tzinfo=UTC)


class SystemClock:
    """The real time, aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: tests and simulations set or advance it."""

    def __init__(self, start: datetime = MANUAL_CLOCK_START) -> None:
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware(moment, "moment")

    def advance(self, delta: timedelta = timedelta(seconds=1)) -> datetime:
        self._now += delta
        return self._now
