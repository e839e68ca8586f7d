"""Reading a telemetry file's bytes as text, with errors that name the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import TelemetryError
from core.file_kind import special_file_kind

#: Telemetry files larger than this are refused (a DJI SRT of one hour is ~30 MB).
MAX_TEXT_BYTES = 512 * 1024 * 1024


def regular_file(path: Path, what: str) -> os.stat_result:
    """``path``'s stat, or a :class:`TelemetryError` naming it and ``what`` it should be
    (``"telemetry file"``, ``"video file"``): missing, unreadable, a folder, or another
    file that is not a regular one (a named pipe would block a read for ever)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise TelemetryError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise TelemetryError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise TelemetryError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise TelemetryError(f"{path}: {special_file_kind(info.st_mode)}, not a regular file; give the {what} itself")
    return info


def _utf16(data: bytes) -> str | None:
    """``data`` as UTF-16 text where it is that (a byte-order mark, or ASCII with every
    other byte 0, as some editors save a subtitle or a GPX), else ``None``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data[1:4096:2].count(0) > 0.9 * len(data[1:4096:2]) and 0 not in data[0:4096:2]:
        encoding = "utf-16-le"
    elif data[0:4096:2].count(0) > 0.9 * len(data[0:4096:2]) and 0 not in data[1:4096:2]:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def read_text(path: Path, what: str) -> str:
    """Decode a text telemetry file: UTF-8 (BOM allowed), UTF-16, else Latin-1.

    Raises
    ------
    TelemetryError
        If the file is missing, not a regular file (a named pipe would block the read
        for ever), unreadable, empty, too large or binary (zero bytes at its end are
        dropped, not taken for binary data).
    """
    size = regular_file(path, f"{what} file").st_size
    if size == 0:
        raise TelemetryError(f"{path}: the {what} file is empty")
    if size > MAX_TEXT_BYTES:
        raise TelemetryError(f"{path}: {size} bytes is too large for a {what} file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TelemetryError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    # A logger that lost power mid-flight may leave the rest of its (preallocated) file as
    # zero bytes: the text is what comes before them.
    written = data.rstrip(b"\x00")
    if not written:
        raise TelemetryError(f"{path}: binary data, not a {what} text file")
    if written.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in written[:4096]:
        text = _utf16(data[:len(written) + len(written) % 2])  # a UTF-16-LE text ends in a zero byte
        if text is None:
            raise TelemetryError(f"{path}: binary data, not a {what} text file")
        return text.rstrip("\x00")
    try:
        return written.decode("utf-8-sig")
    except UnicodeDecodeError:
        return written.decode("latin-1")
