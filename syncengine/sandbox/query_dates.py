"""Date values in a query condition: a calendar day, or one of the relative names the
live API offers as ``valueOptions`` of every Date parameter.

The names and their spelling are those of a recorded ``QueryOptions`` response
(``taylorbrooks/virtuous``, ``spec/support/fixtures/gift_designation_query_options.json``);
what each one resolves to is not published, so each resolves to the plainest calendar
day its words name, counted from the sandbox clock's today (UTC). A relative name is
matched exactly as spelled there (``"today"`` is not ``"Today"``): a client that sends
other spellings would be relying on leniency nobody has documented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from syncengine.domain.fieldtypes import parse_read_date


def _days(offset: int) -> Callable[[date], date]:
    return lambda today: today + timedelta(days=offset)


def _years_ago(years: int) -> Callable[[date], date]:
    def resolve(today: date) -> date:
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 February in a year without one: the day before
            return today.replace(year=today.year - years, day=28)

    return resolve


def _last_sunday(today: date) -> date:
    # The start of the week the day is in (.NET counts weeks from Sunday): today itself
    # when today is a Sunday.
    return today - timedelta(days=(today.weekday() + 1) % 7)


RELATIVE_DATES: Mapping[str, Callable[[date], date]] = {
    "Today": _days(0),
    "Yesterday": _days(-1),
    "Tomorrow": _days(1),
    "30 Days Ago": _days(-30),
    "60 Days Ago": _days(-60),
    "90 Days Ago": _days(-90),
    "180 Days Ago": _days(-180),
    "270 Days Ago": _days(-270),
    "One Year Ago": _years_ago(1),
    "Two Years Ago": _years_ago(2),
    "Last Sunday": _last_sunday,
    "Start Of This Month": lambda today: today.replace(day=1),
    "This Calendar Year": lambda today: today.replace(month=1, day=1),
    "One week from now": _days(7),
}

# The order the live API lists them in (alphabetical, ignoring case, as recorded).
RELATIVE_DATE_NAMES: tuple[str, ...] = tuple(sorted(RELATIVE_DATES, key=str.casefold))


def parse_day(value: Any, today: date) -> date:
    """The calendar day a condition value names: a relative name, ISO 8601 (a time part is
    ignored) or "M/D/YYYY". ValueError for anything else."""
    if isinstance(value, str) and value in RELATIVE_DATES:
        return RELATIVE_DATES[value](today)
    day = parse_read_date(value) if isinstance(value, str) else None
    if day is None:
        raise ValueError(f"{value!r} is not a date")
    return day
