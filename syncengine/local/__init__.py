"""The local platform adapters: the partner platform's side of the two-way sync.

Each implements ``syncengine.domain.ports.LocalPlatform``; the composition root picks one
by name with ``load_platform`` (entry-point group ``syncengine.local_adapters``).

- ``files``: a folder with one JSON document per contact;
- ``sql``: a table or view in any SQLAlchemy database;
- ``memory``: the in-memory twin, for tests and simulations.

Adapters import only ``syncengine.domain`` and ``syncengine.errors``.
"""

from syncengine.errors import LocalPlatformError
from syncengine.local.clock import ManualClock, SystemClock
from syncengine.local.files import FilesPlatform
from syncengine.local.memory import MemoryPlatform
from syncengine.local.registry import GROUP, installed_adapters, load_platform
from syncengine.local.sql import SqlPlatform

__all__ = [
    "GROUP",
    "FilesPlatform",
    "LocalPlatformError",
    "ManualClock",
    "MemoryPlatform",
    "SqlPlatform",
    "SystemClock",
    "installed_adapters",
    "load_platform",
]
