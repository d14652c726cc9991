"""The composition root: the one place that turns settings into real objects.

Nothing else builds an engine, a database engine or an HTTP client from configuration;
tests and the demo call these functions with their own settings, transports or URLs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

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
from syncengine.domain.plan import UpdateRules
from syncengine.engine.push import SafeUpdater
from syncengine.errors import ConfigError
from syncengine.store.database import make_engine
from syncengine.store.journal import SqlJournal
from syncengine.store.migrate import prepare_database
from syncengine.store.mirror import SqlMirrorStore


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
    settings: Settings, secrets: Secrets, *, transport: httpx.BaseTransport | None = None
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
        ),
        transport=transport,
    )


def build_database(settings: Settings, *, allow_create: bool = True) -> Engine:
    """The mirror/journal database, created and migrated on first use.

    A database at an older revision is NOT migrated here: SchemaOutdated tells the user
    to run ``syncengine db upgrade`` (a schema change deserves a deliberate step).
    """
    engine = make_engine(settings.database.url)
    try:
        prepare_database(engine, allow_create=allow_create)
    except BaseException:
        engine.dispose()
        raise
    return engine


def update_rules(settings: Settings) -> UpdateRules:
    return UpdateRules(
        deceased_opts_out_methods=settings.update.deceased_opts_out_methods,
        high_stakes_fields=frozenset(settings.update.high_stakes_fields),
    )


@dataclass
class App:
    """Everything a command needs, built once."""

    settings: Settings
    crm: CrmClient
    database: Engine
    mirror: SqlMirrorStore
    journal: SqlJournal
    updater: SafeUpdater

    def close(self) -> None:
        self.crm.close()
        self.database.dispose()


@contextmanager
def open_app(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[App]:
    from syncengine.config import read_secrets

    secrets = read_secrets(environ)
    crm = build_crm(settings, secrets, transport=transport)
    try:
        database = build_database(settings)
    except BaseException:
        crm.close()
        raise
    zone = settings.crm.zone
    mirror = SqlMirrorStore(database, organization=settings.organization, timestamp_zone=zone)
    journal = SqlJournal(database, organization=settings.organization)
    clock = SystemClock()
    app = App(
        settings=settings,
        crm=crm,
        database=database,
        mirror=mirror,
        journal=journal,
        updater=SafeUpdater(crm, mirror, journal, clock, update_rules(settings)),
    )
    try:
        yield app
    finally:
        app.close()
