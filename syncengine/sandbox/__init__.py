"""The CRM+ sandbox: a faithful simulator of the CRM+ (Virtuous) contact endpoints,
served over real HTTP. Used by the demo, the tests and partners rehearsing a sync.

See docs/sandbox.md. The public surface:
- ``SandboxServer`` (context manager, in-process on a free loopback port) and ``serve``
  (foreground, for the CLI);
- ``SandboxSettings`` / ``PutSemantics`` (the knobs), ``SandboxState`` (the data);
- ``create_app`` (the ASGI app);
- the test hooks: ``SandboxHooks``, ``Fault``, ``LoggedRequest``, ``MergeMode``;
- seed data: ``default_seed``, ``load_seed_file``, ``SeedError``;
- clocks: ``ManualClock``, ``SystemClock``.
"""

from syncengine.sandbox.app import create_app
from syncengine.sandbox.clock import ManualClock, SystemClock
from syncengine.sandbox.faults import Fault
from syncengine.sandbox.hooks import SandboxHooks
from syncengine.sandbox.operations import MergeMode
from syncengine.sandbox.requestlog import LoggedRequest
from syncengine.sandbox.seed import SHOWCASE_CONTACT_ID, SeedError, default_seed, load_seed_file
from syncengine.sandbox.server import SandboxServer, serve
from syncengine.sandbox.settings import PutSemantics, SandboxSettings
from syncengine.sandbox.state import SandboxState

__all__ = [
    "SHOWCASE_CONTACT_ID",
    "Fault",
    "LoggedRequest",
    "ManualClock",
    "MergeMode",
    "PutSemantics",
    "SandboxHooks",
    "SandboxServer",
    "SandboxSettings",
    "SandboxState",
    "SeedError",
    "SystemClock",
    "create_app",
    "default_seed",
    "load_seed_file",
    "serve",
]
