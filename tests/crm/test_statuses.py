"""Every status of the API's error table becomes the documented exception, with its data."""

from __future__ import annotations

import pytest

from syncengine.crm import CrmClient, RetryPolicy
from syncengine.crm.translate import field_path
from syncengine.errors import (
    CrmAuthError,
    CrmDuplicateValue,
    CrmError,
    CrmNotFound,
    CrmRateLimited,
    CrmServerError,
    CrmValidationError,
    FieldProblem,
)
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeCrm


@pytest.fixture
def once(make_client: MakeClient) -> CrmClient:
    """A client that never retries, so one canned answer is the whole story."""
    return make_client(retry=RetryPolicy(max_attempts=1))


def test_400_with_model_state_lists_each_field_without_the_model_prefix(
    once: CrmClient, server: FakeCrm
) -> None:
    server.then(
        "PUT",
        "/api/Contact/1",
        respond(
            400,
            json={
                "message": "The request is invalid.",
                "modelState": {
                    "contact.isPrivate": ["Could not convert string to boolean: yes."],
                    "contact.address.city": ["Too long.", "Bad characters."],
                },
            },
        ),
    )
    with pytest.raises(CrmValidationError) as caught:
        once.put_contact(1, {"isPrivate": "yes"})
    error = caught.value
    assert error.message == "The request is invalid."
    assert error.problems == (
        FieldProblem("isPrivate", "Could not convert string to boolean: yes."),
        FieldProblem("address.city", "Too long."),
        FieldProblem("address.city", "Bad characters."),
    )
    assert (error.method, error.url_path, error.status) == ("PUT", "/api/Contact/1", 400)


def test_400_with_only_a_message_has_no_field_problems(once: CrmClient, server: FakeCrm) -> None:
    server.then("GET", "/api/Contact/1", respond(400, json={"message": "Malformed JSON."}))
    with pytest.raises(CrmValidationError) as caught:
        once.get_contact(1)
    assert caught.value.message == "Malformed JSON."
    assert caught.value.problems == ()


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("contact.isPrivate", "isPrivate"),
        ("Contact.IsPrivate", "IsPrivate"),
        ("contact.contactIndividuals[0].firstName", "contactIndividuals[0].firstName"),
        ("address.city", "address.city"),  # a real nested path, not a model prefix
        ("isPrivate", "isPrivate"),
        ("contact", ""),
        ("$.anniversaryYear", "anniversaryYear"),
    ],
)
def test_model_state_keys_become_field_paths(key: str, path: str) -> None:
    assert field_path(key) == path


@pytest.mark.parametrize(
    "answer",
    [
        respond(401, text="Unauthorized"),
        respond(401, json={"message": "Authorization has been denied for this request."}),
    ],
)
def test_401_plain_text_or_json_is_an_auth_error(
    once: CrmClient, server: FakeCrm, answer: object
) -> None:
    server.then("GET", "/api/Contact/1", answer)  # type: ignore[arg-type]
    with pytest.raises(CrmAuthError) as caught:
        once.get_contact(1)
    assert caught.value.status == 401
    assert caught.value.message in {
        "Unauthorized",
        "Authorization has been denied for this request.",
    }


def test_404_with_an_empty_body_is_not_found(once: CrmClient) -> None:
    with pytest.raises(CrmNotFound) as caught:
        once.get_contact(424242)
    assert (caught.value.method, caught.value.url_path, caught.value.status) == (
        "GET",
        "/api/Contact/424242",
        404,
    )


@pytest.mark.parametrize(
    ("message", "value"),
    [
        ("The email address 'jo@example.org' is already in use by contact 17.", "jo@example.org"),
        ("Email jo@example.org already exists", "jo@example.org"),
        ('Reference id "p-9" already belongs to another contact', "p-9"),
        ("Duplicate value", None),
    ],
)
def test_409_is_a_duplicate_value_naming_the_colliding_value(
    once: CrmClient, server: FakeCrm, message: str, value: str | None
) -> None:
    server.then("PUT", "/api/Contact/1", respond(409, json={"message": message}))
    with pytest.raises(CrmDuplicateValue) as caught:
        once.put_contact(1, {})
    assert caught.value.value == value
    assert caught.value.status == 409


