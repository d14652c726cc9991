"""Alembic environment of syncengine's store (the mirror and journal tables).

Two ways in:
- ``syncengine.store.migrate`` runs it in-process and hands over an open connection in
  ``config.attributes["connection"]`` (inside a transaction it owns);
- the ``alembic`` command from the repository root, with the database named on the
  command line: ``alembic -x url=sqlite:///syncengine.db upgrade head``.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from syncengine.store.alembic_options import context_options
from syncengine.store.database import make_engine, parse_url

config = context.config
if config.config_file_name is not None:
    # Only the alembic command has an ini file; in-process runs keep the app's logging.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit(
            "no database URL: run e.g. `alembic -x url=sqlite:///syncengine.db upgrade head`"
        )
    return url


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **context_options())
    # Inside a caller's transaction this is a no-op and the caller commits: the whole
    # upgrade is then one transaction (PostgreSQL and, with our BEGIN handling, SQLite).
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    engine = make_engine(database_url())
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    context.configure(
        url=parse_url(database_url()),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
