"""Server normalisation is not a change: the normal form values are compared in."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.normalize import (
    is_us_address,
    normalize_for_server,
    normalize_record,
    normalize_record_for_server,
    normalize_value,
    values_equivalent,
)
from syncengine.domain.ports import Record
from syncengine.domain.schema import Kind
from tests.domain.strategies import contacts

S, D, N, B = Kind.STRING, Kind.DATE, Kind.INT, Kind.BOOL  # short names keep tables readable


@pytest.mark.parametrize(
    ("kind", "name", "a", "b"),
    [
        (S, "name", "  Test Contact ", "Test Contact"),
        (S, "name", "Test Contact\n", "Test Contact"),
        (S, "description", "", None),
        (S, "description", "   ", None),
        (S, "value", " email@test.com ", "email@test.com"),
        (S, "postal", 12345, "12345"),
        (D, "deceasedDate", "9/4/1998", "1998-09-04"),
        (D, "deceasedDate", "09/04/1998", "1998-09-04T00:00:00"),
        (D, "deceasedDate", "", None),
        (D, "lastGiftDate", "Unavailable", None),
        (D, "deceasedDate", date(1998, 9, 4), "9/4/1998"),
        (N, "birthYear", "2010", 2010),
        (N, "birthYear", " 2010 ", 2010.0),
        (N, "birthYear", "", None),
        (B, "isDeceased", "true", True),
        (B, "isDeceased", "No", False),
        (Kind.TIMESTAMP, "modifiedDateTimeUtc", "2023-11-30T14:20:56.3400000",
         "2023-11-30T14:20:56.34"),
        (Kind.TIMESTAMP, "modifiedDateTimeUtc", "", None),
        (Kind.MONEY, "giftAskAmount", "$1,200", "$1,200.00"),
        (Kind.MONEY, "lastGiftAmount", "Unavailable", None),
        (Kind.OPAQUE, "value", " M ", "M"),
        (Kind.OPAQUE, "value", "", None),
    ],
)  # fmt: skip
def test_server_normalisation_is_not_a_change(kind: Kind, name: str, a: Any, b: Any) -> None:
    assert values_equivalent(kind, name, a, b)
    assert values_equivalent(kind, name, b, a)


@pytest.mark.parametrize(
    ("kind", "name", "a", "b"),
    [
        (S, "name", "Test  Contact", "Test Contact"),  # inner whitespace is content
        (S, "value", "John@Example.org", "john@example.org"),  # email case is kept
        (S, "name", "x", None),
        (D, "deceasedDate", "9/4/1998", "1998-04-09"),
        (N, "birthYear", True, 1),  # a boolean is never a number
        (N, "birthYear", 2010, 2011),
        (B, "isDeceased", None, False),  # unknown is not "no"
        (B, "isDeceased", True, 1.0),
        (Kind.MONEY, "giftAskAmount", "$0", None),  # zero given is not "unavailable"
        (Kind.TIMESTAMP, "modifiedDateTimeUtc", "2023-11-30T14:20:56.3533333",
         "2023-11-30T14:20:56.3533334"),
        (Kind.OPAQUE, "value", 1, "1"),  # custom field types are the org's: no guessing
    ],
)  # fmt: skip
def test_real_changes_stay_changes(kind: Kind, name: str, a: Any, b: Any) -> None:
    assert not values_equivalent(kind, name, a, b)


@pytest.mark.parametrize(
    "country", [None, "", "  ", "US", "us", "USA", "U.S.A.", "United States", " united states "]
)
def test_state_codes_compare_case_insensitively_for_us_addresses(country: str | None) -> None:
    address = {"country": country, "state": "ca"}
    assert is_us_address(address)
    assert normalize_value(S, "state", " ca ", address) == "CA"
    assert values_equivalent(S, "state", "ca", "CA", address)


def test_state_codes_of_other_countries_keep_their_case() -> None:
    address = {"country": "Canada", "state": "on"}
    assert not is_us_address(address)
    assert not values_equivalent(S, "state", "on", "ON", address)


def test_only_state_codes_are_canonicalised_not_names_or_other_fields() -> None:
    address = {"country": "United States"}
    assert normalize_value(S, "state", "california", address) == "california"
    assert normalize_value(S, "city", "ca", address) == "ca"


def test_a_state_with_no_address_context_counts_as_us() -> None:
    assert normalize_value(S, "state", "ny") == "NY"


@pytest.mark.parametrize(
    ("kind", "value", "normal"),
    [
        (S, "  x ", "x"),
        (S, "", None),
        (D, "9/4/1998", "1998-09-04"),
        (D, "not a date ", "not a date"),
        (N, "7", 7),
        (N, "seven", "seven"),
        (B, "yes", True),
        (Kind.MONEY, "$1,200", Decimal("1200")),
        (Kind.MONEY, "lots", "lots"),
        (Kind.TIMESTAMP, "garbage", "garbage"),
        (Kind.OBJECT, {"a": " x "}, {"a": " x "}),
    ],
)
def test_normalize_value_never_fails_a_value_it_cannot_read_is_kept(
    kind: Kind, value: Any, normal: Any
) -> None:
    assert normalize_value(kind, "f", value) == normal


# -- what the server does ------------------------------------------------------------------


def test_the_server_trims_text_and_upper_cases_us_state_codes() -> None:
    address = {"country": "United States"}
    assert normalize_for_server(S, "city", "  Austin ", address) == "Austin"
    assert normalize_for_server(S, "state", " tx", address) == "TX"
    assert normalize_for_server(S, "state", "on", {"country": "Canada"}) == "on"


def test_the_server_is_assumed_to_change_nothing_else() -> None:
    assert normalize_for_server(S, "description", "") == ""
    assert normalize_for_server(S, "description", None) is None
    assert normalize_for_server(D, "deceasedDate", " 9/4/1998") == " 9/4/1998"
    assert normalize_for_server(N, "birthYear", "2010") == "2010"


def address_contact() -> Record:
    return {
        "id": 1,
        "name": "  Test Contact ",
        "address": {"id": 800, "state": "tx ", "country": "", "city": " Austin", "postal": 787},
        "contactIndividuals": [
            {
                "id": 2,
                "firstName": "Test ",
                "deceasedDate": "",
                "birthYear": "1998",
                "contactMethods": [{"id": 5, "type": "Home Email", "value": " A@b.org "}],
            }
        ],
        "tags": [" Gala 2024"],
        "giftAskAmount": "$1,200",
        "x_unknownFutureKey": " kept as is ",
    }


def test_normalize_record_puts_every_known_field_in_normal_form() -> None:
    record = address_contact()
    before = copy.deepcopy(record)
    normal = normalize_record("Contact", record)
    assert record == before
    assert normal["name"] == "Test Contact"
    assert normal["address"] == {
        "id": 800,
        "state": "TX",
        "country": None,
        "city": "Austin",
        "postal": "787",
    }
    person = normal["contactIndividuals"][0]
    assert (person["firstName"], person["deceasedDate"], person["birthYear"]) == (
        "Test",
        None,
        1998,
    )
    assert person["contactMethods"][0]["value"] == "A@b.org"
    assert normal["tags"] == ["Gala 2024"]
    assert normal["giftAskAmount"] == Decimal("1200")
    assert normal["x_unknownFutureKey"] == " kept as is "


def test_normalize_record_for_server_is_what_the_sandbox_stores() -> None:
    stored = normalize_record_for_server("Contact", address_contact())
    assert stored["name"] == "Test Contact"
    assert stored["address"]["state"] == "TX"
    assert stored["address"]["postal"] == 787
    assert stored["contactIndividuals"][0]["deceasedDate"] == ""
    assert stored["tags"] == ["Gala 2024"]
    assert stored["x_unknownFutureKey"] == " kept as is "


# -- properties ----------------------------------------------------------------------------

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.sampled_from(["ca", " NY ", "9/4/1998", "2024-05-01T10:00:00", "$1,200", "Unavailable"]),
    st.sampled_from(["2023-11-30T14:20:56.3533330", " 2010 ", "true", "", "   "]),
    st.dates(),
)
_kinds = st.sampled_from([k for k in Kind if k not in (Kind.OBJECT, Kind.ARRAY)])
_names = st.sampled_from(["state", "name", "value", "deceasedDate", "birthYear"])
_contexts = st.sampled_from([None, {"country": "United States"}, {"country": "Canada"}])


@given(_kinds, _names, _values, _contexts)
def test_normalizing_a_normal_form_changes_nothing(
    kind: Kind, name: str, value: Any, context: dict[str, str] | None
) -> None:
    once = normalize_value(kind, name, value, context)
    assert values_equivalent(kind, name, once, normalize_value(kind, name, once, context))
    assert normalize_value(kind, name, once, context) == once


@given(_kinds, _names, _values, _values, _contexts)
def test_equivalence_is_reflexive_and_symmetric(
    kind: Kind, name: str, a: Any, b: Any, context: dict[str, str] | None
) -> None:
    assert values_equivalent(kind, name, a, a, context)
    assert values_equivalent(kind, name, a, b, context) == values_equivalent(
        kind, name, b, a, context
    )


@given(_kinds, _names, _values, _contexts)
def test_what_the_server_does_to_a_value_is_never_seen_as_a_change(
    kind: Kind, name: str, value: Any, context: dict[str, str] | None
) -> None:
    stored = normalize_for_server(kind, name, value, context)
    assert values_equivalent(kind, name, value, stored, context)
    assert normalize_for_server(kind, name, stored, context) == stored


@given(contacts())
def test_normalizing_a_record_is_idempotent(record: Record) -> None:
    once = normalize_record("Contact", record)
    assert normalize_record("Contact", once) == once
    assert normalize_record("Contact", normalize_record_for_server("Contact", record)) == once
