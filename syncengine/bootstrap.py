"""The composition root: the one place that turns settings into real objects.

Nothing else builds an engine, a database engine or an HTTP client from configuration;
tests and the demo call these functions with their own settings, transports or URLs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from syncengine.config import ENV_PASSWORD, ENV_TOKEN, ENV_USERNAME, Secrets, Settings
from syncengine.crm import (
    ApiKeyAuth,
    CrmClient,
    PasswordGrantAuth,
    RateLimitPolicy,
    RetryPolicy,
    Timeouts,
)
from syncengine.crm.observe import RequestObserver
from syncengine.domain.fieldmap import FieldMap
from syncengine.domain.plan import UpdateRules
from syncengine.domain.policy import MergePolicy, policy_from_mapping
from syncengine.domain.ports import BudgetLedger, LocalPlatform
from syncengine.engine.claims import ClaimSettings, RunClaims
from syncengine.engine.creates import ContactCreator
from syncengine.engine.jobs import CrmWatch, PlatformWatch, Reconciler
from syncengine.engine.manual import ManualWrites
from syncengine.engine.problems import ProblemRecorder
from syncengine.engine.push import SafeUpdater
from syncengine.engine.recovery import IntentRecovery
from syncengine.engine.run_all import GuardSettings, SyncRunner
from syncengine.engine.scope import Scope
from syncengine.engine.sync import ContactSync, SyncOptions
from syncengine.engine.work import QueueWorker
from syncengine.errors import ConfigError
from syncengine.local import load_platform
from syncengine.private_files import write_owner_only
from syncengine.store import (
    SqlBudgetLedger,
    SqlClaimStore,
    SqlConflictStore,
    SqlCursorStore,
    SqlJournal,
    SqlMirrorStore,
    SqlProblemLog,
    SqlRunLog,
    SqlSyncStateStore,
    SqlWorkQueue,
    make_engine,
    one_transaction,
    prepare_database,
)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def build_auth(settings: Settings, secrets: Secrets) -> httpx.Auth:
    if settings.crm.auth.mode == "password":
        if not (secrets.username and secrets.password):
            raise ConfigError(
                "crm.auth.mode",
                f"'password' needs the environment variables {ENV_USERNAME} and {ENV_PASSWORD}",
            )
        return PasswordGrantAuth(secrets.username, secrets.password)
    if not secrets.token:
        raise ConfigError(
            "crm.auth.mode",
            f"'api_key' needs the environment variable {ENV_TOKEN} (the CRM+ API key)",
        )
    return ApiKeyAuth(secrets.token)


def build_crm(
    settings: Settings,
    secrets: Secrets,
    *,
    transport: httpx.BaseTransport | None = None,
    observe: RequestObserver | None = None,
    ledger: BudgetLedger | None = None,
) -> CrmClient:
    crm = settings.crm
    return CrmClient(
        crm.base_url,
        build_auth(settings, secrets),
        timeouts=Timeouts(
            connect=crm.timeouts.connect,
            read=crm.timeouts.read,
            write=crm.timeouts.write,
            pool=crm.timeouts.pool,
        ),
        retry=RetryPolicy(
            max_attempts=crm.retry.max_attempts,
            backoff_initial=crm.retry.backoff_initial,
            backoff_max=crm.retry.backoff_max,
        ),
        rate_limit=RateLimitPolicy(
            reserve=crm.rate_limit.reserve,
            max_wait=crm.rate_limit.max_wait,
            hourly=crm.rate_limit.hourly_limit,
            burst=crm.rate_limit.burst,
        ),
        transport=transport,
        observe=observe,
        ledger=ledger,
        ca_bundle=crm.tls.ca_bundle,
    )


def update_rules(settings: Settings) -> UpdateRules:
    return UpdateRules(
        deceased_opts_out_methods=settings.update.deceased_opts_out_methods,
        high_stakes_fields=frozenset(settings.update.high_stakes_fields),
    )


def merge_policy(settings: Settings) -> MergePolicy:
    sync = settings.sync
    try:
        return policy_from_mapping(
            [(rule["path"], rule["policy"]) for rule in sync.policies],
            default=sync.default_policy,
            zone=settings.crm.zone,
            tie_breaker=sync.tie_breaker,
        )
    except ValueError as exc:
        raise ConfigError("sync.policies", str(exc), source=settings.source) from None


def build_platform(settings: Settings) -> LocalPlatform:
    return load_platform(settings.local.adapter, settings.local.adapter_options())


@dataclass(frozen=True)
class _SyncParts:
    platform: LocalPlatform
    states: SqlSyncStateStore
    cursors: SqlCursorStore
    contacts: ContactSync
    creator: ContactCreator
    recovery: IntentRecovery


@dataclass(frozen=True)
class DaemonParts:
    queue: SqlWorkQueue
    runs: SqlRunLog
    worker: QueueWorker
    jobs: tuple[PlatformWatch, CrmWatch, Reconciler]


def write_drift_report(folder: Path, report: Mapping[str, Any]) -> None:
    """A drift report as ``drift-<organisation>-<UTC start>.json`` in ``folder``, written
    whole or not at all (a temporary file renamed into place), owner-only."""
    folder.mkdir(parents=True, exist_ok=True)
    started = str(report.get("started_at", "")).replace(":", "").replace("-", "")[:15]
    target = folder / f"drift-{report.get('organization')}-{started}Z.json"
    # Owner-only, like the database: a drift report quotes contacts' values.
    write_owner_only(target, json.dumps(report, indent=2, ensure_ascii=False))


@dataclass
class App:
    """Everything a command needs, built once."""

    settings: Settings
    crm: CrmClient
    database: Engine
    mirror: SqlMirrorStore
    journal: SqlJournal
    conflicts: SqlConflictStore
    problems: SqlProblemLog
    claims: RunClaims
    claims_store: SqlClaimStore
    updater: SafeUpdater
    manual: ManualWrites
    clock: SystemClock
    _platform: LocalPlatform | None = None
    _runner: SyncRunner | None = None
    _parts: _SyncParts | None = None
    # False when the engine is shared with other apps of the process (``open_app``'s
    # ``database``): whoever made it disposes of it.
    _owns_database: bool = True

    def platform(self) -> LocalPlatform:
        """The local platform, built on first use (push and conflicts never need it)."""
        if self._platform is None:
            self._platform = build_platform(self.settings)
        return self._platform

    def runner(self) -> SyncRunner:
        if self._runner is None:
            parts = self._sync_parts()
            guard = self.settings.sync.guard
            self._runner = SyncRunner(
                self.crm,
                self.mirror,
                parts.platform,
                parts.states,
                parts.cursors,
                self.journal,
                self.conflicts,
                parts.contacts,
                parts.creator,
                parts.recovery,
                self.claims,
                self.clock,
                GuardSettings(guard.max_contact_share, guard.max_field_share, guard.min_contacts),
                self.problem_recorder(),
                concurrency=self.settings.sync.concurrency,
                scope=Scope(self.settings.local.scope),
            )
        return self._runner

    def problem_recorder(self) -> ProblemRecorder:
        return ProblemRecorder(self.problems, self.clock)

    def daemon_parts(self) -> DaemonParts:
        """The daemon's queue, worker, jobs and run log for this organisation."""
        parts = self._sync_parts()
        settings = self.settings
        organization = settings.organization
        scope = Scope(settings.local.scope)
        queue = SqlWorkQueue(self.database, organization=organization)
        reports = Path(settings.daemon.reports)
        return DaemonParts(
            queue=queue,
            runs=SqlRunLog(self.database, organization=organization),
            worker=QueueWorker(
                queue,
                parts.contacts,
                parts.recovery,
                parts.platform,
                parts.states,
                self.mirror,
                self.claims,
                self.clock,
                self.problem_recorder(),
                self.crm,
                scope=scope,
            ),
            jobs=(
                PlatformWatch(
                    parts.platform,
                    parts.states,
                    queue,
                    self.journal,
                    self.conflicts,
                    parts.creator,
                    self.claims,
                    self.clock,
                    self.crm,
                    atomic=partial(one_transaction, self.database),
                ),
                CrmWatch(
                    self.crm,
                    parts.cursors,
                    self.mirror,
                    parts.states,
                    queue,
                    self.clock,
                    scope=scope,
                    atomic=partial(one_transaction, self.database),
                ),
                Reconciler(
                    self.crm,
                    self.mirror,
                    parts.states,
                    parts.platform,
                    queue,
                    self.clock,
                    scope=scope,
                    report=partial(write_drift_report, reports),
                    organization=organization,
                ),
            ),
        )

    def _sync_parts(self) -> _SyncParts:
        """The pieces every way of syncing shares, built once."""
        if self._parts is None:
            settings = self.settings
            platform = self.platform()
            states = SqlSyncStateStore(self.database, organization=settings.organization)
            cursors = SqlCursorStore(self.database, organization=settings.organization)
            source = settings.local.reference_source
            contacts = ContactSync(
                self.crm,
                self.mirror,
                platform,
                self.conflicts,
                states,
                self.journal,
                self.updater,
                self.claims,
                self.clock,
                SyncOptions(
                    fields=FieldMap.from_rules(settings.local.fields),
                    policy=merge_policy(settings),
                    reference_source=source,
                    max_value_size=settings.sync.max_value_size,
                ),
                atomic=partial(one_transaction, self.database),
            )
            creator = ContactCreator(
                self.crm,
                self.journal,
                platform,
                self.updater,
                contacts,
                self.claims,
                self.clock,
                source,
            )
            recovery = IntentRecovery(
                self.crm, self.journal, platform, self.updater, self.claims, source
            )
            self._parts = _SyncParts(platform, states, cursors, contacts, creator, recovery)
        return self._parts

    def close(self) -> None:
        closer = getattr(self._platform, "close", None)
        if callable(closer):
            closer()
        try:
            self.claims.close()
        finally:
            self.crm.close()
            if self._owns_database:
                self.database.dispose()


