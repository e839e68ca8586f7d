"""The desktop GUI and the command line; the only package that imports Qt.

Every module here that imports PySide6 or superqt imports :mod:`app._refcount_guard`
first (a test checks it), so the PySide6 workaround runs with Qt and only with it: the
command line (``app.cli``, ``app.commands``) stays Qt-free.
"""
