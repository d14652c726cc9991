"""The exception tree of syncengine, grouped by what the caller does about it.

    SyncEngineError                      base; carries data, never the API token
    |
    +-- UsageError                       abort the command, exit 2: the user must fix input
    |   +-- ConfigError                  bad config file / setting (names the key)
    |   +-- PathError                    a change path that does not parse or resolve
    |   |   +-- AmbiguousPath            it resolves to several items (none is guessed)
    |   +-- CoercionError                a value that cannot become the field's natural type
    |   +-- ForbiddenChange              a change that must go elsewhere (e.g. isArchived)
    |
    +-- CrmError                         anything the CRM+ API said or did not say
    |   +-- CrmTransientError            RETRY (with backoff) -- the client does it itself
    |   |   +-- CrmRateLimited           429 / local budget exhausted; has retry_after
    |   |       +-- CrmBudgetExhausted   STOP STARTING WORK: no request before the budget
    |   |                                resets (beyond max_wait); what is left is deferred
    |   |   +-- CrmServerError           5xx / 520
    |   |   +-- CrmUnreachable           connect error, timeout, dropped response
    |   +-- CrmAuthError                 ABORT the run: 401, the token was refused
    |   |   +-- CrmTokenError            POST /Token gave no token (bad credentials, wrong
    |   |                                URL or auth mode): not a record's problem
    |   +-- CrmTlsError                  ABORT the run: the TLS handshake failed (e.g. the
    |   |                                certificate does not verify); nothing was sent
    |   +-- CrmRecordError               SKIP this record, go on with the others
    |       +-- CrmNotFound              404 (maybe merged or deleted)
    |       +-- CrmDuplicateValue        409 (a unique value belongs to another record)
    |       +-- CrmValidationError       400 / 422 with per-field details
    |       +-- CrmBadAnswer             2xx holding another record than asked for (or none)
    |
    +-- VerificationError                SKIP this record: a write did not persist as meant
    +-- ValueTooLarge                    SKIP this record: a CRM+ value over sync.max_value_size
    |
    +-- StoreError                       the mirror / journal database
    |   +-- DatabaseUnavailable          ABORT: cannot connect
    |   +-- SchemaOutdated               ABORT: database at an older revision; run `db upgrade`
    |
    +-- LocalDataError                   SKIP this record: a malformed local platform record
    +-- LocalConflictError               SKIP this record for now: it changed on the platform
    |                                    while we worked; the next run picks the change up
    +-- LocalPlatformError               ABORT: the platform cannot be read or written at all

Foreign exceptions (httpx, SQLAlchemy, OS errors) are translated once, at the adapter
boundary, with ``raise ... from exc``. The CLI owns the words shown to people and the exit
codes (see ``syncengine.cli.errors``); exceptions only carry data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class SyncEngineError(Exception):
    """Base of every error syncengine raises on purpose."""


# -- usage -------------------------------------------------------------------------------


class UsageError(SyncEngineError):
    """The user's input is wrong; nothing was sent or written."""


class ConfigError(UsageError):
    """A configuration value is missing or invalid."""

    def __init__(self, key: str, problem: str, source: str | None = None) -> None:
        self.key = key
        self.problem = problem
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"config key '{key}'{where}: {problem}")


class PathError(UsageError):
    """A change path does not parse, or does not resolve on the record."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"path '{path}': {problem}")


class AmbiguousPath(PathError):
    """A path names several items of one array (two id-less people named alike): which
    one is meant cannot be told, so nothing is read or written there."""


class CoercionError(UsageError):
    """A value cannot be coerced to the natural type of its field."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"field '{field}': cannot use {value!r} as {expected}")


class ForbiddenChange(UsageError):
    """A change that this command must not make (with a pointer to the right one)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"path '{path}': {problem}")


# -- CRM+ --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """One field-level complaint from a 400 ``modelState`` or a 422 ``details`` entry."""

    field: str
    message: str
    code: str | None = None


class CrmError(SyncEngineError):
    """Something the CRM+ API answered (or failed to answer)."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url_path: str | None = None,
        status: int | None = None,
        maybe_applied: bool = False,
    ) -> None:
        self.message = message
        self.method = method
        self.url_path = url_path
        self.status = status
        # True when a write got no clear answer (timeout, dropped response, 5xx): the server
        # may have applied it. Before repeating a non-idempotent one (a create), look first.
        self.maybe_applied = maybe_applied
        where = f"{method} {url_path}: " if method and url_path else ""
        status_text = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"{where}{status_text}{message}")


class CrmTransientError(CrmError):
    """Worth retrying after a pause."""


