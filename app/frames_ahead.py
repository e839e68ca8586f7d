"""Frames decoded ahead, on a thread of their own, for the player to show at once.

Showing a frame away from the one on screen means seeking back to a keyframe and decoding
forward to it: 0.4 s for a 720p frame on two cores, seconds for 4K, and the window waits.
In review the next frames are known (the best frames of the next sites in the list), so
they are decoded while the analyst looks at the current one, with a reader of their own,
and the player takes them from here. Qt-free: a plain thread and a lock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

#: Frames kept (the ones asked for ahead, and the last few shown from here).
KEPT_FRAMES = 8


class FramesAhead:
    """Decodes the frames :meth:`want` names, newest wish first, into a small LRU store
    that :meth:`take` reads. Its reader is opened on first use and closed with
    :meth:`close`; a frame that cannot be decoded is skipped (the player decodes it
    itself, and says why)."""

    def __init__(self, video_path: str | Path, *, kept: int = KEPT_FRAMES) -> None:
        self._path = Path(video_path)
        self._kept = kept
        self._frames: OrderedDict[int, Any] = OrderedDict()  # index -> core.types.Frame
        self._wanted: list[int] = []
        self._closed = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def want(self, indices: Iterable[int]) -> None:
        """Decode these frames next (in this order), instead of those asked for before."""
        with self._changed:
            if self._closed:
                return
            wanted = list(dict.fromkeys(int(i) for i in indices))[: self._kept]
            self._wanted = [i for i in wanted if i not in self._frames]
            for index in wanted:  # keep those already here from going first
                if index in self._frames:
                    self._frames.move_to_end(index)
            if self._wanted and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="frames-ahead", daemon=True)
                self._thread.start()
            self._changed.notify()

    def take(self, index: int) -> Any | None:
        """The frame at ``index`` if it was decoded ahead, else ``None``."""
        with self._changed:
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
            return frame

    def holds(self, index: int) -> bool:
        with self._changed:
            return index in self._frames

    def close(self) -> None:
        """Stop decoding (the thread ends after the frame it is on) and forget the frames."""
        with self._changed:
            self._closed = True
            self._wanted = []
            self._frames.clear()
            self._changed.notify()

    def _run(self) -> None:
        from engine.video import VideoReader

        reader = None
        try:
            while True:
                with self._changed:
                    while not self._wanted and not self._closed:
                        self._changed.wait()
                    if self._closed:
                        return
                    index = self._wanted.pop(0)
                try:
                    reader = reader or VideoReader(self._path)
                    frame = reader.frame_at(index)
                except Exception as exc:  # noqa: BLE001 - the player decodes it itself and says why
                    _log.debug("frame %s not decoded ahead: %s", index, exc)
                    continue
                with self._changed:
                    if self._closed:
                        return
                    self._frames[index] = frame
                    self._frames.move_to_end(index)
                    while len(self._frames) > self._kept:
                        self._frames.popitem(last=False)
        finally:
            if reader is not None:
                reader.close()
