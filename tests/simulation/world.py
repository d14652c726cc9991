"""The whole engine in a simulated world: one CRM+ sandbox (over real loopback HTTP), one
engine database, one platform (files or a SQL table), and the engine's processes acting
on them, with faults injected into CRM+ and crashes into the engine's process.

``run(script, database_url, workdir)`` plays a script and checks the invariants of
``model.py`` after every step and after quiescence; it returns the trace (the steps, what
each did, and the state the sides reached), or raises ``InvariantViolation``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncengine.bootstrap import App, open_app
from syncengine.config import (
    ClaimsConfig,
    DaemonSettings,
    GuardConfig,
    LocalSettings,
    RateLimitSettings,
    RetrySettings,
    Settings,
    SyncSettings,
    TimeoutSettings,
)
from syncengine.domain.plan import Change
from syncengine.domain.ports import ConflictStatus, Priority
from syncengine.engine.manual import ManualWrites
from syncengine.engine.push import SafeUpdater
from syncengine.errors import SyncEngineError
from syncengine.sandbox import PutSemantics, SandboxServer, SandboxSettings
from syncengine.sandbox.faults import Fault
from syncengine.sandbox.operations import CrmOperations
from tests.engine.conftest import engine_settings
from tests.simulation.model import InvariantViolation, Model, check_values
from tests.simulation.script import CONCURRENT_STEPS, ENGINE_STEPS, FIELDS, SEEDED, Script, Step
from tests.simulation.sides import (
    CrmSide,
    Doc,
    FileStorage,
    PlatformStorage,
    TableStorage,
    can_hold,
    field_value,
    new_contact,
    set_field,
)

TOKEN = "sim-token-5e2c9a7f1b3d"
REFERENCE_SOURCE = "portal"
READ_TIMEOUT = 0.25
# Keys every write moves, and keys CRM+ manages itself: not the people's data.
NOT_DATA = frozenset(
    {"modifiedDateTimeUtc", "modifiedByUser", "createDateTimeUtc", "createdByUser", "isArchived"}
)
WRITES = frozenset({"PUT", "POST", "DELETE"})
NEEDS_A_CONTACT = frozenset(
    {
        "platform_edit",
        "crm_edit",
        "sync_one",
        "push",
        "mid_run_edit",
        "crm_merge",
        "crm_archive",
        "platform_remove",
        "webhooks",
        "workers",
        "concurrent",
    }
)


class Crash(BaseException):
    """The engine's process dying: not an Exception, so nothing in the engine catches it."""


# -- the CRM+ sandbox, one per PUT semantics and process ----------------------------------


