"""The one error hierarchy of damagemap.

Every message says what was expected, what arrived (``!r``) and what to do next, and
names the file involved where there is one, so the CLI can print it as one line and the
GUI can show it in one dialog (``app/errors.py``).
"""

from __future__ import annotations


class DamagemapError(Exception):
    """Root of every error damagemap raises on purpose."""


class InputError(DamagemapError):
    """A user-supplied file or value is missing, malformed or unusable."""


class VideoError(InputError):
    """A video cannot be opened or decoded."""


class TelemetryError(InputError):
    """A telemetry file (GPX, SRT, CSV) cannot be read or does not fit the video."""


class GeoreferenceError(DamagemapError):
    """A pixel or detection cannot be placed on the ground."""


class ModelError(DamagemapError):
    """Model weights or configuration are wrong, corrupt or incompatible."""


class StoreError(DamagemapError):
    """A project store cannot be opened, read or written."""


class ProjectExistsError(StoreError):
    """A project could not be created because the file exists (possibly created by
    another process a moment ago): open it instead."""


class ExportError(DamagemapError):
    """An export could not be written (full disk, permissions, bad target)."""


class DamagemapWarning(UserWarning):
    """Warnings we emit on purpose; the test suite turns them into errors."""
