"""Work on a long flight's many pieces spread over a few threads.

A long flight's map places tens of thousands of sightings and builds hundreds of sites
again at each build (a review decision, a threshold step). Much of that time is GEOS
(shapely), OpenCV and numpy, which run without the GIL, so a few threads shorten it. Each
piece is computed alone and the results come back in order: the same as computed one
after another.
"""

from __future__ import annotations

import os
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


def threaded_map(function: Callable[[T], R], items: Sequence[T], *, at_least: int, name: str) -> list[R]:
    """``[function(item) for item in items]``, on :func:`thread_workers` threads (named
    ``name``) when there are ``at_least`` items and more than one CPU, else here."""
    workers = thread_workers()
    if workers < 2 or len(items) < at_least:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        return list(pool.map(function, items))


__all__ = ["MAX_THREADS", "thread_workers", "threaded_map"]