class OffsetClock:
    """The CRM's clock, ``offset`` seconds away from the engine's (clock skew)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


_SERVERS: dict[str, tuple[SandboxServer, OffsetClock]] = {}


def sandbox_for(semantics: str) -> tuple[SandboxServer, OffsetClock]:
    if semantics not in _SERVERS:
        clock = OffsetClock()
        settings = SandboxSettings(
            token=TOKEN, put_semantics=PutSemantics(semantics), test_hooks=True
        )
        _SERVERS[semantics] = (SandboxServer(settings, clock=clock).start(), clock)
    return _SERVERS[semantics]


def stop_sandboxes() -> None:
    for server, _ in _SERVERS.values():
        server.stop()
    _SERVERS.clear()


# -- crashes: every call the engine makes through a port is counted ------------------------


@dataclass
class Tripwire:
    """Counts the calls made through the wrapped ports; raises ``Crash`` at the chosen
    one (before it runs, or after it ran and before its caller saw the answer), and runs
    ``after_get`` once, after the first contact GET (a CRM edit landing mid-run)."""

    crash_at: int | None = None
    when: str = "before"
    after_get: Callable[[], None] | None = None
    calls: int = 0
    crashed: bool = False

    def call(self, name: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.crash_at and self.when == "before":
            self.crashed = True
            raise Crash(f"before call {self.calls} ({name})")
        result = target(*args, **kwargs)
        if self.calls == self.crash_at:
            self.crashed = True
            raise Crash(f"after call {self.calls} ({name})")
        if name == "crm.get_contact" and self.after_get is not None:
            hook, self.after_get = self.after_get, None
            hook()
        return result


class Wired:
    """A port whose public methods go through the tripwire."""

    def __init__(self, inner: Any, tripwire: Tripwire, label: str) -> None:
        self._inner = inner
        self._tripwire = tripwire
        self._label = label

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr
        label = f"{self._label}.{name}"

        def wired(*args: Any, **kwargs: Any) -> Any:
            return self._tripwire.call(label, attr, *args, **kwargs)

        return wired


def wired_app(app: App, tripwire: Tripwire) -> App:
    """``app`` with its CRM client, journal, mirror, conflicts and platform wired."""
    crm = Wired(app.crm, tripwire, "crm")
    journal = Wired(app.journal, tripwire, "journal")
    mirror = Wired(app.mirror, tripwire, "mirror")
    updater = SafeUpdater(crm, journal, app.clock, app.updater._rules, fence=app.claims)  # type: ignore[arg-type]
    return dataclasses.replace(
        app,
        crm=crm,  # type: ignore[arg-type]
        journal=journal,  # type: ignore[arg-type]
        mirror=mirror,  # type: ignore[arg-type]
        conflicts=Wired(app.conflicts, tripwire, "conflicts"),  # type: ignore[arg-type]
        updater=updater,
        manual=ManualWrites(updater, mirror, app.claims, crm),  # type: ignore[arg-type]
        _platform=Wired(app.platform(), tripwire, "platform"),  # type: ignore[arg-type]
        _runner=None,
        _parts=None,
    )


# -- the world ----------------------------------------------------------------------------


@dataclass
class Figures:
    steps: int = 0
    engine_steps: int = 0
    faults: int = 0
    crashes_planned: int = 0
    crashes: int = 0  # the planned crashes that happened (the step reached that call)
    mid_run_edits: int = 0
    races_lost: int = 0  # mid-run CRM+ edits the engine's PUT overwrote (no If-Match)
    requests: int = 0


@dataclass
class World:
    script: Script
    database_url: str
    workdir: Path
    sandbox: SandboxServer = field(init=False)
    crm: CrmSide = field(init=False)
    storage: PlatformStorage = field(init=False)
    settings: Settings = field(init=False)
    model: Model = field(default_factory=Model)
    figures: Figures = field(default_factory=Figures)
    trace: list[str] = field(default_factory=list)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _app: App | None = None
    _other: App | None = None
    _rest: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _first_seen: dict[int, Doc] = field(default_factory=dict)

    # -- set-up and tear-down ------------------------------------------------------------

    def __enter__(self) -> World:
        self.sandbox, clock = sandbox_for(self.script.semantics)
        self.sandbox.hooks.reset()
        clock.offset = self.script.skew
        self.sandbox.hooks.seed(
            {"contacts": [new_contact(cid, f"The {cid} Household", None) for cid in SEEDED]}
        )
        self.crm = CrmSide(self.sandbox)
        if self.script.platform == "files":
            self.storage = FileStorage(self.workdir / "platform")
            local = LocalSettings(
                adapter="files", path=str(self.workdir / "platform"), **_local_common()
            )
        else:
            table = TableStorage(f"sqlite:///{self.workdir}/portal.db")
            self._stack.callback(table.close)
            self.storage = table
            local = LocalSettings(adapter="sql", path=None, **table.options(), **_local_common())
        base = engine_settings(self.sandbox.base_url, self.database_url)
        self.settings = base.model_copy(
            update={
                "crm": base.crm.model_copy(
                    update={
                        "retry": RetrySettings(
                            max_attempts=3, backoff_initial=0.0, backoff_max=0.0
                        ),
                        "timeouts": TimeoutSettings(read=READ_TIMEOUT),
                        "rate_limit": RateLimitSettings(reserve=0, max_wait=2.0),
                    }
                ),
                "local": local,
                "sync": SyncSettings(
                    default_policy="newest",
                    # A handful of contacts: the bulk guard's shares say nothing here.
                    guard=GuardConfig(min_contacts=1_000_000),
                    claims=ClaimsConfig(ttl=30, wait=5),
                    concurrency=self.script.concurrency,
                ),
                "daemon": DaemonSettings(reports=str(self.workdir / "reports")),
            }
        )
        # The first sync (not under test): every seeded contact pulled to the platform.
        self.app.runner().run_all(force=True)
        crm = self.crm.contacts()
        for doc in self.storage.docs():
            assert doc.contact_id is not None
            self._adopt(doc.contact_id, crm[doc.contact_id], doc.doc)
        return self

    def __exit__(self, *exc: object) -> None:
        self.sandbox.hooks.clear_faults()
        self.sandbox.hooks.set_latency(0)
        self._stack.close()

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = self._open()
        return self._app

    def other(self) -> App:
        """A second process on the same database (its own claims owner)."""
        if self._other is None:
            self._other = self._open()
        return self._other

    def _open(self) -> App:
        return self._stack.enter_context(
            open_app(self.settings, {"CRMPLUS_API_TOKEN": TOKEN}, purpose="simulation")
        )

    def restart(self, dead: App) -> None:
        """The crashed process is gone: its claims expire (here: at once), a new one starts."""
        dead.claims_store.release_all(dead.claims.owner)
        if dead is self._app:
            self._app = None
        if dead is self._other:
            self._other = None

    # -- playing the script ----------------------------------------------------------------

    def play(self) -> list[str]:
        for number, step in enumerate(self.script.steps):
            self.figures.steps += 1
            outcome = self.step(step)
            self.check(f"after step {number} ({step.describe()})")
            # How far a crashed run got is the threads' race when several contacts go
            # at once: only the end state after the next quiet rounds is the same.
            raced = outcome == "crashed" or step.kind in CONCURRENT_STEPS
            state = "*" if raced else self.digest()
            self.trace.append(f"{number:2d}. {step.describe()} -> {outcome} | {state}")
        self.quiesce("at the end")
        self.trace.append(f"end | {self.digest()}")
        self.figures.races_lost = sum(m.races_lost for m in self.model.contacts.values())
        return self.trace

    def step(self, step: Step) -> str:
        handler = getattr(self, f"_do_{step.kind}")
        live = self.live_ids()
        if step.kind in NEEDS_A_CONTACT and not live:
            return "no live contact"
        if step.kind in ENGINE_STEPS:
            self.figures.engine_steps += 1
            return self._engine(step, lambda tripwire: handler(step, live, tripwire))
        return str(handler(step, live))

    def _engine(self, step: Step, action: Callable[[Tripwire], str]) -> str:
        tripwire = Tripwire(*(step.crash or (None, "before")))
        self.figures.crashes_planned += step.crash is not None
        if step.fault:
            self.figures.faults += 1
            for fault in _faults(step.fault):
                self.sandbox.hooks.add_fault(fault)
        before = len(self.sandbox.hooks.requests())
        try:
            return action(tripwire)
        except Crash as crash:
            self.figures.crashes += 1
            return f"crashed {crash}" if self.script.concurrency == 1 else "crashed"
        finally:
            self.sandbox.hooks.clear_faults()
            self.figures.requests += len(self.sandbox.hooks.requests()) - before

    def _runs(self, tripwire: Tripwire) -> App:
        """The app to run this step with: wired for a crash or a mid-run edit."""
        if tripwire.crash_at is None and tripwire.after_get is None:
            return self.app
        return wired_app(self.app, tripwire)

    def _guarded(self, tripwire: Tripwire, run: Callable[[App], str]) -> str:
        app = self._runs(tripwire)
        try:
            return run(app)
        except Crash:
            self.restart(self.app)
            raise
        except SyncEngineError as exc:
            return f"error {type(exc).__name__}"

    def _slot(self, live: list[int], step: Step) -> int:
        return live[int(step.args["slot"]) % len(live)]

    # -- the people's steps ------------------------------------------------------------------

    def _do_platform_edit(self, step: Step, live: list[int]) -> str:
        contact_id = self._slot(live, step)
        name, value = step.args["field"], step.args["value"]
        done = self._platform_edit(contact_id, name, value)
        return f"platform {self._name(contact_id)}" if done else "no such field"

    def _platform_edit(self, contact_id: int, name: str, value: Any) -> bool:
        doc = self.platform_doc(contact_id)
        assert doc is not None, f"contact {contact_id} is not on the platform"
        if not can_hold(doc.doc, name):
            return False
        record = copy.deepcopy(doc.doc)
        set_field(record, name, value)
        self.storage.write(doc.key, record)
        self.model.wrote(contact_id, "platform", name, value)
        return True

    def _do_crm_edit(self, step: Step, live: list[int]) -> str:
        contact_id = self._slot(live, step)
        done = self._crm_edit(contact_id, step.args["field"], step.args["value"])
        return f"crm {self._name(contact_id)}" if done else "no such field"

    def _crm_edit(self, contact_id: int, name: str, value: Any) -> bool:
        if not can_hold(self.crm.contacts()[contact_id], name):
            return False
        self.crm.edit(contact_id, name, value)
        self.model.wrote(contact_id, "crm", name, value)
        return True

    def _do_platform_create(self, step: Step, live: list[int]) -> str:
        key = str(step.args["key"])
        self.storage.add_new(
            key,
            {
                "contactType": "Household",
                "name": f"Portal {key}",
                "description": step.args["value"],
            },
        )
        self.model.creates[key] = None
        return f"new {key}"

    def _do_crm_create(self, step: Step, live: list[int]) -> str:
        contact_id = self.crm.create(str(step.args["key"]), step.args["value"])
        self.model.crm_created.append(contact_id)
        return f"created {self._name(contact_id)}"

    def _do_crm_merge(self, step: Step, live: list[int]) -> str:
        contact_id = self._slot(live, step)
        survivor = self.crm.create(f"survivor of {contact_id}", None)
        self.sandbox.hooks.merge(contact_id, survivor, "pointer")
        self.model.contacts[contact_id].merged_into = survivor
        self.model.crm_created.append(survivor)
        return f"merged {self._name(contact_id)} into {self._name(survivor)}"

    def _do_crm_archive(self, step: Step, live: list[int]) -> str:
        contact_id = self._slot(live, step)
        CrmOperations(self.sandbox.settings, self.sandbox.state).set_archived(contact_id, True)
        # The bulk query leaves archived contacts out (and nothing in a GET tells an
        # archived one apart): CRM-side edits after the archive reach the platform only
        # through `sync --contact`, a webhook or the reconciliation (docs/sync.md). The
        # values are still checked; convergence is not required of `sync --all`.
        self.model.contacts[contact_id].archived = True
        return f"archived {self._name(contact_id)}"

    def _do_platform_remove(self, step: Step, live: list[int]) -> str:
        contact_id = self._slot(live, step)
        doc = self.platform_doc(contact_id)
        assert doc is not None
        self.storage.remove(doc.key)
        self.model.contacts[contact_id].removed = True
        return f"removed {self._name(contact_id)}"

    def _do_quiesce(self, step: Step, live: list[int]) -> str:
        self.quiesce("mid-script")
        return "quiet"

    # -- the engine's steps ------------------------------------------------------------------

    def _do_sync_one(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        contact_id = self._slot(live, step)
        return self._guarded(tripwire, lambda app: _outcomes(app.runner().run_one(contact_id)))

    def _do_sync_all(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        return self._guarded(tripwire, lambda app: _outcomes(app.runner().run_all(force=True)))

    def _do_mid_run_edit(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        """A platform edit to sync, and a CRM+ edit landing between the engine's GET and
        its PUT of the same contact."""
        contact_id = self._slot(live, step)
        name, value = step.args["field"], step.args["value"]
        other = "informalName" if name != "informalName" else "website"
        self._platform_edit(contact_id, other, f"mid-{value}")

        def land() -> None:
            self.figures.mid_run_edits += 1
            before = field_value(self.crm.contacts()[contact_id], name)
            if self._crm_edit(contact_id, name, value):
                # CRM+ has no If-Match: the engine's PUT, already built from its GET, may
                # overwrite this edit (crmplus-api.md: "the later write wins, silently").
                self.model.contacts[contact_id].fields[name].race_before = before

        tripwire.after_get = land
        return self._guarded(tripwire, lambda app: _outcomes(app.runner().run_one(contact_id)))

    def _do_push(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        contact_id = self._slot(live, step)
        return self._guarded(tripwire, lambda app: self._push(app, contact_id, step))

    def _push(self, app: App, contact_id: int, step: Step) -> str:
        name = step.args["field"]
        if not can_hold(self.crm.contacts()[contact_id], name):
            return "no such field"
        value = step.args["value"] if step.args["value"] is not None else "pushed"
        path = "contactIndividuals[isPrimary=true].firstName" if name == "firstName" else name
        history = copy.deepcopy(self.model.contacts[contact_id].fields[name])
        self.model.wrote(contact_id, "push", name, value)
        try:
            report = app.manual.push(contact_id, [Change(path, value)])
        finally:
            # A push that did not reach CRM+ is no write (a crash or fault before the PUT).
            if field_value(self.crm.contacts()[contact_id], name) != value:
                self.model.contacts[contact_id].fields[name] = history
        return f"push {'changed' if report.changed else 'unchanged'}"

    def _do_daemon(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        def tick(app: App) -> str:
            parts = app.daemon_parts()
            counts = [job.run(lambda: False) for job in parts.jobs]
            reports = parts.worker.work()
            return f"jobs {counts} worker {sorted(r.outcome for r in reports)}"

        return self._guarded(tripwire, tick)

    def _do_webhooks(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        """Webhooks for some contacts, duplicated and out of order, then the worker."""
        ids = [live[int(slot) % len(live)] for slot in step.args["slots"]]

        stale = step.args.get("stale")

        def deliver(app: App) -> str:
            parts = app.daemon_parts()
            if stale is not None:
                # A pull queued earlier, carrying the version CRM+ held at the start: it
                # must never be applied over what happened since.
                contact_id = live[int(stale) % len(live)]
                parts.queue.add(
                    contact_id,
                    reason="pull",
                    priority=Priority.PULL,
                    now=app.clock.now(),
                    fresh=self._first_seen[contact_id],
                )
            for contact_id in ids:
                parts.queue.add(
                    contact_id, reason="webhook", priority=Priority.PUSH, now=app.clock.now()
                )
            reports = parts.worker.work()
            return f"worker {sorted(r.outcome for r in reports)}"

        return self._guarded(tripwire, deliver)

    def _do_workers(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        """Webhooks for some contacts, and two workers (two processes) taking them at once."""
        ids = [live[int(slot) % len(live)] for slot in step.args["slots"]]
        first, second = self.app, self.other()
        for contact_id in ids:
            first.daemon_parts().queue.add(
                contact_id, reason="webhook", priority=Priority.PUSH, now=first.clock.now()
            )
        results = _at_once(
            {
                "first": lambda: _outcomes_of(first.daemon_parts().worker.work()),
                "second": lambda: _outcomes_of(second.daemon_parts().worker.work()),
            }
        )
        return " & ".join(f"{k}: {v}" for k, v in sorted(results.items()))

    def _do_concurrent(self, step: Step, live: list[int], tripwire: Tripwire) -> str:
        """A ``sync --all`` and another run at once, in two processes' worth of apps."""
        contact_id = self._slot(live, step)
        first, second = self.app, self.other()
        kind = step.args["other"]
        if kind == "push":
            work: Callable[[], str] = lambda: self._push(second, contact_id, step)  # noqa: E731
        elif kind == "sync_one":
            work = lambda: _outcomes(second.runner().run_one(contact_id))  # noqa: E731
        else:
            work = lambda: _outcomes(second.runner().run_all(force=True))  # noqa: E731
        results = _at_once(
            {"all": lambda: _outcomes(first.runner().run_all(force=True)), kind: work}
        )
        # Which run got a contact is the threads' race: the trace keeps only that both ran.
        return " & ".join(
            f"{k}: {'error' if 'error' in v else 'ran'}" for k, v in sorted(results.items())
        )

    # -- what the sides hold ------------------------------------------------------------------

    def platform_doc(self, contact_id: int) -> Any:
        return next((d for d in self.storage.docs() if d.contact_id == contact_id), None)

    def live_ids(self) -> list[int]:
        linked = {d.contact_id for d in self.storage.docs() if d.contact_id is not None}
        return sorted(m.contact_id for m in self.model.live() if m.contact_id in linked)

    def _name(self, contact_id: int) -> str:
        """A contact by its name: ids of created contacts depend on who created first."""
        if contact_id not in self._names:
            record = self.crm.contacts().get(contact_id)
            self._names[contact_id] = record["name"] if record else f"#{contact_id}"
        return self._names[contact_id]

    def _adopt(self, contact_id: int, crm: Doc, platform: Doc) -> None:
        """Start tracking a contact both sides hold: what they agree on is its base; where
        they differ, the platform's value counts as written (a record just created)."""
        values = {name: field_value(crm, name) for name in FIELDS}
        self.model.track(contact_id, values)
        for name in FIELDS:
            if field_value(platform, name) != values[name]:
                self.model.wrote(contact_id, "platform", name, field_value(platform, name))
        self._rest[contact_id] = (_rest(crm), _rest(platform))
        # As a GET (or the bulk query) shows it: the raw view's extra keys left out.
        self._first_seen[contact_id] = {
            k: copy.deepcopy(v)
            for k, v in crm.items()
            if k not in ("isArchived", "contactAddresses")
        }
        self._name(contact_id)

    # -- invariants --------------------------------------------------------------------------

    def check(self, where: str) -> None:
        crm = self.crm.contacts()
        docs = self.storage.docs()
        linked: dict[int, Doc] = {}
        for doc in docs:
            if doc.contact_id is None:
                continue
            if doc.contact_id in linked:
                raise InvariantViolation(
                    f"{where}: the platform holds contact {doc.contact_id} twice"
                )
            linked[doc.contact_id] = doc.doc
        # No duplicate creates: one CRM+ contact per platform key, ever.
        for key in self.model.creates:
            holders = [
                cid
                for cid, record in crm.items()
                if not record.get("mergedIntoContactId")
                and any(
                    ref.get("id") == key and ref.get("source") == REFERENCE_SOURCE
                    for ref in record.get("contactReferences") or []
                )
            ]
            if len(holders) > 1:
                raise InvariantViolation(
                    f"{where}: platform record {key} created {len(holders)} times: {holders}"
                )
            if holders:
                self.model.creates[key] = holders[0]
        # No record twice on the platform: a new record whose contact is linked too.
        for doc in docs:
            created = self.model.creates.get(doc.key) if doc.contact_id is None else None
            if created is not None and created in linked:
                raise InvariantViolation(
                    f"{where}: the platform holds new record {doc.key} and, linked, the "
                    f"contact {created} created for it: the record is there twice"
                )
        for model in self.model.contacts.values():
            if model.removed and model.contact_id in linked:
                raise InvariantViolation(
                    f"{where}: contact {model.contact_id} was removed from the platform and is back"
                )
        # Contacts new to both sides (created on either side, a merge's survivor).
        for contact_id, doc in linked.items():
            if contact_id not in self.model.contacts and contact_id in crm:
                self._adopt(contact_id, crm[contact_id], doc)
                if contact_id in self.model.crm_created and self._is_survivor(contact_id):
                    self.model.contacts[contact_id].loose = True
        for model in self.model.live():
            if model.contact_id not in linked or model.contact_id not in crm:
                continue
            record, doc = crm[model.contact_id], linked[model.contact_id]
            decided = self._decided(model.contact_id)
            check_values(
                model,
                {name: field_value(doc, name) for name in FIELDS},
                {name: field_value(record, name) for name in FIELDS},
                decided,
            )
            if model.loose or model.contact_id not in self._rest:
                continue
            crm_rest, platform_rest = self._rest[model.contact_id]
            if _rest(record) != crm_rest:
                raise InvariantViolation(
                    f"{where}: contact {model.contact_id}: CRM+ changed outside the simulated "
                    f"fields:\n{_difference(crm_rest, _rest(record))}"
                )
            if _rest(doc) != platform_rest:
                raise InvariantViolation(
                    f"{where}: contact {model.contact_id}: the platform changed outside the "
                    f"simulated fields:\n{_difference(platform_rest, _rest(doc))}"
                )

    def _is_survivor(self, contact_id: int) -> bool:
        return any(m.merged_into == contact_id for m in self.model.contacts.values())

    def _decided(self, contact_id: int) -> set[str]:
        """The simulated fields with a recorded decision (open, resolved or automatic)."""
        return self._conflicted(contact_id, None)

    def _open_fields(self, contact_id: int) -> set[str]:
        """The simulated fields (and ``mergedIntoContactId``) with an open conflict."""
        return self._conflicted(contact_id, ConflictStatus.OPEN)

    def _conflicted(self, contact_id: int, status: ConflictStatus | None) -> set[str]:
        found = set()
        for conflict in self.app.conflicts.list(contact_id=contact_id, status=status):
            if conflict.path == "mergedIntoContactId":
                found.add(conflict.path)
            found.update(
                name
                for name in FIELDS
                if conflict.path == name or conflict.path.endswith(f".{name}")
            )
        return found

    def quiesce(self, where: str) -> None:
        """No more faults and no more edits: two rounds, then everything agrees (but open
        conflicts), nothing is pending, and one more round writes nothing."""
        hooks = self.sandbox.hooks
        hooks.clear_faults()
        for _ in range(2):
            self.app.runner().run_all(force=True)
        self.check(f"{where}, after two quiet rounds")
        crm = self.crm.contacts()
        docs = {d.contact_id: d for d in self.storage.docs()}
        for model in self.model.live():
            if model.contact_id not in docs:
                raise InvariantViolation(f"{where}: contact {model.contact_id} left the platform")
            if model.archived:
                continue
            open_fields = self._open_fields(model.contact_id)
            for name in FIELDS:
                mine = field_value(docs[model.contact_id].doc, name)
                theirs = field_value(crm[model.contact_id], name)
                if mine != theirs and name not in open_fields:
                    raise InvariantViolation(
                        f"{where}: contact {model.contact_id} field {name} did not converge "
                        f"(platform {mine!r}, CRM+ {theirs!r}) and no conflict is open"
                    )
        for model in self.model.contacts.values():
            if (
                model.merged_into is not None
                and not model.archived  # out of the bulk query's sight (docs/sync.md)
                and model.contact_id in docs
                and "mergedIntoContactId" not in self._open_fields(model.contact_id)
            ):
                raise InvariantViolation(
                    f"{where}: contact {model.contact_id} was merged into "
                    f"{model.merged_into} and the platform still holds it"
                )
        for key, contact_id in self.model.creates.items():
            if contact_id is None or contact_id not in docs:
                raise InvariantViolation(f"{where}: platform record {key} was never linked")
        for contact_id in self.model.crm_created:
            removed = contact_id in self.model.contacts and self.model.contacts[contact_id].removed
            if (
                not crm[contact_id].get("mergedIntoContactId")
                and contact_id not in docs
                and not removed
            ):
                raise InvariantViolation(
                    f"{where}: CRM+ contact {contact_id} never reached the platform"
                )
        pending = self.app.journal.unresolved()
        if pending:
            raise InvariantViolation(f"{where}: writes left pending: {pending}")
        before = len(hooks.requests())
        self.app.runner().run_all(force=True)
        writes = [
            f"{r.method} {r.path}"
            for r in hooks.requests()[before:]
            if r.method in WRITES and "/Query/" not in r.path
        ]
        if writes:
            raise InvariantViolation(f"{where}: a round with nothing new wrote to CRM+: {writes}")

    def digest(self) -> str:
        """The simulated fields of every contact on each side, by name: what the trace
        compares between two runs of one seed."""
        crm = self.crm.contacts()
        sides = {
            "crm": sorted(
                (r["name"], [field_value(r, n) for n in FIELDS])
                for r in crm.values()
                if not r.get("mergedIntoContactId")
            ),
            "platform": sorted(
                (str(d.doc.get("name")), [field_value(d.doc, n) for n in FIELDS])
                for d in self.storage.docs()
            ),
        }
        return hashlib.sha256(json.dumps(sides, default=str).encode()).hexdigest()[:12]


