"""A run's garbage collections without the heap that was there before it.

CPython's collector looks for cycles among the container objects it tracks; its full
collection (the oldest generation) goes through every one of them: the ~130,000 that
the engine's imports and set-up leave (SQLAlchemy's, httpx's, the schema tables...) as
well as what the run itself made. A first ``sync --all`` over 2,000 contacts allocates
enough records to trigger one: 70 to 160 ms of a run of 0.8 s of CPU, going through
objects that cannot be garbage, since they are the process's own machinery.

``gc.freeze()`` moves every object tracked at that moment to a generation no collection
visits, and ``gc.unfreeze()`` puts them back in the oldest one: within the block, the
collector goes through what the run made alone, cycles among it are collected as
always, and nothing is lost. What was garbage already when the block began is collected
by the first full collection after it ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0  # how many blocks are running (runs on several threads at once)


@contextmanager
def collecting_the_run_alone() -> Iterator[None]:
    """Within the block, collections leave out the objects tracked when it began (of the
    outermost of blocks running at once, on any thread: one ``gc.unfreeze`` when the
    last of them ends)."""
    global _inside
    with _lock:
        if _inside == 0:
            gc.freeze()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                gc.unfreeze()
