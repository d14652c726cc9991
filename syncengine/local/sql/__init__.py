"""The ``sql`` local adapter: the platform's contacts as rows of a table or view."""

from syncengine.local.sql.platform import SqlPlatform
from syncengine.local.sql.settings import ColumnPath, NewRowKey, SqlSettings

__all__ = ["ColumnPath", "NewRowKey", "SqlPlatform", "SqlSettings"]
