"""DJI SRT files written by the tests: one-second cues with the payloads a test gives."""

from __future__ import annotations

from pathlib import Path


def write_srt(folder: Path, name: str, payloads: list[str]) -> Path:
    """``folder/name``: a DJI SRT of one-second cues, the ``i``-th holding ``payloads[i]``."""
    text = "\n".join(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i + 1:02d},000\n{payload}\n"
                     for i, payload in enumerate(payloads))
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
