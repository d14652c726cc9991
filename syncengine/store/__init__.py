"""The store: the mirror (last-known CRM+ records), the journal (every write attempt),
and the two-way sync's state (conflicts, per-contact sync state, pull cursors).

SQLModel tables on SQLite or PostgreSQL, repositories implementing the domain's
``MirrorStore``, ``Journal``, ``ConflictStore``, ``SyncStateStore``, ``CursorStore`` and
``ClaimStore`` ports, their in-memory twins, and the Alembic migrations. Nothing here reads the
environment or the configuration: callers pass a URL or an engine.

    engine = make_engine(url)
    prepare_database(engine)          # new database: created; older one: SchemaOutdated
    mirror = SqlMirrorStore(engine, organization)
    journal = SqlJournal(engine, organization)
    conflicts = SqlConflictStore(engine, organization)
    states = SqlSyncStateStore(engine, organization)
    cursors = SqlCursorStore(engine, organization)
    claims = SqlClaimStore(engine, organization)   # which process works on what
"""

from syncengine.store.budget import SqlBudgetLedger
from syncengine.store.claims import SqlClaimStore
from syncengine.store.conflicts import SqlConflictStore
from syncengine.store.cursors import SqlCursorStore
from syncengine.store.database import make_engine, parse_url, safe_url
from syncengine.store.failures import ConflictStateError, MissingEntryError
from syncengine.store.job_runs import SqlRunLog
from syncengine.store.journal import SqlJournal
from syncengine.store.memory import (
    MemoryBudgetLedger,
    MemoryClaimStore,
    MemoryConflictStore,
    MemoryCursorStore,
    MemoryJournal,
    MemoryMirrorStore,
    MemoryProblemLog,
    MemoryRunLog,
    MemorySyncStateStore,
    MemoryWorkQueue,
)
from syncengine.store.migrate import (
    SchemaStatus,
    UpgradeResult,
    current_revision,
    db_current,
    db_upgrade,
    prepare_database,
    schema_status,
    upgrade,
)
from syncengine.store.mirror import SqlMirrorStore
from syncengine.store.problems import SqlProblemLog
from syncengine.store.scripts import find_script_location, head_revision
from syncengine.store.sessions import one_transaction
from syncengine.store.sync_state import SqlSyncStateStore
from syncengine.store.tables import DEFAULT_ORGANIZATION
from syncengine.store.work_queue import SqlWorkQueue

__all__ = [
    "DEFAULT_ORGANIZATION",
    "ConflictStateError",
    "MemoryBudgetLedger",
    "MemoryClaimStore",
    "MemoryConflictStore",
    "MemoryCursorStore",
    "MemoryJournal",
    "MemoryMirrorStore",
    "MemoryProblemLog",
    "MemoryRunLog",
    "MemorySyncStateStore",
    "MemoryWorkQueue",
    "MissingEntryError",
    "SchemaStatus",
    "SqlBudgetLedger",
    "SqlClaimStore",
    "SqlConflictStore",
    "SqlCursorStore",
    "SqlJournal",
    "SqlMirrorStore",
    "SqlProblemLog",
    "SqlRunLog",
    "SqlSyncStateStore",
    "SqlWorkQueue",
    "UpgradeResult",
    "current_revision",
    "db_current",
    "db_upgrade",
    "find_script_location",
    "head_revision",
    "make_engine",
    "one_transaction",
    "parse_url",
    "prepare_database",
    "safe_url",
    "schema_status",
    "upgrade",
]
