"""Reading a telemetry file's bytes as text, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

from core.errors import TelemetryError

#: Telemetry files larger than this are refused (a DJI SRT of one hour is ~30 MB).
MAX_TEXT_BYTES = 512 * 1024 * 1024


def read_text(path: Path, what: str) -> str:
    """Decode a text telemetry file: UTF-8 (BOM allowed), else Latin-1.

    Raises
    ------
    TelemetryError
        If the file is missing, unreadable, empty, too large or binary.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TelemetryError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if size == 0:
        raise TelemetryError(f"{path}: the {what} file is empty")
    if size > MAX_TEXT_BYTES:
        raise TelemetryError(f"{path}: {size} bytes is too large for a {what} file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TelemetryError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if b"\x00" in data[:4096]:
        raise TelemetryError(f"{path}: binary data, not a {what} text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
