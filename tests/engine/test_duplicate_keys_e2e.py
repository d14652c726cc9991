"""Two platform items a path cannot tell apart (two new people named alike, one id-less
contact method typed twice), end to end: the engine, a platform, the sandbox over
loopback HTTP. Nothing may vanish: the first item reaches CRM+, the second stays on the
platform and waits, as a conflict held from run to run, for a person to tell them apart."""

from __future__ import annotations

from typing import Any

import pytest

from syncengine.bootstrap import App
from syncengine.domain.ports import ConflictStatus
from syncengine.errors import LocalDataError
from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, ELEANOR, app, outcome, platform, puts

__all__ = ["app", "platform"]  # fixtures, imported for pytest

JO = "contactIndividuals[firstName=Jo,lastName=Smith]"


def jo_smith(nickname: str) -> dict[str, Any]:
    # No contact methods: not what this tests (a new person with one: see
    # test_new_person_with_method_e2e.py).
    return {"firstName": "Jo", "lastName": "Smith", "nickname": nickname}


def nicknames(people: list[dict[str, Any]], first: str, last: str) -> list[str]:
    return [
        p["nickname"] for p in people if (p.get("firstName"), p.get("lastName")) == (first, last)
    ]


def add_two_jo_smiths(doc: dict[str, Any]) -> None:
    doc["contactIndividuals"] += [jo_smith("Jo"), jo_smith("Junior")]


