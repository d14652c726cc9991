"""The checker itself: the recorded responses conform, and every deliberately wrong
answer (one broken rule each) is caught and located. Without this, a schema too loose to
fail would let every contract row pass."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.sandbox.contract.case import Case
from tests.sandbox.contract.checker import answer_problems, schema_problems
from tests.sandbox.contract.schemas import (
    ADDRESS,
    CONTACT,
    EMBEDDED_ADDRESS,
    INDIVIDUAL,
    MESSAGE,
    MODEL_STATE,
    PRIMARY,
    UNAUTHORISED,
    VALIDATION_FAILED,
    Schema,
    array_of,
    exactly_one,
    model_state_naming,
    page,
    validation_failed_on,
)
from tests.sandbox.contract.table import ROWS
from tests.sandbox.helpers import load_fixture

Edit = Callable[[dict[str, Any]], None]
RATE_LIMIT = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "4999",
    "X-RateLimit-Reset": "1796637600",
}


def _walk(record: Any, path: str) -> tuple[Any, str | int]:
    """The container of the dotted ``path`` ("contactIndividuals.0.isDeceased") and its key."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for part in parents:
        record = record[part]
    return record, last


def set_(path: str, value: Any) -> Edit:
    def edit(record: dict[str, Any]) -> None:
        container, key = _walk(record, path)
        container[key] = value

    return edit


def drop(path: str) -> Edit:
    def edit(record: dict[str, Any]) -> None:
        container, key = _walk(record, path)
        del container[key]

    return edit


@pytest.mark.parametrize("case", ROWS, ids=lambda c: c.name)
def test_every_row_expects_a_valid_json_schema(case: Case) -> None:
    if case.answer is not None:  # None: an empty body, no schema
        Draft202012Validator.check_schema(case.answer)


# -- records: the recorded GET responses, one rule broken at a time -----------------------


@pytest.mark.parametrize(
    ("schema", "record"),
    [
        (CONTACT, load_fixture("contact.json")),
        (INDIVIDUAL, load_fixture("individual.json")),
        (EMBEDDED_ADDRESS, load_fixture("contact.json")["address"]),
        (ADDRESS, {**load_fixture("contact.json")["address"], "contactId": 1}),
    ],
    ids=["contact", "individual", "embedded-address", "address"],
)
def test_the_recorded_responses_conform(schema: Schema, record: Any) -> None:
    assert schema_problems(schema, record) == []


IND = "contactIndividuals.0"
METHOD = f"{IND}.contactMethods.0"
BROKEN_CONTACTS: list[tuple[str, str, Edit]] = [
    # (test id, the key the problem must name, the break)
    ("id-as-string", "id", set_("id", "1")),
    ("id-as-float", "id", set_("id", 1.0)),
    ("id-as-bool", "id", set_("id", True)),
    ("bool-as-string", "isPrivate", set_("isPrivate", "true")),
    ("bool-null", "isPrivate", set_("isPrivate", None)),
    ("month-as-string", "anniversaryMonth", set_("anniversaryMonth", "6")),
    ("month-13", "anniversaryMonth", set_("anniversaryMonth", 13)),
    ("day-0", "anniversaryDay", set_("anniversaryDay", 0)),
    ("year-not-whole", "anniversaryYear", set_("anniversaryYear", 2010.5)),
    ("merged-into-as-string", "mergedIntoContactId", set_("mergedIntoContactId", "7")),
    ("timestamp-zulu", "modifiedDateTimeUtc", set_("modifiedDateTimeUtc", "2023-11-30T14:20:56Z")),
    (
        "timestamp-offset",
        "createDateTimeUtc",
        set_("createDateTimeUtc", "2023-11-30T14:20:56.34+00:00"),
    ),
    (
        "timestamp-8-fraction-digits",
        "modifiedDateTimeUtc",
        set_("modifiedDateTimeUtc", "2023-11-30T14:20:56.12345678"),
    ),
    ("timestamp-date-only", "modifiedDateTimeUtc", set_("modifiedDateTimeUtc", "2023-11-30")),
    ("money-as-number", "giftAskAmount", set_("giftAskAmount", 1200)),
    ("money-unformatted", "lifeToDateGiving", set_("lifeToDateGiving", "1200.00")),
    ("gift-date-iso", "lastGiftDate", set_("lastGiftDate", "2024-01-01")),
    ("address-as-array", "address", set_("address", [])),
    ("address-state-null", "state", set_("address.state", None)),
    ("address-without-id", "id", drop("address.id")),
    ("address-month-as-string", "startMonth", set_("address.startMonth", "1")),
    ("is-archived-shown", "isArchived", set_("isArchived", False)),
    ("name-missing", "name", drop("name")),
    ("birth-date-iso", "birthDate", set_(f"{IND}.birthDate", "1998-09-04")),
    ("deceased-date-null", "deceasedDate", set_(f"{IND}.deceasedDate", None)),
    ("nested-bool-as-string", "isDeceased", set_(f"{IND}.isDeceased", "false")),
    ("method-bool-as-int", "isOptedIn", set_(f"{METHOD}.isOptedIn", 0)),
    ("individuals-as-object", "contactIndividuals", set_("contactIndividuals", {})),
    ("tag-as-number", "tags", set_("tags", [7])),
    ("custom-field-without-display-name", "displayName", set_("customFields", [{"name": "x"}])),
    (
        "reference-id-as-int",
        "contactReferences",
        set_("contactReferences", [{"source": "P", "id": 7}]),
    ),
    ("url-elsewhere", "contactGiftsUrl", set_("contactGiftsUrl", "https://example.org/gifts")),
]


