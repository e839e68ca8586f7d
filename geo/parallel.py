"""Work on a long flight's many pieces spread over a few threads.

A long flight's map builds hundreds of sites again at each build (a review decision, a
threshold step), and most of a site's time is GEOS (shapely) joining and scaling its
sightings' outlines, which runs without the GIL: a few threads shorten it. Each piece is
computed alone and the results come back in order, the same as computed one after
another. (Placing each detection on the ground is mostly Python under the GIL: threads
made it slower, so it is not spread.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: The most threads used: more gain little on the GIL-bound parts between.
MAX_THREADS = 8


def thread_workers() -> int:
    """Threads to use: the CPUs this process may run on, up to :data:`MAX_THREADS`."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cpus))


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads(workers: int) -> ThreadPoolExecutor:
    """The process's pool of worker threads, started once and kept: its threads live as
    long as the process, each with one Python thread state and one PROJ context (pyproj
    keeps one per thread; short-lived threads would build and drop theirs at every map, as
    Qt's pooled threads did when PROJ crashed in them, see ``app.workers.FunctionJob``)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geo-parallel")
        return _pool


def _forget_pool_in_child() -> None:
    # a forked process has none of its parent's threads: it starts a pool of its own
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def threaded_map(function: Callable[[T], R], items: Sequence[T], *, at_least: int) -> list[R]:
    """``[function(item) for item in items]``, on the worker threads when there are
    ``at_least`` items and more than one CPU, else here. ``function`` must not itself
    wait on the worker threads."""
    workers = thread_workers()
    if workers < 2 or len(items) < at_least:
        return [function(item) for item in items]
    return list(_threads(workers).map(function, items))


__all__ = ["MAX_THREADS", "thread_workers", "threaded_map"]
