"""The ``files`` local adapter: one JSON document per contact in a folder."""

from syncengine.local.files.platform import FilesPlatform

__all__ = ["FilesPlatform"]
