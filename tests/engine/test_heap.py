"""``engine.heap``: within a run, the objects that were there before it are left out of
the collections; when the last of the runs going at once ends, they are back, and
garbage cycles are collected inside and after alike."""

from __future__ import annotations

import gc
import threading
import weakref

from syncengine.engine.heap import collecting_the_run_alone


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_the_objects_from_before_are_left_out_and_put_back() -> None:
    assert gc.get_freeze_count() == 0
    with collecting_the_run_alone():
        assert gc.get_freeze_count() > 0
        with collecting_the_run_alone():  # a second run at once (nested here)
            pass
        assert gc.get_freeze_count() > 0, "the outer run still holds it"
    assert gc.get_freeze_count() == 0


def test_cycles_made_inside_are_collected_inside() -> None:
    with collecting_the_run_alone():
        gone = weakref.ref(Node())
        gc.collect()
        assert gone() is None


def test_cycles_from_before_are_collected_after() -> None:
    node = Node()
    before = weakref.ref(node)
    with collecting_the_run_alone():
        del node
        gc.collect()
        assert before() is not None, "frozen: left out while the run goes on"
    gc.collect()
    assert before() is None


def test_runs_on_several_threads_unfreeze_once_the_last_ends() -> None:
    started, release = threading.Barrier(4), threading.Event()

    def run() -> None:
        with collecting_the_run_alone():
            started.wait()
            release.wait()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.wait()
    assert gc.get_freeze_count() > 0
    release.set()
    for thread in threads:
        thread.join()
    assert gc.get_freeze_count() == 0
