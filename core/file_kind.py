"""What a path that is not a regular file is, in words, for the messages that refuse it."""

from __future__ import annotations

import stat


def special_file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` that is not a regular file is, in words
    (``"a named pipe"``...): reading one as a video, a log or a project would wait for
    ever or read nothing."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


__all__ = ["special_file_kind"]
