"""Translating database failures into syncengine's exception tree, once, at the boundary.

Every message shows the URL without its password, and the driver's text is scrubbed of
the password too, in case a driver ever echoes its connection string.
"""

from sqlalchemy import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from syncengine.errors import DatabaseUnavailable, StoreError
from syncengine.store.database import safe_url


class MissingEntryError(StoreError, LookupError):
    """The store has no such entry (a caller bug, or another organisation's)."""


class ConflictStateError(StoreError):
    """The conflict is not in a state that allows the operation (it changes nothing).

    Typically a second data manager resolving a conflict someone already resolved: the
    first choice stands, and the caller can show ``status`` instead of overwriting it.
    """

    def __init__(self, conflict_id: int, status: str, action: str, allowed: str) -> None:
        self.conflict_id = conflict_id
        self.status = status
        self.action = action
        super().__init__(
            f"conflict {conflict_id} is {status}: it cannot be {action} "
            f"(only {allowed} conflicts can)"
        )


def describe(exc: BaseException, url: URL) -> str:
    """The first line of the driver's message, without the password of ``url``."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(original).strip().splitlines()
    text = lines[0] if lines else type(original).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def unavailable(exc: BaseException, url: URL) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot connect to the database {safe_url(url)}: {describe(exc, url)}"
    )


def failed(exc: SQLAlchemyError, url: URL) -> StoreError:
    """A failure after connecting: lost connection -> unavailable, anything else -> store error."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return unavailable(exc, url)
    return StoreError(f"database error on {safe_url(url)}: {describe(exc, url)}")