@pytest.mark.parametrize(
    ("key", "edit"),
    [(key, edit) for _, key, edit in BROKEN_CONTACTS],
    ids=[n for n, *_ in BROKEN_CONTACTS],
)
def test_a_contact_breaking_one_type_rule_is_caught(key: str, edit: Edit) -> None:
    contact = copy.deepcopy(load_fixture("contact.json"))
    edit(contact)
    problems = schema_problems(CONTACT, contact)
    assert problems, "the checker let a broken contact through"
    assert any(key in problem for problem in problems), problems


# -- whole answers: status, headers, empty bodies, envelopes -------------------------------


def json_answer(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers={**RATE_LIMIT, **headers})


def empty_answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={**RATE_LIMIT, **headers})


def without(response: httpx.Response, header: str) -> httpx.Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() != header.lower()}
    return httpx.Response(response.status_code, content=response.content, headers=headers)


DENIED = {"message": "Authorization has been denied for this request."}
MODEL = {"message": "The request is invalid.", "modelState": {"contact.isPrivate": ["bad"]}}
INVALID = {
    "error": {
        "code": "ValidationFailed",
        "message": "One or more fields are invalid.",
        "details": [{"field": "contact.name", "code": "Required", "message": "Name is required."}],
    }
}
PAGE = {"list": [load_fixture("contact.json")], "total": 1}
# (test id, the answer, status, schema or None for empty, extra integer headers)
Expected = tuple[str, httpx.Response, int, Schema | None, tuple[str, ...]]
GOOD_ANSWERS: list[Expected] = [
    ("contact", json_answer(200, load_fixture("contact.json")), 200, CONTACT, ()),
    ("empty-404", empty_answer(404), 404, None, ()),
    ("archive-200", empty_answer(200), 200, None, ()),
    ("page", json_answer(200, PAGE), 200, page(total=1), ()),
    ("message-400", json_answer(400, {"message": "bad"}), 400, MESSAGE, ()),
    ("model-state-400", json_answer(400, MODEL), 400, MODEL_STATE, ()),
    ("denied-401", json_answer(401, DENIED), 401, UNAUTHORISED, ()),
    ("conflict-409", json_answer(409, {"message": "taken"}), 409, MESSAGE, ()),
    ("invalid-422", json_answer(422, INVALID), 422, VALIDATION_FAILED, ()),
    (
        "model-state-naming-its-key",
        json_answer(400, MODEL),
        400,
        model_state_naming("contact.isPrivate"),
        (),
    ),
    (
        "invalid-422-on-its-field",
        json_answer(422, INVALID),
        422,
        validation_failed_on("contact.name", "Required"),
        (),
    ),
    ("limited-429", json_answer(429, {}, **{"Retry-After": "60"}), 429, {}, ("Retry-After",)),
]
BAD_ANSWERS: list[Expected] = [
    ("wrong-status", json_answer(201, load_fixture("contact.json")), 200, CONTACT, ()),
    ("no-remaining-header", without(empty_answer(404), "X-RateLimit-Remaining"), 404, None, ()),
    ("reset-not-a-number", empty_answer(404, **{"X-RateLimit-Reset": "soon"}), 404, None, ()),
    ("reset-as-a-delay", empty_answer(404, **{"X-RateLimit-Reset": "3600"}), 404, None, ()),
    (
        "remaining-above-limit",
        empty_answer(404, **{"X-RateLimit-Remaining": "5001"}),
        404,
        None,
        (),
    ),
    (
        "retry-after-a-date",
        json_answer(429, {}, **{"Retry-After": "Fri, 31 Dec 1999"}),
        429,
        {},
        ("Retry-After",),
    ),
    ("404-with-a-body", json_answer(404, {"message": "Not found"}), 404, None, ()),
    ("archive-with-a-body", json_answer(200, {}), 200, None, ()),
    ("429-without-retry-after", json_answer(429, {}), 429, {}, ("Retry-After",)),
    (
        "json-as-text",
        httpx.Response(200, text='{"message": "x"}', headers=RATE_LIMIT),
        200,
        MESSAGE,
        (),
    ),
    ("not-json", httpx.Response(400, text="Bad", headers=RATE_LIMIT), 400, MESSAGE, ()),
    (
        "401-plain-text",
        httpx.Response(401, text="Unauthorized", headers=RATE_LIMIT),
        401,
        UNAUTHORISED,
        (),
    ),
    ("401-other-message", json_answer(401, {"message": "No."}), 401, UNAUTHORISED, ()),
    ("400-extra-key", json_answer(400, {**MODEL, "code": 7}), 400, MODEL_STATE, ()),
    (
        "model-state-not-a-list",
        json_answer(400, {**MODEL, "modelState": {"contact.x": "bad"}}),
        400,
        MODEL_STATE,
        (),
    ),
    ("model-state-empty", json_answer(400, {**MODEL, "modelState": {}}), 400, MODEL_STATE, ()),
    ("422-old-shape", json_answer(422, {"message": "invalid"}), 422, VALIDATION_FAILED, ()),
    (
        "model-state-naming-another-key",
        json_answer(400, MODEL),
        400,
        model_state_naming("contact.name"),
        (),
    ),
    (
        "model-state-naming-still-exact",  # pinning a key keeps the envelope exact
        json_answer(400, {**MODEL, "code": 7}),
        400,
        model_state_naming("contact.isPrivate"),
        (),
    ),
    (
        "422-on-another-code",
        json_answer(422, INVALID),
        422,
        validation_failed_on("contact.name", "OutOfRange"),
        (),
    ),
    (
        "422-on-another-field",
        json_answer(422, INVALID),
        422,
        validation_failed_on("contact.contactType", "Required"),
        (),
    ),
    (
        "422-no-details",
        json_answer(422, {"error": {**INVALID["error"], "details": []}}),
        422,
        VALIDATION_FAILED,
        (),
    ),
    ("page-total-as-string", json_answer(200, {**PAGE, "total": "1"}), 200, page(), ()),
    ("page-extra-key", json_answer(200, {**PAGE, "hasMore": False}), 200, page(), ()),
    ("page-without-total", json_answer(200, {"list": []}), 200, page(), ()),
    ("page-longer-than-take", json_answer(200, PAGE), 200, page(max_items=0), ()),
    ("page-wrong-total", json_answer(200, PAGE), 200, page(total=2), ()),
    (
        "by-contact-two-primaries",
        json_answer(200, [load_fixture("contact.json")["address"]] * 2),
        200,
        exactly_one(array_of(EMBEDDED_ADDRESS), PRIMARY),
        (),
    ),
    (
        "by-contact-without-contact-id",
        json_answer(200, [load_fixture("contact.json")["address"]]),
        200,
        array_of(ADDRESS),
        (),
    ),
]


def _params(answers: list[Expected]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        ("response", "status", "answer", "headers"),
        [answer[1:] for answer in answers],
        ids=[answer[0] for answer in answers],
    )


@_params(GOOD_ANSWERS)
def test_a_conforming_answer_passes(
    response: httpx.Response, status: int, answer: Schema | None, headers: tuple[str, ...]
) -> None:
    assert answer_problems(response, status=status, answer=answer, headers=headers) == []


@_params(BAD_ANSWERS)
def test_a_wrong_answer_is_caught(
    response: httpx.Response, status: int, answer: Schema | None, headers: tuple[str, ...]
) -> None:
    assert answer_problems(response, status=status, answer=answer, headers=headers) != []
