"""The store's UTC discipline and its parsed copy of CRM+ timestamps."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from syncengine.store.timestamps import as_utc, from_database, parse_crm_timestamp


def test_aware_datetimes_are_converted_to_utc() -> None:
    moment = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=3)))

    assert as_utc(moment) == datetime(2023, 12, 31, 22, 0, tzinfo=UTC)
    assert as_utc(moment).tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        as_utc(datetime(2024, 1, 1))


def test_naive_values_from_the_database_are_utc() -> None:
    assert from_database(datetime(2024, 1, 1, 5)) == datetime(2024, 1, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-11-30T14:20:56.3533333", datetime(2023, 11, 30, 14, 20, 56, 353333, tzinfo=UTC)),
        ("2023-11-30T14:20:56", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC)),
        ("2023-11-30T14:20:56Z", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC)),
        ("2023-11-30T16:20:56+02:00", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC)),
    ],
)
def test_crm_timestamps_parse_to_utc(raw: str, expected: datetime) -> None:
    parsed = parse_crm_timestamp(raw)

    assert parsed == expected
    assert type(parsed) is datetime


@pytest.mark.parametrize("raw", [None, "", "not a date", "2023-13-01T00:00:00"])
def test_missing_or_garbled_crm_timestamps_parse_to_none(raw: str | None) -> None:
    assert parse_crm_timestamp(raw) is None
