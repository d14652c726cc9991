"""``syncengine demo``: the safe update next to a naive partial PUT, under both semantics.

For each scenario and each PUT semantics (replace, patch), on a fresh in-process sandbox:

- naive: ``PUT /api/Contact/{id}`` with only the fields being changed (what a client
  generated from the spec, or a hurried integration, sends);
- safe: ``SafeUpdater.push`` (GET, apply, PUT the complete record, verify).

Then it compares what each left on the record with what was meant, field by field. The
naive PUT loses fields under replace semantics; the safe update loses nothing under both.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from syncengine.bootstrap import open_app
from syncengine.config import CrmSettings, DatabaseSettings, Settings
from syncengine.domain.diff import FieldChange, diff
from syncengine.domain.plan import parse_assignment
from syncengine.domain.ports import Record
from syncengine.sandbox import PutSemantics, SandboxServer, SandboxSettings

CONTACT_ID = 4821


@dataclass(frozen=True)
class Scenario:
    title: str
    assignments: tuple[str, ...]
    # The naive client's body: the fields it means to change, as it would send them, plus
    # the two it knows CRM+ requires (without them a replace-semantics PUT is refused).
    naive_changes: Callable[[Record], Record]

    def naive_body(self, record: Record) -> Record:
        required = {k: record[k] for k in ("id", "contactType", "name")}
        return {**required, **self.naive_changes(record)}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "address change",
        ("address.city=Denver", "address.address1=1600 Glenarm Place"),
        lambda r: {
            "address": {
                "id": r["address"]["id"],
                "city": "Denver",
                "address1": "1600 Glenarm Place",
            }
        },
    ),
    Scenario(
        "primary email change",
        (
            "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value="
            "eleanor@new.example.org",
        ),
        lambda r: {
            "contactIndividuals": [
                {
                    "id": 48211,
                    "contactMethods": [{"id": 482111, "value": "eleanor@new.example.org"}],
                }
            ]
        },
    ),
    Scenario(
        "mark an individual deceased",
        ("contactIndividuals[id=48212].isDeceased=true",),
        lambda r: {"contactIndividuals": [{"id": 48212, "isDeceased": True}]},
    ),
    Scenario(
        "custom field change",
        ("customFields[name=Shirt Size].value=XL",),
        lambda r: {"customFields": [{"name": "Shirt Size", "value": "XL"}]},
    ),
    Scenario(
        "add a contact reference",
        ('contactReferences[+]={"source": "portal", "id": "D-77"}',),
        lambda r: {"contactReferences": [{"source": "portal", "id": "D-77"}]},
    ),
)


@dataclass
class Outcome:
    lost: list[FieldChange] = field(default_factory=list)  # changed but not meant to
    missing: list[str] = field(default_factory=list)  # meant to change but did not
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.lost and not self.missing and self.error is None


@dataclass
class Row:
    scenario: str
    semantics: str
    naive: Outcome
    safe: Outcome


def run_demo(progress: Callable[[str], None] = lambda _msg: None) -> list[Row]:
    rows: list[Row] = []
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="syncengine-demo-") as tmp:
        for semantics in (PutSemantics.REPLACE, PutSemantics.PATCH):
            settings = SandboxSettings(token=token, put_semantics=semantics, test_hooks=True)
            with SandboxServer(settings) as sandbox:
                for scenario in SCENARIOS:
                    progress(f"{semantics.value}: {scenario.title}")
                    db = Path(tmp) / f"{semantics.value}.db"
                    rows.append(_run(sandbox, scenario, semantics.value, f"sqlite:///{db}"))
    return rows


def _run(sandbox: SandboxServer, scenario: Scenario, semantics: str, db_url: str) -> Row:
    # What the safe update meant, as the record it should leave: computed by a dry run of
    # the same engine on a fresh copy, then checked against what each client left.
    sandbox.hooks.reset()
    before = sandbox.hooks.raw_contact(CONTACT_ID)
    settings = Settings(
        crm=CrmSettings(base_url=sandbox.base_url), database=DatabaseSettings(url=db_url)
    )
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        changes = [parse_assignment(a) for a in scenario.assignments]
        plan = app.updater.push(CONTACT_ID, changes, dry_run=True)
        meant = {f.path: f.new for w in plan.writes for f in w.fields}

        naive = _naive_put(sandbox, scenario.naive_body(before))
        naive_after = sandbox.hooks.raw_contact(CONTACT_ID)
        naive.lost, naive.missing = _judge(before, naive_after, meant)

        sandbox.hooks.reset()
        safe = Outcome()
        try:
            app.updater.push(CONTACT_ID, changes)
        except Exception as exc:  # the demo reports every failure instead of stopping
            safe.error = str(exc)
        safe_after = sandbox.hooks.raw_contact(CONTACT_ID)
        safe.lost, safe.missing = _judge(before, safe_after, meant)
    return Row(scenario.title, semantics, naive, safe)


def _naive_put(sandbox: SandboxServer, body: Record) -> Outcome:
    outcome = Outcome()
    response = httpx.put(
        f"{sandbox.base_url}/api/Contact/{CONTACT_ID}",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    if response.status_code >= 400:
        outcome.error = f"HTTP {response.status_code}"
    return outcome


def _judge(
    before: Record, after: Record, meant: dict[str, Any]
) -> tuple[list[FieldChange], list[str]]:
    """Changes nobody meant (lost or damaged fields), and meant changes that did not land."""
    changes = diff(_visible(before), _visible(after))
    lost = [c for c in changes if not any(_covers(m, c) for m in meant)]
    missing = [m for m in meant if not any(_covers(m, c) for c in changes)]
    return lost, missing


def _covers(meant: str, change: FieldChange) -> bool:
    """Is ``change`` the meant change? An append is covered only by an added item, so a
    naive PUT that drops the existing items of the same array still shows as a loss."""
    if meant.endswith("[+]"):
        return change.kind == "add" and change.path.startswith(meant[: -len("+]")])
    return change.path == meant or change.path.startswith((meant + ".", meant + "["))


def _visible(raw: Record) -> Record:
    """The raw record in the GET shape the diff knows, non-primary addresses under the
    ``addresses`` key the path language uses for them."""
    record = {k: v for k, v in raw.items() if k not in ("contactAddresses", "isArchived")}
    record["addresses"] = [a for a in raw.get("contactAddresses", []) if not a.get("isPrimary")]
    return record
