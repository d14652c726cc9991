"""The daemon's organisations share one database engine per process (one connection pool,
not one each: ten organisations in four processes would hold more connections than
PostgreSQL's default max_connections). An app given the engine uses it and leaves it to
its owner."""

from __future__ import annotations

from pathlib import Path

from syncengine.bootstrap import open_app
from syncengine.config import CrmSettings, DatabaseSettings, Settings
from syncengine.store.database import make_engine


def test_apps_given_a_shared_engine_use_it_and_leave_it_undisposed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(url)
    pool = engine.pool  # dispose() replaces the pool: the same one after means not disposed
    environ = {"CRMPLUS_API_TOKEN": "shared-engine-token-0123"}
    try:
        for name in ("north", "south"):
            settings = Settings(
                organization=name,
                crm=CrmSettings(base_url="http://127.0.0.1:9"),
                database=DatabaseSettings(url=url),
            )
            with open_app(settings, environ, database=engine) as app:
                assert app.database is engine
                assert app.mirror.stamps_of([1]) == {}  # the shared engine answers
            assert engine.pool is pool
    finally:
        engine.dispose()


def test_an_app_that_made_its_engine_disposes_of_it(tmp_path: Path) -> None:
    settings = Settings(
        crm=CrmSettings(base_url="http://127.0.0.1:9"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'own.db'}"),
    )
    with open_app(settings, {"CRMPLUS_API_TOKEN": "own-engine-token-01234"}) as app:
        engine, pool = app.database, app.database.pool
    assert engine.pool is not pool
