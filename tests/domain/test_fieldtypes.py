"""Natural-type coercion before a PUT, and the read formats the API sends."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.fieldtypes import (
    coerce,
    coerce_change,
    coerce_field,
    coerce_record,
    parse_money,
    parse_read_date,
)
from syncengine.domain.paths import REMOVE, parse_path
from syncengine.domain.ports import Record
from syncengine.domain.schema import Field, Kind
from syncengine.errors import CoercionError, ForbiddenChange, PathError
from tests.domain.strategies import contacts


def contact() -> Record:
    """A contact as the CRM+ GET returns it (natural types, read formats)."""
    return {
        "id": 1,
        "isPrivate": True,
        "name": "Test Contact",
        "anniversaryYear": None,
        "address": {"id": 800, "postal": None, "state": "", "country": "", "isPrimary": True},
        "giftAskAmount": "$1,200",
        "lastGiftDate": "Unavailable",
        "contactIndividuals": [
            {
                "id": 2,
                "firstName": "Test",
                "isPrimary": True,
                "isDeceased": False,
                "birthYear": 1998,
                "birthDate": "9/4/1998",
                "deceasedDate": "",
                "contactMethods": [
                    {"id": 2081, "type": "Work Email", "value": "e@t.com", "isOptedIn": False}
                ],
                "customFields": [],
            }
        ],
        "contactReferences": [],
        "tags": [],
        "customFields": [{"name": "Shirt Size", "value": None, "displayName": "Shirt Size"}],
        "modifiedDateTimeUtc": "2023-11-30T14:20:56.353",
        "x_unknownFutureKey": "2010",
    }


# -- coerce: one value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (Kind.BOOL, True, True),
        (Kind.BOOL, False, False),
        (Kind.BOOL, "true", True),
        (Kind.BOOL, "false", False),
        (Kind.BOOL, "True", True),
        (Kind.BOOL, " FALSE ", False),
        (Kind.BOOL, "yes", True),
        (Kind.BOOL, "no", False),
        (Kind.BOOL, "1", True),
        (Kind.BOOL, "0", False),
        (Kind.BOOL, 1, True),
        (Kind.BOOL, 0, False),
        (Kind.INT, 2010, 2010),
        (Kind.INT, "2010", 2010),
        (Kind.INT, " 2010 ", 2010),
        (Kind.INT, 2010.0, 2010),
        (Kind.INT, "2010.0", 2010),
        (Kind.INT, Decimal("12"), 12),
        (Kind.INT, "-3", -3),
        (Kind.INT, "", None),
        (Kind.INT, None, None),
        (Kind.STRING, "  as typed  ", "  as typed  "),
        (Kind.STRING, "", ""),
        (Kind.STRING, 12345, "12345"),
        (Kind.STRING, 12345.0, "12345"),
        (Kind.STRING, 0.5, "0.5"),
        (Kind.STRING, 1e20, "100000000000000000000"),
        (Kind.STRING, Decimal("1.50"), "1.50"),
        (Kind.STRING, None, None),
        (Kind.DATE, "2024-05-01", "2024-05-01"),
        (Kind.DATE, "9/4/1998", "1998-09-04"),
        (Kind.DATE, "09/04/1998", "1998-09-04"),
        (Kind.DATE, "2024-05-01T00:00:00", "2024-05-01"),
        (Kind.DATE, "2024-05-01T23:00:00.1234567", "2024-05-01"),
        (Kind.DATE, "2024-05-01T23:00:00-05:00", "2024-05-01"),
        (Kind.DATE, date(2024, 5, 1), "2024-05-01"),
        (Kind.DATE, datetime(2024, 5, 1, 12, 30), "2024-05-01"),
        (Kind.DATE, "", None),
        (Kind.DATE, "  ", None),
        (Kind.DATE, None, None),
        (Kind.OBJECT, {"a": 1}, {"a": 1}),
        (Kind.ARRAY, [1], [1]),
    ],
)
def test_values_from_anywhere_become_natural_types(kind: Kind, value: Any, expected: Any) -> None:
    result = coerce("f", kind, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (Kind.BOOL, None),
        (Kind.BOOL, 2),
        (Kind.BOOL, 1.0),
        (Kind.BOOL, "maybe"),
        (Kind.BOOL, ""),
        (Kind.BOOL, [True]),
        (Kind.INT, 2010.5),
        (Kind.INT, "2010.5"),
        (Kind.INT, True),
        (Kind.INT, "abc"),
        (Kind.INT, "1_000"),
        (Kind.INT, "١٢"),  # Arabic-Indic digits: int() takes them, the API would not
        (Kind.INT, float("nan")),
        (Kind.INT, {}),
        (Kind.STRING, True),
        (Kind.STRING, {"a": 1}),
        (Kind.STRING, ["a"]),
        (Kind.STRING, float("inf")),
        (Kind.DATE, "Unavailable"),
        (Kind.DATE, "2/30/2024"),
        (Kind.DATE, "2024-13-01"),
        (Kind.DATE, "98-09-04"),
        (Kind.DATE, "yesterday"),
        (Kind.DATE, 20240501),
        (Kind.TIMESTAMP, "2023-11-30T14:20:56"),
        (Kind.TIMESTAMP, None),
        (Kind.MONEY, "$1,200"),
        (Kind.OBJECT, "x"),
        (Kind.ARRAY, {"a": 1}),
    ],
)
def test_values_that_cannot_be_coerced_are_refused(kind: Kind, value: Any) -> None:
    with pytest.raises(CoercionError):
        coerce("f", kind, value)


def test_a_coercion_error_names_the_field_the_value_and_the_expected_type() -> None:
    with pytest.raises(CoercionError) as caught:
        coerce(parse_path("contactIndividuals[id=2].birthYear"), Kind.INT, "abc")
    assert caught.value.field == "contactIndividuals[id=2].birthYear"
    assert caught.value.value == "abc"
    assert caught.value.expected == "an integer"


def test_read_only_kinds_say_why_they_are_refused() -> None:
    with pytest.raises(CoercionError, match="read-only"):
        coerce("giftAskAmount", Kind.MONEY, "$5")


def test_opaque_values_pass_through_untouched() -> None:
    value = {"anything": ["goes", 1]}
    assert coerce("customFields[name=X].value", Kind.OPAQUE, value) is value


# NaN is left out: it is not equal to itself, and its refusal is tested above.
_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["true", "No", " 7 ", "7.0", "9/4/1998", "2024-05-01T10:00:00", "", "1"]),
    st.dates(),
    st.datetimes(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


@given(st.sampled_from(list(Kind)), _anything)
def test_coercing_twice_gives_what_coercing_once_gives(kind: Kind, value: Any) -> None:
    try:
        once = coerce("f", kind, value)
    except CoercionError:
        return
    assert coerce("f", kind, once) == once


@given(st.integers())
def test_an_integer_written_as_text_coerces_to_itself(number: int) -> None:
    assert coerce("f", Kind.INT, f" {number} ") == number
    assert coerce("f", Kind.STRING, number) == str(number)


@given(st.dates())
def test_a_date_in_any_accepted_format_coerces_to_the_same_iso_date(day: date) -> None:
    us = f"{day.month}/{day.day}/{day.year:04d}"
    assert coerce("f", Kind.DATE, us) == coerce("f", Kind.DATE, day) == day.isoformat()


# -- coerce_record and coerce_field --------------------------------------------------------


def spec_typed_contact() -> Record:
    """The contact as a platform following the published spec (all strings) sends it."""
    record = contact()
    record["isPrivate"] = "true"
    record["anniversaryYear"] = "2010"
    record["address"]["postal"] = 12345
    record["address"]["isPrimary"] = "True"
    person = record["contactIndividuals"][0]
    person["isDeceased"] = "false"
    person["birthYear"] = "1998"
    person["deceasedDate"] = "9/4/2020"
    person["contactMethods"][0]["isOptedIn"] = "0"
    record["tags"] = ["Gala", 2024]
    return record


def test_coerce_record_turns_a_spec_typed_record_into_natural_types() -> None:
    cleaned = coerce_record("Contact", spec_typed_contact())
    person = cleaned["contactIndividuals"][0]
    assert cleaned["isPrivate"] is True
    assert cleaned["anniversaryYear"] == 2010
    assert cleaned["address"]["postal"] == "12345"
    assert cleaned["address"]["isPrimary"] is True
    assert person["isDeceased"] is False
    assert person["birthYear"] == 1998
    assert person["deceasedDate"] == "2020-09-04"
    assert person["contactMethods"][0]["isOptedIn"] is False
    assert cleaned["tags"] == ["Gala", "2024"]


def test_coerce_record_leaves_read_only_and_unknown_fields_untouched() -> None:
    record = spec_typed_contact()
    record["address"]["id"] = "800"  # read-only: the server's business, even if odd
    cleaned = coerce_record("Contact", record)
    assert cleaned["giftAskAmount"] == "$1,200"
    assert cleaned["lastGiftDate"] == "Unavailable"
    assert cleaned["contactIndividuals"][0]["birthDate"] == "9/4/1998"
    assert cleaned["modifiedDateTimeUtc"] == "2023-11-30T14:20:56.353"
    assert cleaned["address"]["id"] == "800"
    assert cleaned["x_unknownFutureKey"] == "2010"


def test_coerce_record_does_not_mutate_its_input() -> None:
    record = spec_typed_contact()
    before = copy.deepcopy(record)
    coerce_record("Contact", record)
    assert record == before


def test_coerce_record_errors_name_the_concrete_nested_path() -> None:
    record = spec_typed_contact()
    record["contactIndividuals"][0]["contactMethods"][0]["isOptedIn"] = "maybe"
    with pytest.raises(CoercionError) as caught:
        coerce_record("Contact", record)
    assert caught.value.field == "contactIndividuals[id=2].contactMethods[id=2081].isOptedIn"


def test_coerce_record_names_a_new_item_by_its_natural_key() -> None:
    record = contact()
    record["contactIndividuals"][0]["contactMethods"].append(
        {"type": "Home Email", "value": "h@t.com", "isOptedIn": "perhaps"}
    )
    with pytest.raises(CoercionError) as caught:
        coerce_record("Contact", record)
    assert caught.value.field == (
        "contactIndividuals[id=2].contactMethods[type=Home Email,value=h@t.com].isOptedIn"
    )


def test_coerce_record_refuses_an_array_item_that_is_not_an_object() -> None:
    record = contact() | {"contactReferences": ["portal:42"]}
    with pytest.raises(CoercionError, match="an object"):
        coerce_record("Contact", record)


def test_coerce_record_refuses_a_scalar_where_an_object_belongs() -> None:
    with pytest.raises(CoercionError, match="'address'"):
        coerce_record("Contact", contact() | {"address": "123 Main St"})


def test_coerce_field_goes_inside_nested_shapes() -> None:
    field = Field(Kind.OBJECT, shape="ContactAddress")
    assert coerce_field("address", field, {"isPrimary": "yes", "postal": 501}) == {
        "isPrimary": True,
        "postal": "501",
    }


@given(contacts())
def test_coerce_record_is_idempotent_and_changes_a_get_response_only_in_empty_dates(
    record: Record,
) -> None:
    once = coerce_record("Contact", record)
    assert coerce_record("Contact", once) == once
    # A GET response is already in natural types, except that it reads an empty date
    # as "", which is written back as null.
    changes = DeepDiff(record, once)
    assert set(changes) <= {"type_changes"}
    for change in changes.get("type_changes", {}).values():
        assert (change["old_value"], change["new_value"]) == ("", None)


# -- coerce_change -------------------------------------------------------------------------


def test_coerce_change_types_the_value_by_the_path() -> None:
    record = contact()
    assert coerce_change(record, "contactIndividuals[isPrimary=true].isDeceased", "yes") is True
    assert coerce_change(record, "anniversaryYear", " 2010 ") == 2010
    assert coerce_change(record, "address.postal", 12345) == "12345"
    assert coerce_change(record, "tags[+]", 2024) == "2024"


def test_coerce_change_coerces_every_field_of_an_appended_item() -> None:
    value = {"type": "Home Email", "value": "h@t.com", "isOptedIn": "true"}
    assert coerce_change(
        record := contact(), "contactIndividuals[id=2].contactMethods[+]", value
    ) == {
        "type": "Home Email",
        "value": "h@t.com",
        "isOptedIn": True,
    }
    assert record == contact()


def test_coerce_change_names_a_bad_field_inside_a_new_item() -> None:
    with pytest.raises(CoercionError) as caught:
        coerce_change(contact(), "contactIndividuals[id=2].contactMethods[+]", {"isOptedIn": "?"})
    assert caught.value.field == "contactIndividuals[id=2].contactMethods[+].isOptedIn"


@pytest.mark.parametrize(
    "path",
    ["giftAskAmount", "contactIndividuals[id=2].birthDate", "modifiedDateTimeUtc", "id"],
)
def test_coerce_change_refuses_read_only_fields(path: str) -> None:
    with pytest.raises(ForbiddenChange, match="read-only"):
        coerce_change(contact(), path, "x")


def test_coerce_change_refuses_is_archived_and_points_elsewhere() -> None:
    with pytest.raises(ForbiddenChange, match="archive"):
        coerce_change(contact(), "isArchived", True)


def test_coerce_change_resolves_the_path_before_judging_the_value() -> None:
    with pytest.raises(PathError, match="no field 'adress'"):
        coerce_change(contact(), "adress.city", object())
    with pytest.raises(PathError, match="no item"):
        coerce_change(contact(), "contactIndividuals[id=99].isDeceased", "yes")


def test_coerce_change_passes_unknown_keys_and_remove_through() -> None:
    marker = object()
    assert coerce_change(contact(), "x_unknownFutureKey", marker) is marker
    assert coerce_change(contact(), "customFields[name=Shirt Size]", REMOVE) is REMOVE
    assert coerce_change(contact(), "customFields[name=Shirt Size].value", "XL") == "XL"


# -- read formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$1,200", Decimal("1200")),
        ("$0", Decimal("0")),
        ("-$5.25", Decimal("-5.25")),
        ("$-5.25", Decimal("-5.25")),
        ("($5.25)", Decimal("-5.25")),
        ("$1,234,567.89", Decimal("1234567.89")),
        (" $ 12 ", Decimal("12")),
        ("1200.50", Decimal("1200.50")),
        ("€3", Decimal("3")),
        (7, Decimal("7")),
        (0.1, Decimal("0.1")),
        ("", None),
        ("  ", None),
        (None, None),
        ("Unavailable", None),
    ],
)
def test_parse_money_reads_giving_summaries(text: Any, amount: Decimal | None) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize("text", ["abc", "$1,20", "x5", "--5", "$$5", "-$-5", "1.2.3", True, []])
def test_parse_money_refuses_what_is_not_an_amount(text: Any) -> None:
    with pytest.raises(ValueError, match="not a money amount"):
        parse_money(text)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_parse_money_reads_back_an_amount_rendered_the_crm_way(amount: Decimal) -> None:
    sign = "-" if amount < 0 else ""
    assert parse_money(f"{sign}${abs(amount):,.2f}") == amount


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("9/4/1998", date(1998, 9, 4)),
        ("12/31/2023", date(2023, 12, 31)),
        ("2024-05-01", date(2024, 5, 1)),
        ("2024-05-01T00:00:00", date(2024, 5, 1)),
        ("2024-05-01T00:00:00.3533333", date(2024, 5, 1)),
        (date(2024, 5, 1), date(2024, 5, 1)),
        (datetime(2024, 5, 1, 8), date(2024, 5, 1)),
        ("", None),
        (None, None),
        ("Unavailable", None),
    ],
)
def test_parse_read_date_reads_the_api_date_formats(text: Any, day: date | None) -> None:
    assert parse_read_date(text) == day


@pytest.mark.parametrize("text", ["13/1/2024", "2/30/2024", "soon", "2024-5-1", 20240501])
def test_parse_read_date_refuses_what_is_not_a_date(text: Any) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_read_date(text)
