"""The worker threads a long flight's sites are built on (``geo.parallel``)."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from geo import parallel
from tests.forking import stop_decoding_threads


def _square(x: int) -> tuple[int, str]:
    return x * x, threading.current_thread().name


def test_results_come_back_in_order_from_the_kept_worker_threads(monkeypatch):
    monkeypatch.setattr(parallel, "thread_workers", lambda: 3)
    first = parallel.threaded_map(_square, range(50), at_least=10)
    assert [value for value, _ in first] == [x * x for x in range(50)]
    assert all(name.startswith("geo-parallel") for _, name in first)
    again = parallel.threaded_map(_square, range(50), at_least=10)
    assert {name for _, name in again} <= {t.name for t in threading.enumerate()}  # the same threads, kept
    few = parallel.threaded_map(_square, range(5), at_least=10)  # too few: here
    assert {name for _, name in few} == {threading.current_thread().name}
    monkeypatch.setattr(parallel, "thread_workers", lambda: 1)  # one CPU: here
    assert {name for _, name in parallel.threaded_map(_square, range(50), at_least=10)} == {
        threading.current_thread().name}


def _in_child(queue) -> None:  # noqa: ANN001
    parallel.thread_workers = lambda: 2
    queue.put([value for value, _ in parallel.threaded_map(_square, range(20), at_least=4)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_starts_threads_of_its_own(monkeypatch):
    """A child forked after the pool started has none of its threads: work given to the
    parent's pool there would wait for ever."""
    monkeypatch.setattr(parallel, "thread_workers", lambda: 2)
    parallel.threaded_map(_square, range(20), at_least=4)  # the parent's pool is running
    stop_decoding_threads()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child waited on its parent's worker threads")
    assert queue.get(timeout=5) == [x * x for x in range(20)]
