"""The ``syncengine`` command line: ``main.cli`` is the group; the command modules below
register themselves on it, so importing the package gives the complete command set."""

from syncengine.cli import (  # noqa: F401  (they register commands)
    commands,
    daemon_commands,
    report_commands,
    review_commands,
    sync_commands,
)
