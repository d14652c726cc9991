"""The test hooks as a Python API; the ``/_sandbox/...`` routes call the same methods.

Hooks exist only when the sandbox runs with ``test_hooks=True``. Errors are the
sandbox's ``ApiError``s (``NotFoundError`` for an unknown contact...) and ``SeedError``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from syncengine.domain.ports import Record
from syncengine.sandbox.faults import Fault
from syncengine.sandbox.import_queue import QueuedImport
from syncengine.sandbox.imports import ImportOperations
from syncengine.sandbox.operations import CrmOperations, MergeMode
from syncengine.sandbox.requestlog import LoggedRequest
from syncengine.sandbox.seed import load_seed_file
from syncengine.sandbox.state import SandboxState


class SandboxHooks:
    def __init__(self, ops: CrmOperations, state: SandboxState, imports: ImportOperations) -> None:
        self._ops = ops
        self._state = state
        self._imports = imports

    # -- data ------------------------------------------------------------------------------

    def seed(self, data: Any) -> None:
        """Replace all CRM data with ``data`` (seed format, see ``seed.py``)."""
        self._state.load(data)

    def seed_file(self, path: Path | str) -> None:
        self.seed(load_seed_file(path))

    def reset(self, *, settle: float = 5.0) -> None:
        """Back to the start: the initial seed, no faults, no latency, empty log, full budget.

        Waits up to ``settle`` seconds for requests still being answered (a delayed one
        whose client gave up, say) so they cannot touch the fresh state.
        """
        with self._state.lock:
            self._state.faults.clear()
            self._state.latency = 0.0
        deadline = time.monotonic() + settle
        while self._state.in_flight and time.monotonic() < deadline:
            time.sleep(0.005)
        with self._state.lock:
            self._state.load(self._state.initial_seed)
            self._state.faults.clear()
            self._state.requests.clear()
            self._state.limiter.reset()
            self._state.latency = 0.0

    def raw_contact(self, contact_id: int) -> Record:
        """What the API hides too: ``isArchived`` and every address (``contactAddresses``)."""
        return self._ops.raw_contact(contact_id)

    def raw_state(self) -> Record:
        """All data in the seed format."""
        return self._ops.raw_state()

    def ui_edit(self, contact_id: int, changes: Any) -> Record:
        """Change a contact as a person in the CRM UI would (partial, by the UI user)."""
        return self._ops.edit_as_ui(contact_id, changes)

    def merge(
        self, source_id: int, into_id: int, mode: MergeMode | str = MergeMode.POINTER
    ) -> None:
        """Merge contact ``source_id`` into ``into_id``; see ``MergeMode`` for what A answers."""
        self._ops.merge(source_id, into_id, MergeMode(mode))

    def imports(self) -> list[QueuedImport]:
        """Every accepted import transaction, in acceptance order, with its fate so far."""
        return self._imports.entries()

    def apply_imports(self) -> list[QueuedImport]:
        """Apply every pending import transaction now, due or not (the nightly batch run
        early); returns those applied, each with its status, contact id and any error."""
        return self._imports.apply_all()

    # -- conditions ------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        """Delay every API request by ``seconds`` (0 to stop)."""
        with self._state.lock:
            self._state.latency = max(float(seconds), 0.0)

    def add_fault(self, fault: Fault) -> Fault:
        with self._state.lock:
            self._state.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()

    def pending_faults(self) -> list[Fault]:
        with self._state.lock:
            return self._state.faults.pending()

    def requests(self) -> list[LoggedRequest]:
        with self._state.lock:
            return self._state.requests.entries()

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    def reset_rate_limit(self) -> None:
        with self._state.lock:
            self._state.limiter.reset()