def test_409_with_an_empty_body_still_is_a_duplicate_value(
    once: CrmClient, server: FakeCrm
) -> None:
    server.then("PUT", "/api/Contact/1", respond(409))
    with pytest.raises(CrmDuplicateValue) as caught:
        once.put_contact(1, {})
    assert caught.value.value is None


def test_422_lists_the_details_with_their_codes(once: CrmClient, server: FakeCrm) -> None:
    server.then(
        "POST",
        "/api/Contact",
        respond(
            422,
            json={
                "error": {
                    "code": "ValidationFailed",
                    "message": "One or more fields are invalid.",
                    "details": [
                        {"field": "contactType", "code": "Unknown", "message": "Unknown type."},
                        {"field": "contact.birthMonth", "code": "Range", "message": "1 to 12."},
                    ],
                }
            },
        ),
    )
    with pytest.raises(CrmValidationError) as caught:
        once.create_contact({"contactType": "Nope"})
    assert caught.value.message == "One or more fields are invalid."
    assert caught.value.problems == (
        FieldProblem("contactType", "Unknown type.", code="Unknown"),
        FieldProblem("birthMonth", "1 to 12.", code="Range"),
    )
    assert caught.value.status == 422


def test_429_is_rate_limited_with_the_retry_after_seconds(once: CrmClient, server: FakeCrm) -> None:
    server.then("GET", "/api/Contact/1", respond(429, headers={"Retry-After": "17"}))
    with pytest.raises(CrmRateLimited) as caught:
        once.get_contact(1)
    assert caught.value.retry_after == 17
    assert caught.value.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 599])
def test_5xx_and_520_are_server_errors(once: CrmClient, server: FakeCrm, status: int) -> None:
    server.then("GET", "/api/Contact/1", respond(status, text="<html>oops</html>"))
    with pytest.raises(CrmServerError) as caught:
        once.get_contact(1)
    assert caught.value.status == status


@pytest.mark.parametrize("status", [301, 403, 405, 418])
def test_other_statuses_are_plain_crm_errors(once: CrmClient, server: FakeCrm, status: int) -> None:
    server.then("GET", "/api/Contact/1", respond(status))
    with pytest.raises(CrmError) as caught:
        once.get_contact(1)
    assert type(caught.value) is CrmError
    assert caught.value.status == status


def test_a_non_json_body_where_json_is_expected_names_the_endpoint(
    once: CrmClient, server: FakeCrm
) -> None:
    server.then("GET", "/api/Contact/1", respond(200, text="<html>maintenance</html>"))
    with pytest.raises(CrmError) as caught:
        once.get_contact(1)
    assert type(caught.value) is CrmError
    assert "GET /api/Contact/1" in str(caught.value)
    assert "JSON" in str(caught.value)


def test_a_json_body_of_the_wrong_shape_is_a_crm_error(once: CrmClient, server: FakeCrm) -> None:
    server.then("GET", "/api/Contact/1", respond(200, json=[1, 2]))
    with pytest.raises(CrmError, match="object"):
        once.get_contact(1)


def test_error_paths_carry_neither_host_nor_query_string(once: CrmClient, server: FakeCrm) -> None:
    server.then("GET", "/api/Contact/Find", respond(500))
    with pytest.raises(CrmServerError) as caught:
        once.find_contact_by_email("private.person@example.org")
    assert caught.value.url_path == "/api/Contact/Find"
    assert "example.org" not in str(caught.value)
    assert "virtuoussoftware" not in str(caught.value)


def test_long_server_text_is_cut_short_in_the_message(once: CrmClient, server: FakeCrm) -> None:
    server.then("GET", "/api/Contact/1", respond(500, text="x" * 5000))
    with pytest.raises(CrmServerError) as caught:
        once.get_contact(1)
    assert len(caught.value.message) <= 200
