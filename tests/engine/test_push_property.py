"""Property: for random records and random change sets, the record on the
replace-semantics sandbox after ``push`` equals the original with exactly the change set
applied (modulo the server's normalisation: surrounding whitespace trimmed).

The expected record is computed here, independently of the engine's path code: each
candidate change carries its own setter on the raw sandbox record.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncengine.bootstrap import App, open_app
from syncengine.domain.plan import Change
from syncengine.sandbox import SandboxServer
from tests.domain.strategies import contacts
from tests.engine.conftest import engine_settings, snapshot
from tests.fixtures.sandbox import SANDBOX_TOKEN

Setter = Callable[[dict[str, Any], Any], None]


@dataclass(frozen=True)
class Candidate:
    path: str
    values: st.SearchStrategy[Any]
    setter: Setter


def _text() -> st.SearchStrategy[str]:
    word = st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-'", min_size=1, max_size=12)
    padded = st.tuples(st.sampled_from(["", " ", "  "]), word, st.sampled_from(["", " "]))
    return padded.map(lambda t: "".join(t))


def _email() -> st.SearchStrategy[str]:
    return st.integers(0, 10**6).map(lambda n: f"donor{n}@property.example.net")


def _in(
    holder_of: Callable[[dict[str, Any]], dict[str, Any]], key: str, trim: bool = True
) -> Setter:
    """Sets ``key``; ``trim``: the server trims this text field (custom field values are
    org-typed and stored as sent)."""

    def set_value(raw: dict[str, Any], value: Any) -> None:
        holder_of(raw)[key] = value.strip() if trim and isinstance(value, str) else value

    return set_value


def _by_id(items: str, item_id: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda raw: next(i for i in raw[items] if i["id"] == item_id)


def _candidates(raw: dict[str, Any]) -> Iterator[Candidate]:
    """Writable leaves of the seeded record, each with a value strategy and a setter."""
    top = lambda r: r  # noqa: E731 - the record itself holds top-level fields
    for key in ("informalName", "description", "website", "maritalStatus", "name"):
        yield Candidate(key, _text(), _in(top, key))
    yield Candidate("isPrivate", st.booleans(), _in(top, "isPrivate"))
    yield Candidate("anniversaryMonth", st.integers(1, 12), _in(top, "anniversaryMonth"))
    yield Candidate("anniversaryYear", st.integers(1950, 2020), _in(top, "anniversaryYear"))
    for field in raw.get("customFields", []):
        name = field["name"]
        yield Candidate(
            f"customFields[name={name}].value",
            _text(),
            _in(
                lambda r, n=name: next(f for f in r["customFields"] if f["name"] == n),
                "value",
                trim=False,
            ),
        )
    for address in raw.get("contactAddresses", []):
        holder = _by_id("contactAddresses", address["id"])
        prefix = "address" if address.get("isPrimary") else f"addresses[id={address['id']}]"
        for key in ("address1", "city", "postal", "label"):
            setter = _in(holder, key)
            if address.get("isPrimary"):
                setter = _both(setter, _in(lambda r: r["address"], key))
            yield Candidate(f"{prefix}.{key}", _text(), setter)
    for person in raw.get("contactIndividuals", []):
        at = f"contactIndividuals[id={person['id']}]"
        holder = _by_id("contactIndividuals", person["id"])
        for key in ("firstName", "lastName", "nickname", "passion"):
            yield Candidate(f"{at}.{key}", _text(), _in(holder, key))
        for method in person.get("contactMethods", []):
            m_holder = (
                lambda h, mid: lambda r: next(m for m in h(r)["contactMethods"] if m["id"] == mid)
            )(holder, method["id"])
            m_at = f"{at}.contactMethods[id={method['id']}]"
            yield Candidate(f"{m_at}.isOptedIn", st.booleans(), _in(m_holder, "isOptedIn"))
            if "Email" in method["type"]:
                yield Candidate(f"{m_at}.value", _email(), _in(m_holder, "value"))


def _both(first: Setter, second: Setter) -> Setter:
    def set_value(raw: dict[str, Any], value: Any) -> None:
        first(raw, value)
        second(raw, value)

    return set_value


@pytest.fixture
def replace_app(sandbox_replace: SandboxServer, tmp_path: Any) -> Iterator[App]:
    settings_ = engine_settings(sandbox_replace.base_url, f"sqlite:///{tmp_path}/mirror.db")
    with open_app(settings_, {"CRMPLUS_API_TOKEN": SANDBOX_TOKEN}) as app:
        yield app


@pytest.mark.timeout(900)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(record=contacts(with_address=True), data=st.data())
def test_push_applies_exactly_the_change_set_on_the_replace_sandbox(
    replace_app: App, sandbox_replace: SandboxServer, record: dict[str, Any], data: st.DataObject
) -> None:
    sandbox_replace.hooks.reset()
    sandbox_replace.hooks.seed({"contacts": [json.loads(json.dumps(record))]})
    contact_id = record["id"]
    before = snapshot(sandbox_replace, contact_id)
    candidates = {c.path: c for c in _candidates(before)}
    chosen = data.draw(
        st.lists(st.sampled_from(sorted(candidates)), min_size=1, max_size=5, unique=True),
        label="paths",
    )
    changes, expected = [], copy.deepcopy(before)
    for path in chosen:
        value = data.draw(candidates[path].values, label=path)
        changes.append(Change(path, value))
        candidates[path].setter(expected, value)

    replace_app.updater.push(contact_id, changes)

    assert snapshot(sandbox_replace, contact_id) == expected
