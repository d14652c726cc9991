"""A person added on the platform with a contact method of their own reaches CRM+."""

from __future__ import annotations

from typing import Any

from syncengine.bootstrap import App
from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, app, outcome, platform

__all__ = ["app", "platform"]  # fixtures, imported for pytest


def add_jo_with_email(doc: dict[str, Any]) -> None:
    doc["contactIndividuals"].append(
        {
            "firstName": "Jo",
            "lastName": "Smith",
            "contactMethods": [
                {"type": "Home Email", "value": "jo@example.org", "isPrimary": True}
            ],
        }
    )


def test_a_new_person_with_an_email_reaches_crm(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, add_jo_with_email)

    report = outcome(app)

    assert report.outcome == "pushed", report
    people = sandbox.hooks.raw_contact(CONTACT)["contactIndividuals"]
    (jo,) = [p for p in people if p.get("firstName") == "Jo"]
    assert [m["value"] for m in jo["contactMethods"]] == ["jo@example.org"]