class CrmRateLimited(CrmTransientError):
    """HTTP 429, or the local request budget is spent."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class CrmBudgetExhausted(CrmRateLimited):
    """No request may go before the hourly budget resets, and that is further away than
    ``crm.rate_limit.max_wait``: the budget is down to the reserve (decided locally, nothing
    sent), or CRM+ answered 429 with a longer ``Retry-After``. Not a failure of the contact
    at hand: the caller stops starting work and leaves the rest for after ``resets_at``."""

    def __init__(self, message: str, *, resets_at: float, retry_after: float, **kw: Any) -> None:
        self.resets_at = resets_at  # Unix seconds
        super().__init__(message, retry_after=retry_after, **kw)


class CrmServerError(CrmTransientError):
    """HTTP 5xx (or 520 from the edge)."""


class CrmUnreachable(CrmTransientError):
    """No complete answer: connect error, timeout, or a response dropped mid-way."""


class CrmAuthError(CrmError):
    """HTTP 401: the token was refused. Stops the run: every request would fail."""


class CrmTokenError(CrmAuthError):
    """``POST /Token`` (the password grant or its refresh) did not give a token.

    ``status`` says why: 400/401 the credentials were refused (OAuth ``invalid_grant``),
    202 two-step verification was not completed, another 4xx the endpoint is not there
    (wrong base URL, or an organisation that does not use password login), a 2xx an
    answer without a token. Never a contact's problem, whatever the status.
    """


class CrmTlsError(CrmError):
    """The TLS handshake with ``host`` failed: nothing was sent. ``verification``: the
    certificate did not verify (self-signed, expired, issued for another host)."""

    def __init__(self, message: str, *, host: str, verification: bool, **kw: Any) -> None:
        self.host = host
        self.verification = verification
        super().__init__(message, **kw)


class CrmRecordError(CrmError):
    """A problem with one record: skip it, go on with the others."""


class CrmNotFound(CrmRecordError):
    """HTTP 404: the record does not exist (it may have been merged or deleted)."""

    def __init__(self, message: str, *, merged_into: int | None = None, **kw: Any) -> None:
        self.merged_into = merged_into
        super().__init__(message, **kw)


class CrmDuplicateValue(CrmRecordError):
    """HTTP 409: a unique value (e.g. an email) already belongs to another record."""

    def __init__(self, message: str, *, value: str | None = None, **kw: Any) -> None:
        self.value = value
        super().__init__(message, **kw)


class CrmValidationError(CrmRecordError):
    """HTTP 400 (type mismatch, malformed) or 422 (invalid value), with field details."""

    def __init__(self, message: str, *, problems: Sequence[FieldProblem] = (), **kw: Any) -> None:
        self.problems = tuple(problems)
        super().__init__(message, **kw)


class CrmBadAnswer(CrmRecordError):
    """A successful answer that is not the record asked for: another contact's, or an
    object without an id. Nothing is taken from it; the contact is skipped."""


# -- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A field whose persisted value is not what the write meant."""

    path: str
    intended: Any
    found: Any


class VerificationError(SyncEngineError):
    """The CRM accepted a write but does not show the intended state."""

    def __init__(
        self,
        contact_id: int,
        mismatches: Sequence[Mismatch],
        stage: str,
        *,
        record_after: Mapping[str, Any] | None = None,
    ) -> None:
        self.contact_id = contact_id
        self.mismatches = tuple(mismatches)
        self.stage = stage
        # The contact as the write's answer showed it (the write did happen): the sync
        # keeps it as its merge base all the same.
        self.record_after = record_after
        listed = "; ".join(f"{m.path}: meant {m.intended!r}, found {m.found!r}" for m in mismatches)
        super().__init__(f"contact {contact_id}: {stage} does not show the change: {listed}")


class ValueTooLarge(SyncEngineError):
    """A CRM+ record holds a value larger than ``sync.max_value_size``: the contact is
    left alone (a platform record with one is a ``LocalDataError``)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


# -- store -------------------------------------------------------------------------------


class StoreError(SyncEngineError):
    """The mirror/journal database failed."""


class DatabaseUnavailable(StoreError):
    """Cannot connect to the database (the URL is shown without its password)."""


class SchemaOutdated(StoreError):
    """The database is at an older schema revision than this version of syncengine."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at revision {current or '(none)'}, this syncengine needs "
            f"{head}: run `syncengine db upgrade` first"
        )


# -- local platform ----------------------------------------------------------------------


class LocalDataError(SyncEngineError):
    """A local platform record is malformed; it is reported and skipped, never overwritten."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class UnreadableDocumentError(LocalDataError):
    """A document whose bytes are not JSON text at all (not UTF-8, a syntax error), unlike
    one that parses but breaks a rule: what a document read half-written looks like."""


class LocalConflictError(SyncEngineError):
    """A platform record changed between our read and our write: the write is refused."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(f"{where}: changed on the platform while syncing; not overwritten")


class LocalPlatformError(SyncEngineError):
    """The local platform as a whole cannot be used (database unreachable, folder
    unreadable): every record would fail the same way, so the run stops.

    ``where`` names the folder or the table and database (never a password).
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")
