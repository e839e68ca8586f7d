"""Suite-wide set-up.

PySide6 6.12 on CPython 3.11 leaks references to ``None``/``True``/``False`` on every
void Qt call (see ``app/_refcount_guard.py``). ``app`` pins them on import, but the geo
tests render the HTML map in QtWebEngine without importing ``app``: pin them here too,
before any test touches Qt.
"""

import app._refcount_guard  # noqa: F401  (side effect: pins the singletons)
