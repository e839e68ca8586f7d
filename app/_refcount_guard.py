"""Keep CPython 3.11 alive under PySide6 6.12's reference-count bug.

PySide6/shiboken6 6.12 returns ``None`` from every void method (``QPainter.setPen``,
``QWidget.update``, ...) and ``True``/``False`` from ``Signal.emit`` without taking a
reference, as if they were immortal. They are immortal from Python 3.12 (PEP 683), not
on the 3.11 this project runs: each call drops one reference, and after some thousands
of paints CPython aborts with "Fatal Python error: none_dealloc: deallocating None"
(or ``bool_dealloc``). Reproduce with::

    n = sys.getrefcount(None); [painter.setPen(pen) for _ in range(1000)]
    sys.getrefcount(None) - n   # -1000 on 3.11 + PySide6 6.12.0

These singletons are never deallocated in a healthy interpreter, so adding a large
constant to their counts changes nothing else. It is done once, before any Qt call,
and is a no-op from Python 3.12. Remove it with the next PySide6 that increments.
"""

from __future__ import annotations

import sys

_HEADROOM = 1 << 40  # a trillion leaked references: years of painting at 60 fps


def pin_singletons() -> None:
    """Give ``None``, ``True`` and ``False`` enough references to never reach zero."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import ctypes

    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field
        if refcount.value < _HEADROOM:
            refcount.value += _HEADROOM


pin_singletons()
