"""What a `sync --all` spends, request by request (issue 9's request floor).

A pushed contact costs its GET and its PUT on every write route -- a contact field, the
primary address (PUT ContactAddress), a person's own field (PUT ContactIndividual), a
contact method (through the Contact) -- plus a follow-up GET for a high-stakes field; a
contact changed in CRM+ only is pulled from the bulk query at no further cost; an
unchanged contact costs nothing. Counted from the sandbox's request log: a count, not a
timing, so it is exact.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncengine.bootstrap import open_app
from syncengine.sandbox import LoggedRequest, SandboxServer
from tests.engine.conftest import files_engine_settings
from tests.fixtures.sandbox import SandboxFactory

CONTACTS = range(501, 521)  # 20: the guard's minimum, so the run is a real --all
Document = dict[str, Any]


def _contact(contact_id: int) -> Document:
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "informalName": f"Household {contact_id}",
        "address": {
            "id": _address_id(contact_id),
            "address1": f"{contact_id} Main Street",
            "city": "Springfield",
            "state": "IL",
            "postal": "62701",
            "country": "US",
            "isPrimary": True,
        },
        "contactIndividuals": [
            {
                "id": _individual_id(contact_id),
                "firstName": f"First{contact_id}",
                "lastName": f"Last{contact_id}",
                "isPrimary": True,
                "contactMethods": [
                    {
                        "id": contact_id * 100 + 1,
                        "type": "Home Email",
                        "value": f"donor{contact_id}@example.org",
                        "isPrimary": True,
                    }
                ],
            }
        ],
    }


def _address_id(contact_id: int) -> int:
    return contact_id * 10 + 9


def _individual_id(contact_id: int) -> int:
    return contact_id * 10 + 1


def _set_informal_name(doc: Document) -> None:
    doc["informalName"] = "Changed on the platform"


def _set_city(doc: Document) -> None:
    doc["address"]["city"] = "Shelbyville"


def _set_first_name(doc: Document) -> None:
    doc["contactIndividuals"][0]["firstName"] = "Changed"


def _set_email(doc: Document) -> None:
    doc["contactIndividuals"][0]["contactMethods"][0]["value"] = "changed@example.org"


def _set_name(doc: Document) -> None:
    doc["name"] = "Changed on the platform"  # high-stakes by default


# contact id -> (the platform edit, the requests its push must cost, in order)
PUSHED: dict[int, tuple[Callable[[Document], None], list[str]]] = {
    501: (_set_informal_name, ["GET /api/Contact/501", "PUT /api/Contact/501"]),
    502: (_set_city, ["GET /api/Contact/502", f"PUT /api/ContactAddress/{_address_id(502)}"]),
    503: (
        _set_first_name,
        ["GET /api/Contact/503", f"PUT /api/ContactIndividual/{_individual_id(503)}"],
    ),
    504: (_set_email, ["GET /api/Contact/504", "PUT /api/Contact/504"]),
    505: (_set_name, ["GET /api/Contact/505", "PUT /api/Contact/505", "GET /api/Contact/505"]),
}
EDITED_IN_CRM = 506


def _owner(path: str) -> int | None:
    """The contact a request is about (addresses and people by their seeded ids)."""
    found = re.fullmatch(r"/api/(Contact|ContactAddress|ContactIndividual)/(\d+)", path)
    if found is None:
        return None
    kind, number = found.group(1), int(found.group(2))
    return number if kind == "Contact" else number // 10


def _by_contact(log: list[LoggedRequest]) -> dict[int | None, list[str]]:
    grouped: dict[int | None, list[str]] = defaultdict(list)
    for entry in log:
        grouped[_owner(entry.path)].append(f"{entry.method} {entry.path}")
    return dict(grouped)


def _linked(sandbox_factory: SandboxFactory, folder: Path) -> SandboxServer:
    """The contacts in a sandbox and, the same, as platform documents."""
    folder.mkdir()
    for contact_id in CONTACTS:
        (folder / f"{contact_id}.json").write_text(json.dumps(_contact(contact_id)))
    return sandbox_factory(seed={"contacts": [_contact(i) for i in CONTACTS]})


def test_a_pushed_contact_costs_its_get_and_its_put_on_every_route(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "platform"
    sandbox = _linked(sandbox_factory, folder)
    settings = files_engine_settings(sandbox.base_url, f"sqlite:///{tmp_path}/mirror.db", folder)
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        first = app.runner().run_all(force=True)
        assert not first.failed, first.to_json()
        for contact_id, (edit, _) in PUSHED.items():
            path = folder / f"{contact_id}.json"
            document = json.loads(path.read_text())
            edit(document)
            path.write_text(json.dumps(document))
        sandbox.hooks.ui_edit(EDITED_IN_CRM, {"informalName": "Changed in CRM+"})
        sandbox.hooks.clear_requests()

        run = app.runner().run_all(force=True)

        assert not run.failed, run.to_json()
        summary = run.to_json()["summary"]
        assert (summary["pushed"], summary["pulled"]) == (len(PUSHED), 1)
        spent = _by_contact(sandbox.hooks.requests())
        for contact_id, (_, expected) in PUSHED.items():
            assert spent.pop(contact_id) == expected, contact_id
        # The bulk query's one page (20 contacts) found the CRM+ edit: pulled for free.
        assert spent.pop(None) == ["POST /api/Contact/Query/FullContact"]
        assert spent == {}, "an unchanged or CRM-edited contact cost a request"
        assert json.loads((folder / f"{EDITED_IN_CRM}.json").read_text())["informalName"] == (
            "Changed in CRM+"
        )
