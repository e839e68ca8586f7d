"""Keeping freed memory in the process while a CPU analysis runs.

Every frame through the detector allocates and frees the same large blocks (RoI
features of 1000 proposals, upsampled mask activations: ~50 MB each at 720p). glibc
serves blocks over its mmap threshold with fresh ``mmap`` pages and unmaps them on
``free``, so each frame pays for the same memory again in page faults: measured 70,000
minor faults and ~100 ms of system time per 720p frame on 2 cores. While
:func:`retain_freed_memory` is active, glibc takes all memory from its heaps and does not
trim them, so those pages are reused; afterwards its defaults come back and the memory
kept is handed back.

Elsewhere (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections.abc import Callable, Iterator

# glibc's mallopt() parameters and their documented defaults (malloc.h, mallopt(3)).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
#: freed heap memory kept before glibc gives it back (while retained)
_RETAINED_TRIM_THRESHOLD = 1 << 30

_lock = threading.Lock()
_active = 0


def _libc_function(name: str, argtypes: tuple[type, ...]) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function


def _mallopt() -> Callable[[int, int], int] | None:
    return _libc_function("mallopt", (ctypes.c_int, ctypes.c_int))


def _malloc_trim() -> Callable[[int], int] | None:
    return _libc_function("malloc_trim", (ctypes.c_size_t,))


@contextlib.contextmanager
def retain_freed_memory() -> Iterator[bool]:
    """Keep freed memory for reuse inside the block; yields whether it could.

    Nested and concurrent uses are counted: the defaults return when the last ends.
    """
    global _active
    mallopt = _mallopt()
    if mallopt is None:
        yield False
        return
    with _lock:
        if _active == 0:
            mallopt(_M_MMAP_MAX, 0)
            mallopt(_M_TRIM_THRESHOLD, _RETAINED_TRIM_THRESHOLD)
        _active += 1
    try:
        yield True
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                trim = _malloc_trim()
                if trim is not None:
                    trim(0)  # hand what the run kept back to the system now


__all__ = ["retain_freed_memory"]
