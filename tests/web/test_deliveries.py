"""Reading webhook deliveries and enqueue asks: the contact ids, and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncengine.domain.records import MAX_CONTACT_ID
from syncengine.web.deliveries import (
    MAX_EVENT_NAME,
    MalformedRequest,
    parse_delivery,
    parse_enqueue,
)


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


# The webhook shape is not the GET shape: arrays and nulls the sync must never read.
WEBHOOK_CONTACT = {
    "id": 4821,
    "contactType": "Household",
    "customContactType": None,
    "contactAddresses": [{"id": 9, "address1": "1 Main St"}],
    "contactIndividuals": [{"id": 48212, "contactMethods": None}],
}


def test_a_single_contact_update_yields_its_id() -> None:
    delivery = parse_delivery(_body({"event": "ContactUpdate", "contact": WEBHOOK_CONTACT}))
    assert delivery.contact_ids == (4821,)
    assert delivery.event == "ContactUpdate"
    assert not delivery.ignored


def test_a_contact_create_is_a_contact_event_too() -> None:
    delivery = parse_delivery(_body({"event": "ContactCreate", "contact": {"id": 7}}))
    assert delivery.contact_ids == (7,) and not delivery.ignored


def test_a_bulk_delivery_yields_every_id_once_in_order() -> None:
    models = [{"contact": {"id": i}} for i in (5, 3, 5, 9, 3)]
    delivery = parse_delivery(_body({"event": "ContactUpdate", "models": models}))
    assert delivery.contact_ids == (5, 3, 9)


def test_an_empty_bulk_delivery_is_accepted_with_nothing_to_queue() -> None:
    delivery = parse_delivery(_body({"event": "ContactUpdate", "models": []}))
    assert delivery.contact_ids == () and not delivery.ignored


def test_event_names_are_matched_without_regard_to_case() -> None:
    delivery = parse_delivery(_body({"event": "contactupdate", "contact": {"id": 1}}))
    assert delivery.contact_ids == (1,)


@pytest.mark.parametrize(
    "document",
    [
        {"event": "GiftCreate", "gift": {"id": 1}},
        {"event": "NoteCreate", "note": None},
        {"event": "EventAttendeeUpdate", "contact": "whatever"},
        {"event": "ContactDeleteSomething", "contact": {"id": -1}},
    ],
)
def test_other_events_are_ignored_whatever_else_they_hold(document: dict[str, Any]) -> None:
    delivery = parse_delivery(_body(document))
    assert delivery.ignored and delivery.contact_ids == ()


def test_a_long_event_name_is_cut_before_it_is_shown_anywhere() -> None:
    delivery = parse_delivery(_body({"event": "Gift" + "x" * 5000}))
    assert delivery.ignored and len(delivery.event) == MAX_EVENT_NAME


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b'{"event": "ContactUpdate",', "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe{}", "not valid JSON", id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "not valid JSON", id="deeply-nested"),
        pytest.param(b"[1, 2]", "JSON object", id="a-list"),
        pytest.param(b"{}", "'event'", id="no-event"),
        pytest.param(_body({"event": 5}), "'event'", id="event-not-text"),
        pytest.param(_body({"event": " "}), "'event'", id="event-blank"),
        pytest.param(_body({"event": "ContactUpdate"}), "'contact' or 'models'", id="no-contact"),
        pytest.param(
            _body({"event": "ContactUpdate", "contact": {"id": 1}, "models": []}),
            "both",
            id="contact-and-models",
        ),
        pytest.param(_body({"event": "ContactUpdate", "contact": [1]}), "contact", id="list"),
        pytest.param(_body({"event": "ContactUpdate", "contact": {}}), "'id'", id="no-id"),
        pytest.param(_body({"event": "ContactUpdate", "models": {}}), "'models'", id="models"),
        pytest.param(
            _body({"event": "ContactUpdate", "models": [{"contact": {"id": 1}}, 5]}),
            "models[1]",
            id="model-not-object",
        ),
        pytest.param(
            _body({"event": "ContactUpdate", "models": [{"contact": {"id": 1}}, {}]}),
            "models[1] has no 'contact'",
            id="model-without-contact",
        ),
        pytest.param(
            _body({"event": "ContactUpdate", "models": [{"contact": {"id": 1}}, {"contact": {}}]}),
            "models[1].contact has no 'id'",
            id="model-contact-without-id",
        ),
    ],
)
def test_a_malformed_delivery_is_refused_with_a_message_naming_the_problem(
    body: bytes, message: str
) -> None:
    with pytest.raises(MalformedRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_delivery(body)


@pytest.mark.parametrize(
    "bad_id",
    [0, -1, MAX_CONTACT_ID + 1, 10**30, "4821", 4821.0, True, None, [4821], {"id": 1}],
)
def test_an_id_that_is_no_contact_id_refuses_the_delivery(bad_id: Any) -> None:
    with pytest.raises(MalformedRequest, match=r"contact\.id is not a contact id"):
        parse_delivery(_body({"event": "ContactUpdate", "contact": {"id": bad_id}}))


def test_one_bad_id_in_a_bulk_delivery_refuses_all_of_it_naming_which() -> None:
    models = [{"contact": {"id": 1}}, {"contact": {"id": 2}}, {"contact": {"id": 0}}]
    with pytest.raises(MalformedRequest, match=r"models\[2\]\.contact\.id"):
        parse_delivery(_body({"event": "ContactUpdate", "models": models}))


def test_the_edges_of_the_id_range_are_contact_ids() -> None:
    models = [{"contact": {"id": 1}}, {"contact": {"id": MAX_CONTACT_ID}}]
    delivery = parse_delivery(_body({"event": "ContactUpdate", "models": models}))
    assert delivery.contact_ids == (1, MAX_CONTACT_ID)


def test_a_malformed_message_never_quotes_the_value() -> None:
    with pytest.raises(MalformedRequest) as raised:
        parse_delivery(_body({"event": "ContactUpdate", "contact": {"id": "SECRET-LOOKING"}}))
    assert "SECRET-LOOKING" not in str(raised.value)


# -- enqueue ----------------------------------------------------------------------------


def test_enqueue_takes_a_list_of_contacts_each_once() -> None:
    assert parse_enqueue(_body({"contacts": [4821, 7, 4821]})) == (4821, 7)


def test_enqueue_takes_one_contact() -> None:
    assert parse_enqueue(_body({"contact": 4821})) == (4821,)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "'contacts'"),
        ({"contacts": 4821}, "must be a list"),
        ({"contacts": [1, "2"]}, r"contacts\[1\] is not a contact id"),
        ({"contacts": [1, 0]}, r"contacts\[1\] is not a contact id: outside"),
        ({"contact": MAX_CONTACT_ID + 1}, "contact is not a contact id"),
        ({"contact": 1, "contacts": [2]}, "both"),
    ],
)
def test_a_malformed_enqueue_ask_is_refused_naming_the_problem(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedRequest, match=message):
        parse_enqueue(_body(document))
