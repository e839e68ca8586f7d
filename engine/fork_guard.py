"""Objects a forked child must never free: FFmpeg decoders, whose threads it does not have.

A video decoder runs threads of its own (frame threading), and freeing it joins them. A
child forked while a reader is open inherits the reader but none of those threads, and
freeing it there waits on them for ever. A child frees what its parent held when its
garbage collector finds a reader in a reference cycle, or when Python's after-fork
clean-up clears the thread-locals and handled exceptions of the threads it did not
inherit: in a child of multiprocessing's ``fork`` (torch DataLoader workers) or of a
subprocess with a ``preexec_fn`` (Ray starting its processes).

So each fork first takes a reference to every object registered here; the parent drops
it as soon as the fork is done, the child keeps it for its life (such children end with
``os._exit`` or ``exec``, never by freeing everything).
"""

from __future__ import annotations

import os
import threading
import weakref


class KeptOverFork:
    """The live objects :meth:`add` was given, kept alive in every child forked from here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: weakref.WeakSet[object] = weakref.WeakSet()
        self._held: list[object] = []  # during a fork: what the child keeps
        self._inherited: list[object] = []  # in a child: what its parents had, for good
        if hasattr(os, "register_at_fork"):  # POSIX
            os.register_at_fork(before=self._before_fork, after_in_parent=self._after_fork_in_parent,
                                after_in_child=self._after_fork_in_child)

    def add(self, obj: object) -> None:
        with self._lock:
            self._objects.add(obj)

    def __len__(self) -> int:
        return len(self._objects)

    def _before_fork(self) -> None:
        # held across the fork, so that no thread is halfway through add() in the child's copy
        self._lock.acquire()
        self._held = list(self._objects)

    def _after_fork_in_parent(self) -> None:
        self._held = []
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        self._inherited.extend(self._held)  # a fork from this child must not drop them either
        self._held = []
        self._lock.release()


#: Every open :class:`engine.video.VideoReader`.
VIDEO_DECODERS = KeptOverFork()

__all__ = ["VIDEO_DECODERS", "KeptOverFork"]
