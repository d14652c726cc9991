"""The set-up the sync benchmarks share: N contacts in a CRM+ sandbox and the same N as
documents in a `files` platform folder, with the settings of an engine over both.

The sandbox is served from a child process, so the benchmark's own CPU time
(`time.process_time()`) is the client's alone -- the engine's or the naive loop's -- and
not the simulated CRM+'s answering it. Its test hooks are reached over HTTP
(`/_sandbox/...`), as a partner's rehearsal would.

    with build_scenario(1000) as scenario:
        with open_app(scenario.settings, scenario.secrets) as app:
            app.runner().run_all(force=True)      # link: the first sync
            scenario.change_on_platform(scenario.ids[:10])
            ...
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from scratch_databases import scratch_database

from syncengine.config import (
    CrmSettings,
    DatabaseSettings,
    GuardConfig,
    LocalSettings,
    RateLimitSettings,
    Settings,
    SyncSettings,
)
from syncengine.sandbox import SandboxServer, SandboxSettings

TOKEN = "bench-token-0123456789"
SPREAD_FROM = datetime(2023, 1, 1, tzinfo=UTC)
FIRST_ID = 100_000
HOOKS = "/_sandbox"


# Every contact's stamp by default: one day, so every bulk refresh's window (the day
# before the newest stamp on) holds them all: the worst case, every run reading every
# contact.
SAME_DAY = "2024-05-01T10:00:00.5"


def seed_contact(contact_id: int, *, spread: bool = False) -> dict[str, Any]:
    """A household with one person, one email and a primary address: every write route.

    ``spread``: stamped an hour apart from 2023-01-01 on (10,000 contacts span 14 months),
    as an organisation's contacts are, so a refresh's window holds a day or two of them."""
    stamp = SAME_DAY
    if spread:
        moment = SPREAD_FROM + timedelta(hours=contact_id - FIRST_ID)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.5")
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "informalName": f"Household {contact_id}",
        "modifiedDateTimeUtc": stamp,
        "address": {
            "id": contact_id * 10 + 9,
            "address1": f"{contact_id} Main Street",
            "city": "Springfield",
            "state": "IL",
            "postal": "62701",
            "country": "US",
            "isPrimary": True,
        },
        "contactIndividuals": [
            {
                "id": contact_id * 10 + 1,
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


# The platform edits a benchmark can make, by the write route each one takes (docs/safe-update.md).
EDITS = ("contact", "address", "individual", "method", "high-stakes")


def platform_document(
    contact_id: int, *, edit: str | None = None, edition: int = 1
) -> dict[str, Any]:
    """The platform's copy of a contact: the whole record, as a first sync writes it.

    ``edit`` names a platform edit (``EDITS``), ``edition`` tells successive edits apart:
    "contact" changes ``informalName`` (PUT Contact), "address" the primary address's city
    (PUT ContactAddress), "individual" a person's first name (PUT ContactIndividual),
    "method" a person's email (PUT Contact: methods go through the parent), "high-stakes"
    the contact's ``name`` (PUT Contact and a follow-up GET)."""
    document = seed_contact(contact_id)
    del document["modifiedDateTimeUtc"]  # CRM+'s, not the platform's
    person = document["contactIndividuals"][0]
    tag = f"{edition}"
    if edit == "contact":
        document["informalName"] += f" (edit {tag})"
    elif edit == "address":
        document["address"]["city"] = f"Shelbyville {tag}"
    elif edit == "individual":
        person["firstName"] += f"-{tag}"
    elif edit == "method":
        person["contactMethods"][0]["value"] = f"donor{contact_id}.{tag}@example.org"
    elif edit == "high-stakes":
        document["name"] += f" (edit {tag})"
    elif edit is not None:
        raise ValueError(f"unknown edit {edit!r}: one of {', '.join(EDITS)}")
    return document


class RemoteSandbox:
    """A sandbox served by a child process, and its test hooks over HTTP."""

    def __init__(self, base_url: str, token: str, pid: int) -> None:
        self.base_url = base_url
        self.token = token
        self.pid = pid
        self._hooks = httpx.Client(base_url=f"{base_url}{HOOKS}", timeout=120)

    def requests(self) -> list[dict[str, Any]]:
        """The API requests served since the last ``clear_requests``, as logged."""
        answer = self._hooks.get("/requests")
        answer.raise_for_status()
        entries: list[dict[str, Any]] = answer.json()
        return entries

    def clear_requests(self) -> None:
        self._hooks.delete("/requests").raise_for_status()

    def ui_edit(self, contact_id: int, changes: dict[str, Any]) -> None:
        """A change made in the CRM+ UI (not through the API: it is not logged)."""
        self._hooks.post(f"/contacts/{contact_id}/ui-edit", json=changes).raise_for_status()

    def cpu_seconds(self) -> float:
        """The sandbox process's CPU time so far (user and system; Linux's /proc)."""
        return process_cpu_seconds(self.pid)

    def set_latency(self, seconds: float) -> None:
        self._hooks.put("/latency", json={"seconds": seconds}).raise_for_status()

    def close(self) -> None:
        self._hooks.close()