@contextmanager
def open_app(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
    purpose: str | None = None,
    observe: RequestObserver | None = None,
    paced: bool = False,
    database: Engine | None = None,
) -> Iterator[App]:
    """Everything a command needs; ``purpose`` says what this run does, in its claims
    (``status`` and "held by another run" messages show it); ``observe`` sees every CRM+
    request (the daemon's metrics); ``paced``: requests draw on the organisation's shared
    budget ledger (the daemon's processes spend one budget between them); ``database``:
    an engine for ``settings.database.url`` shared with the process's other apps (the
    daemon's organisations: one connection pool, not one each), used and not disposed."""
    from syncengine.config import read_secrets

    secrets = read_secrets(environ)
    owned = database is None
    # The engine does not connect yet: the token is checked (build_crm) before the
    # database is created or migrated, so a refused command leaves no file behind.
    engine = (
        make_engine(settings.database.url, threads=settings.sync.concurrency)
        if database is None
        else database
    )
    try:
        ledger = SqlBudgetLedger(engine, organization=settings.organization) if paced else None
        crm = build_crm(settings, secrets, transport=transport, observe=observe, ledger=ledger)
    except BaseException:
        if owned:
            engine.dispose()
        raise
    try:
        prepare_database(engine)
    except BaseException:
        crm.close()
        if owned:
            engine.dispose()
        raise
    database = engine
    zone = settings.crm.zone
    mirror = SqlMirrorStore(database, organization=settings.organization, timestamp_zone=zone)
    journal = SqlJournal(database, organization=settings.organization)
    clock = SystemClock()
    claims_store = SqlClaimStore(database, organization=settings.organization)
    claims = RunClaims(
        claims_store,
        clock,
        settings=ClaimSettings(
            ttl=timedelta(seconds=settings.sync.claims.ttl),
            wait=timedelta(seconds=settings.sync.claims.wait),
        ),
        purpose=purpose,
    )
    updater = SafeUpdater(crm, journal, clock, update_rules(settings), fence=claims)
    app = App(
        settings=settings,
        crm=crm,
        database=database,
        mirror=mirror,
        journal=journal,
        conflicts=SqlConflictStore(database, organization=settings.organization),
        problems=SqlProblemLog(database, organization=settings.organization),
        claims=claims,
        claims_store=claims_store,
        updater=updater,
        manual=ManualWrites(updater, mirror, claims, crm),
        clock=clock,
        _owns_database=owned,
    )
    try:
        yield app
    finally:
        app.close()
