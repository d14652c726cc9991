"""CRM+ timestamps: no zone, 0-7 fraction digits, ordered to the 100-ns tick."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.timestamps import (
    CrmTimestamp,
    crm_ticks,
    crm_timestamp_sort_key,
    format_crm_timestamp,
    parse_crm_timestamp,
)
from tests.domain.strategies import crm_timestamps

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("raw", "expected", "sub"),
    [
        ("2023-11-30T14:20:56", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC), 0),
        ("2023-11-30T14:20:56.34", datetime(2023, 11, 30, 14, 20, 56, 340000, tzinfo=UTC), 0),
        ("2023-11-30T14:20:56.353", datetime(2023, 11, 30, 14, 20, 56, 353000, tzinfo=UTC), 0),
        (
            "2023-11-30T14:20:56.3533333",
            datetime(2023, 11, 30, 14, 20, 56, 353333, tzinfo=UTC),
            3,
        ),
        # The 7th digit is truncated, never rounded up into the next second.
        ("2023-12-31T23:59:59.9999999", datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 9),
        ("2023-11-30T14:20:56Z", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC), 0),
        ("2023-11-30T14:20:56.5+02:00", datetime(2023, 11, 30, 12, 20, 56, 500000, tzinfo=UTC), 0),
        ("2023-11-30T14:20:56-0500", datetime(2023, 11, 30, 19, 20, 56, tzinfo=UTC), 0),
        ("2023-11-30 14:20:56", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC), 0),
        (" 2023-11-30T14:20:56 ", datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC), 0),
    ],
)
def test_timestamps_of_every_precision_parse_to_aware_utc(
    raw: str, expected: datetime, sub: int
) -> None:
    parsed = parse_crm_timestamp(raw)
    assert parsed == expected
    assert parsed.tzinfo is UTC
    assert parsed.sub_microsecond == sub


def test_a_timestamp_without_zone_is_read_in_the_configured_zone() -> None:
    parsed = parse_crm_timestamp("2023-11-30T14:20:56", CHICAGO)
    assert parsed == datetime(2023, 11, 30, 20, 20, 56, tzinfo=UTC)
    assert parse_crm_timestamp("2023-11-30T14:20:56", timezone(timedelta(hours=1))) == (
        datetime(2023, 11, 30, 13, 20, 56, tzinfo=UTC)
    )


def test_an_explicit_zone_suffix_wins_over_the_configured_zone() -> None:
    assert parse_crm_timestamp("2023-11-30T14:20:56Z", CHICAGO) == (
        datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC)
    )


def test_an_ambiguous_wall_time_at_the_end_of_daylight_saving_reads_as_the_first() -> None:
    # 01:30 happens twice in Chicago on 2024-11-03: first in CDT (UTC-5).
    assert parse_crm_timestamp("2024-11-03T01:30:00", CHICAGO) == (
        datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2023-11-30",
        "2023-11-30T14:20",
        "2023-11-30T14:20:56.",
        "2023-11-30T14:20:56.12345678",
        "2023-13-30T14:20:56",
        "2023-11-30T25:20:56",
        "2023-11-30T14:20:56+25:00",
        "0001-01-01T00:00:00+01:00",
        "2023-11-30T14:20:56 UTC",
    ],
)
def test_anything_else_is_a_clear_value_error(raw: str) -> None:
    with pytest.raises(ValueError, match="not a CRM\\+ timestamp"):
        parse_crm_timestamp(raw)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2023, 11, 30, 14, 20, 56, tzinfo=UTC), "2023-11-30T14:20:56"),
        (datetime(2023, 11, 30, 14, 20, 56, 340000, tzinfo=UTC), "2023-11-30T14:20:56.34"),
        (datetime(2023, 11, 30, 14, 20, 56, 1, tzinfo=UTC), "2023-11-30T14:20:56.000001"),
        (
            CrmTimestamp.from_datetime(datetime(2023, 11, 30, 14, 20, 56, 353333, tzinfo=UTC), 3),
            "2023-11-30T14:20:56.3533333",
        ),
        (datetime(2023, 11, 30, 15, 20, 56, tzinfo=timezone(timedelta(hours=1))),
         "2023-11-30T14:20:56"),
        (datetime(2023, 11, 30, 14, 20, 56), "2023-11-30T14:20:56"),
    ],
)  # fmt: skip
def test_formatting_drops_the_zone_and_trailing_zeros_like_dotnet(
    moment: datetime, text: str
) -> None:
    assert format_crm_timestamp(moment) == text


def test_formatting_renders_in_the_configured_zone() -> None:
    moment = datetime(2023, 11, 30, 20, 20, 56, tzinfo=UTC)
    assert format_crm_timestamp(moment, CHICAGO) == "2023-11-30T14:20:56"


def test_sort_key_orders_writes_100_nanoseconds_apart() -> None:
    earlier, later = "2023-11-30T14:20:56.3533333", "2023-11-30T14:20:56.3533334"
    assert parse_crm_timestamp(earlier) == parse_crm_timestamp(later)  # datetimes cannot tell
    assert crm_timestamp_sort_key(earlier) < crm_timestamp_sort_key(later)


def test_sort_key_ignores_trailing_zeros_and_counts_dotnet_ticks() -> None:
    assert crm_timestamp_sort_key("2023-11-30T14:20:56.34") == crm_timestamp_sort_key(
        "2023-11-30T14:20:56.3400000"
    )
    # .NET: new DateTime(1970, 1, 1).Ticks == 621355968000000000
    assert crm_timestamp_sort_key("1970-01-01T00:00:00") == 621_355_968_000_000_000


def test_ticks_of_a_plain_datetime_count_microseconds() -> None:
    assert crm_ticks(datetime(1970, 1, 1, 0, 0, 0, 1)) == 621_355_968_000_000_010
    assert crm_ticks(datetime(1970, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == (
        621_355_968_000_000_000
    )


def test_the_hundred_nanosecond_digit_survives_copy_and_pickle() -> None:
    parsed = parse_crm_timestamp("2023-11-30T14:20:56.3533333")
    for clone in (copy.deepcopy(parsed), copy.copy(parsed), pickle.loads(pickle.dumps(parsed))):
        assert isinstance(clone, CrmTimestamp)
        assert clone == parsed
        assert clone.sub_microsecond == 3


def test_the_extra_digit_must_be_a_single_digit() -> None:
    with pytest.raises(ValueError, match="0-9"):
        CrmTimestamp.from_datetime(datetime(2023, 1, 1, tzinfo=UTC), 10)


def _without_trailing_zeros(raw: str) -> str:
    return raw.rstrip("0").rstrip(".") if "." in raw else raw


@given(crm_timestamps())
def test_formatting_a_parsed_timestamp_gives_back_the_text(raw: str) -> None:
    assert format_crm_timestamp(parse_crm_timestamp(raw)) == _without_trailing_zeros(raw)


@given(crm_timestamps(), crm_timestamps())
def test_sort_key_orders_like_the_exact_instants(a: str, b: str) -> None:
    def exact(raw: str) -> tuple[str, str]:
        base, _, fraction = raw.partition(".")
        return base, fraction.ljust(7, "0")

    assert (crm_timestamp_sort_key(a) < crm_timestamp_sort_key(b)) == (exact(a) < exact(b))


@given(st.datetimes(timezones=st.just(UTC)))
def test_parsing_a_formatted_datetime_gives_the_same_instant(moment: datetime) -> None:
    assert parse_crm_timestamp(format_crm_timestamp(moment)) == moment