def process_cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user and system; Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _serve(settings: SandboxSettings, seed: Any, pipe: Connection) -> None:
    with SandboxServer(settings, seed=seed) as server:
        pipe.send(server.base_url)
        pipe.recv()  # any message, or the parent's end closing, stops the server


@contextmanager
def sandbox_process(
    contact_ids: Iterable[int],
    *,
    token: str = TOKEN,
    serve: Callable[..., None] = _serve,
    serve_args: tuple[Any, ...] = (),
    spread_stamps: bool = False,
    **options: Any,
) -> Iterator[RemoteSandbox]:
    """A sandbox holding ``seed_contact`` of each id, with test hooks and (unless
    ``options`` say otherwise: ``SandboxSettings`` keywords) a budget no benchmark
    reaches, in a child process for the block's length.

    ``serve(settings, seed, pipe, *serve_args)`` runs in the child: ``_serve``'s protocol
    (send the base URL, serve until a message or the pipe's end), for a benchmark that
    watches the sandbox from inside its process (bench/scale.py)."""
    options.setdefault("hourly_limit", 10_000_000)
    settings = SandboxSettings(token=token, test_hooks=True, **options)
    seed = {"contacts": [seed_contact(i, spread=spread_stamps) for i in contact_ids]}
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=serve, args=(settings, seed, theirs, *serve_args), daemon=True)
    child.start()
    try:
        deadline = time.monotonic() + 60
        while not ours.poll(0.05):
            if not child.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox process did not start")
        assert child.pid is not None  # started above
        sandbox = RemoteSandbox(ours.recv(), token, child.pid)
        try:
            yield sandbox
        finally:
            sandbox.close()
    finally:
        ours.send("stop")
        child.join(10)
        if child.is_alive():
            child.kill()


@dataclass
class Scenario:
    sandbox: RemoteSandbox
    folder: Path
    settings: Settings
    ids: Sequence[int]

    @property
    def secrets(self) -> dict[str, str]:
        return {"CRMPLUS_API_TOKEN": self.sandbox.token}

    def change_on_platform(
        self, contact_ids: Iterable[int], *, edit: str = "contact", edition: int = 1
    ) -> None:
        """The platform edit ``edit`` (see ``platform_document``) of each contact."""
        for contact_id in contact_ids:
            write_document(self.folder, platform_document(contact_id, edit=edit, edition=edition))

    def platform_records(self, contact_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """The platform's documents (all, or those of ``contact_ids``), as read from disk."""
        wanted = self.ids if contact_ids is None else contact_ids
        return [json.loads((self.folder / f"{i}.json").read_text(encoding="utf-8")) for i in wanted]


def write_document(folder: Path, document: dict[str, Any]) -> None:
    (folder / f"{document['id']}.json").write_text(json.dumps(document), encoding="utf-8")


@contextmanager
def build_scenario(
    contacts: int,
    *,
    postgres: bool = False,
    sandbox_options: dict[str, Any] | None = None,
    spread_stamps: bool = False,
) -> Iterator[Scenario]:
    """``contacts`` contacts in a sandbox process (``sandbox_options``: ``SandboxSettings``
    keywords; ``spread_stamps``: see ``seed_contact``) and a platform folder, not yet
    linked; settings for a `files` platform over a scratch database, with the guard off
    (a benchmark changes more than the guard allows on purpose)."""
    ids = range(FIRST_ID, FIRST_ID + contacts)
    with (
        sandbox_process(ids, spread_stamps=spread_stamps, **(sandbox_options or {})) as sandbox,
        tempfile.TemporaryDirectory() as scratch,
        scratch_database(postgres) as url,
    ):
        folder = Path(scratch) / "platform"
        folder.mkdir()
        for contact_id in ids:
            write_document(folder, platform_document(contact_id))
        settings = Settings(
            crm=CrmSettings(base_url=sandbox.base_url, rate_limit=RateLimitSettings(reserve=0)),
            database=DatabaseSettings(url=url),
            local=LocalSettings(adapter="files", path=str(folder)),
            sync=SyncSettings(guard=GuardConfig(min_contacts=10**9)),
        )
        yield Scenario(sandbox, folder, settings, ids)
