"""Before a test forks: this process's long-lived threads that decoded video, stopped.

PyAV keeps a frame scaler per thread that ever converted a frame (a thread-local). A
child forked with Python's after-fork clean-up (multiprocessing's ``fork``, a subprocess
with a ``preexec_fn``, as Ray starts its processes) frees the other threads' locals, and
freeing a scaler waits on FFmpeg's slice threads, which the child does not have: the
child hangs, and the test with it. A thread that has ended freed its scaler here, where
its slice threads are. The window's job threads (``app.workers``) and frame readers
(``app.frames_ahead``) live on between tests in one process; they start again when
next asked for.
"""

from __future__ import annotations

import sys
import threading

_THREAD_END_S = 5.0


def stop_decoding_threads() -> None:
    workers = sys.modules.get("app.workers")
    if workers is not None:
        executors = list(workers._EXECUTORS.values())
        workers._EXECUTORS.clear()
        for executor in executors:
            executor.shutdown(wait=True)
    for thread in threading.enumerate():
        if thread.name == "frames-ahead":
            thread.join(timeout=_THREAD_END_S)
