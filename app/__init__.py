"""The desktop GUI and the command line; the only package that imports Qt."""

from app import _refcount_guard  # noqa: F401 - must run before any PySide6 call