def test_two_new_people_with_one_name_the_second_is_held_as_a_conflict_and_kept(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, add_two_jo_smiths)
    report = outcome(app)
    assert report.conflicts == [JO]
    # CRM+ got the first Jo Smith only: never an ambiguous pair.
    crm = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    assert nicknames(crm, "Jo", "Smith") == ["Jo"]
    # The platform keeps both.
    doc = platform.read(CONTACT)
    assert doc is not None
    assert nicknames(doc["contactIndividuals"], "Jo", "Smith") == ["Jo", "Junior"]
    (row,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
    assert (row.path, row.rule) == (JO, "duplicate-natural-key")
    assert nicknames([row.platform], "Jo", "Smith") == ["Junior"]
    assert nicknames([row.crm], "Jo", "Smith") == ["Jo"]

    # The next runs hold it: no write either way, the same one conflict, both items kept.
    for _ in range(2):
        sandbox.hooks.clear_requests()
        assert outcome(app).conflicts == [JO]
        assert puts(sandbox) == []
        (held,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
        assert (held.id, held.path, held.rule) == (row.id, JO, "duplicate-natural-key")
    doc = platform.read(CONTACT)
    assert doc is not None
    assert len(nicknames(doc["contactIndividuals"], "Jo", "Smith")) == 2

    # Told apart on the platform, the second one is its own person: it reaches CRM+. The
    # conflict, like every conflict, waits for a person to close it: deciding for the
    # first Jo Smith as CRM+ holds it now names one item on each side, and changes
    # nothing of the other.
    def rename_second(doc: dict[str, Any]) -> None:
        jos = [p for p in doc["contactIndividuals"] if p.get("firstName") == "Jo"]
        jos[-1]["firstName"] = "Joanna"

    platform.edit(CONTACT, rename_second)
    assert outcome(app).conflicts == []
    crm = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    assert nicknames(crm, "Jo", "Smith") == ["Jo"]
    assert nicknames(crm, "Joanna", "Smith") == ["Junior"]
    (still,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
    app.conflicts.resolve(still.id or 0, still.crm, resolved_by="dm", at=app.clock.now())
    assert outcome(app).outcome != "failed"
    assert app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT) == []
    crm = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    doc = platform.read(CONTACT)
    assert doc is not None
    for people in (crm, doc["contactIndividuals"]):
        assert nicknames(people, "Jo", "Smith") == ["Jo"]
        assert nicknames(people, "Joanna", "Smith") == ["Junior"]
    assert outcome(app).outcome == "unchanged"


def test_a_decision_at_a_path_naming_two_items_fails_loudly_and_writes_nothing(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, add_two_jo_smiths)
    outcome(app)
    (row,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
    app.conflicts.resolve(row.id or 0, row.platform, resolved_by="dm", at=app.clock.now())
    before = platform.read(CONTACT)
    sandbox.hooks.clear_requests()
    # Refused before anything is written: a guess would overwrite one Jo Smith.
    with pytest.raises(LocalDataError, match="2 items of 'contactIndividuals' match"):
        outcome(app)
    assert puts(sandbox) == []
    assert platform.read(CONTACT) == before


def test_a_contact_method_typed_twice_the_copy_is_held_as_a_conflict_and_kept(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    new = {"type": "Home Email", "value": "nell@example.org", "isOptedIn": True}

    def add_twice(doc: dict[str, Any]) -> None:
        person = next(p for p in doc["contactIndividuals"] if p.get("id") == ELEANOR)
        person["contactMethods"] += [new, {**new, "isOptedIn": False}]

    platform.edit(CONTACT, add_twice)
    path = (
        f"contactIndividuals[id={ELEANOR}].contactMethods[type=Home Email,value=nell@example.org]"
    )
    assert outcome(app).conflicts == [path]
    crm = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    eleanor = next(p for p in crm if p["id"] == ELEANOR)
    assert [m["value"] for m in eleanor["contactMethods"]].count("nell@example.org") == 1
    for _ in range(2):
        sandbox.hooks.clear_requests()
        assert outcome(app).conflicts == [path]
        assert puts(sandbox) == []
    doc = platform.read(CONTACT)
    assert doc is not None
    person = next(p for p in doc["contactIndividuals"] if p.get("id") == ELEANOR)
    assert [m["isOptedIn"] for m in person["contactMethods"] if m["value"] == new["value"]] == [
        True,
        False,
    ]


def test_a_crm_rename_of_the_first_of_two_namesakes_waits_loudly_and_loses_nothing(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    """CRM+ renames the Jo Smith it holds while the platform, keeping no ids, holds two:
    which of them is CRM+'s cannot be told, so the rename has nowhere to go. The contact's
    sync fails, naming the two items and what to do, and writes nothing on either side,
    run after run; once someone tells them apart on the platform, CRM+'s rename and every
    other edit arrive and nothing is lost."""
    platform.edit(CONTACT, add_two_jo_smiths)
    assert outcome(app).conflicts == [JO]
    people = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    renamed = [{**p, "firstName": "Joe"} if p.get("firstName") == "Jo" else p for p in people]
    sandbox.hooks.ui_edit(CONTACT, {"contactIndividuals": renamed, "description": "from CRM+"})
    crm_before = sandbox.hooks.raw_contact(CONTACT)

    for _ in range(2):
        before = platform.read(CONTACT)
        sandbox.hooks.clear_requests()
        with pytest.raises(LocalDataError, match="2 items of 'contactIndividuals' match") as err:
            outcome(app)
        assert "Tell them apart on the platform" in str(err.value)
        assert puts(sandbox) == []
        assert platform.read(CONTACT) == before
        assert sandbox.hooks.raw_contact(CONTACT) == crm_before

    def rename_second(doc: dict[str, Any]) -> None:
        jos = [p for p in doc["contactIndividuals"] if p.get("firstName") == "Jo"]
        jos[-1]["firstName"] = "Joanna"

    platform.edit(CONTACT, rename_second)
    assert outcome(app).outcome != "failed"
    doc = platform.read(CONTACT)
    assert doc is not None
    assert doc["description"] == "from CRM+"
    assert nicknames(doc["contactIndividuals"], "Joe", "Smith") == ["Jo"]
    assert nicknames(doc["contactIndividuals"], "Joanna", "Smith") == ["Junior"]
    crm = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    assert nicknames(crm, "Joe", "Smith") == ["Jo"]
    assert nicknames(crm, "Joanna", "Smith") == ["Junior"]