def _local_common() -> dict[str, Any]:
    return {"reference_source": REFERENCE_SOURCE, "scope": "all"}


def _faults(kind: str) -> list[Fault]:
    return {
        "503": [Fault("*", r"^/api/", status=503)],
        "503x5": [Fault("*", r"^/api/Contact", count=5, status=503)],
        "429": [Fault("*", r"^/api/", status=429, retry_after=0)],
        "429wait": [Fault("*", r"^/api/", status=429, retry_after=1)],
        "drop_put": [Fault("PUT", r"^/api/", drop=True)],
        "drop_post": [Fault("POST", r"^/api/Contact$", drop=True)],
        "timeout_get": [Fault("GET", r"^/api/Contact/\d+$", delay=READ_TIMEOUT + 0.1)],
    }[kind]


def _at_once(work: dict[str, Callable[[], str]]) -> dict[str, str]:
    """Run each piece of work on a thread of its own, all at once; their results. An
    engine error is a result; anything else is re-raised here."""
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def guarded(label: str, piece: Callable[[], str]) -> None:
        try:
            results[label] = piece()
        except SyncEngineError as exc:
            results[label] = f"error {type(exc).__name__}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=item) for item in work.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return results


def _outcomes(summary: Any) -> str:
    return _outcomes_of(summary.reports)


def _outcomes_of(reports: Any) -> str:
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.outcome] = counts.get(report.outcome, 0) + 1
    return ",".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing"


def _rest(record: Doc) -> Any:
    """A record without the simulated fields and the stamps: what must never change."""
    rest = copy.deepcopy(record)
    for name in (*FIELDS, *NOT_DATA):
        rest.pop(name, None)
    for person in rest.get("contactIndividuals") or []:
        person.pop("firstName", None)
        for name in NOT_DATA:
            person.pop(name, None)
        for method in person.get("contactMethods") or []:
            for name in NOT_DATA:
                method.pop(name, None)
    return rest


def _difference(before: Any, after: Any) -> str:
    from deepdiff import DeepDiff

    return str(DeepDiff(before, after, ignore_order=True))[:2000]


@contextlib.contextmanager
def world(script: Script, database_url: str, workdir: Path) -> Iterator[World]:
    with World(script, database_url, workdir) as built:
        yield built


def run(script: Script, database_url: str, workdir: Path) -> tuple[list[str], Figures]:
    """Play ``script``; its trace and figures, or ``InvariantViolation``."""
    with world(script, database_url, workdir) as built:
        return built.play(), built.figures
