"""A ``sync --all`` that must stop still says what it did; a failure that concerns one
contact stays that contact's. Real commands, the sandbox over loopback, a files platform.

Before: an immutable platform file stopped the whole run, and after a 401 in the middle
of a run the contacts already pushed were not reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.cli.test_sync_cli import edit, run, workdir

__all__ = ["workdir"]  # a fixture, imported for pytest


CONTACTS = (4817, 4818, 4819)


@pytest.fixture
def synced(workdir: Path, sandbox_replace: SandboxServer) -> Path:
    for contact_id in CONTACTS:
        first = run(workdir, sandbox_replace, "sync", "--contact", str(contact_id))
        assert first.exit_code == 0, first.output
    for contact_id in CONTACTS:
        edit(workdir, contact_id, description=f"portal note {contact_id}")
    sandbox_replace.hooks.clear_requests()
    return workdir


def test_a_refused_token_mid_run_stops_it_and_what_was_pushed_is_still_reported(
    synced: Path, sandbox_replace: SandboxServer
) -> None:
    sandbox_replace.hooks.add_fault(Fault("PUT", r"^/api/Contact/4818$", status=401))

    result = run(synced, sandbox_replace, "sync", "--all", "--force")

    assert result.exit_code == 1
    assert "CRM+ refused the API token" in result.stderr
    # Whatever order the contacts ran in (several at once, by default): a contact is
    # reported pushed exactly when CRM+ holds its write, the refused one is not, and
    # every other is counted as not reached.
    raw = sandbox_replace.hooks.raw_contact
    pushed = [c for c in CONTACTS if f"contact {c}: pushed" in result.stdout]
    assert 4818 not in pushed
    for contact_id in CONTACTS:
        written = raw(contact_id)["description"] == f"portal note {contact_id}"
        assert written == (contact_id in pushed), contact_id
    left = len(CONTACTS) - len(pushed)
    assert f"STOPPED part-way: {left} contact(s) not reached" in result.stdout

    as_json = run(synced, sandbox_replace, "sync", "--all", "--force", "--json")
    assert as_json.exit_code == 0, as_json.output
    # The next run finishes the job: the cursor and the platform scan did not pass over
    # what the stopped run left.
    assert raw(4818)["description"] == "portal note 4818"
    assert raw(4819)["description"] == "portal note 4819"


def test_a_refused_token_mid_run_in_json_carries_the_reason(
    synced: Path, sandbox_replace: SandboxServer
) -> None:
    sandbox_replace.hooks.add_fault(Fault("PUT", r"^/api/Contact/4818$", status=401))
    result = run(synced, sandbox_replace, "sync", "--all", "--force", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["aborted"]["error"] == "CrmAuthError"
    pushed = {c["contact_id"] for c in payload["contacts"] if c["outcome"] == "pushed"}
    assert 4818 not in pushed and payload["summary"]["pushed"] == len(pushed)
    assert payload["summary"]["not_reached"] == len(CONTACTS) - len(pushed)
    raw = sandbox_replace.hooks.raw_contact
    assert {c for c in CONTACTS if raw(c)["description"] == f"portal note {c}"} == pushed


@pytest.fixture
def immutable(synced: Path) -> Iterator[Path]:
    path = synced / "platform" / "4818.json"
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {made.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_an_unwritable_platform_file_fails_its_contact_and_the_run_goes_on(
    synced: Path, immutable: Path, sandbox_replace: SandboxServer
) -> None:
    # A CRM-side change must be written to the immutable file.
    sandbox_replace.hooks.ui_edit(4818, {"website": "https://ui.example.org"})

    result = run(synced, sandbox_replace, "sync", "--all", "--force", "--json")

    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    failed = [c for c in payload["contacts"] if c["outcome"] == "failed"]
    assert [c["contact_id"] for c in failed] == [4818]
    assert "4818.json" in failed[0]["error"] and "not permitted" in failed[0]["error"]
    raw = sandbox_replace.hooks.raw_contact
    assert raw(4817)["description"] == "portal note 4817"
    assert raw(4819)["description"] == "portal note 4819"
    assert payload["aborted"] is None
