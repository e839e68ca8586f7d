"""Frames decoded ahead, on a thread of their own, for the player to show at once.

Showing a frame away from the one on screen means seeking back to a keyframe and decoding
forward to it: 0.4 s for a 720p frame on two cores, seconds for 4K, and the window waits.
In review the next frames are known (the best frames of the next sites in the list), so
they are decoded while the analyst looks at the current one, with a reader of their own,
and the player takes them from here. A frame the player wants now and does not hold
(:meth:`FramesAhead.want_now`) goes before them, and ``on_decoded`` says when it is here,
so that the window never waits for a seek. Qt-free: a plain thread and a lock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

#: Frames kept (the ones asked for ahead, and the last few shown from here).
KEPT_FRAMES = 8


class FramesAhead:
    """Decodes the frames :meth:`want` names, newest wish first, into a small LRU store
    that :meth:`take` reads. Its reader is opened on first use and closed with
    :meth:`close`; a frame wished ahead that cannot be decoded is skipped (the player
    decodes it itself, and says why), one wanted now keeps its error for :meth:`take`.

    ``on_decoded(index)`` is called on the decoding thread once the frame asked for by
    :meth:`want_now` is here (or failed); ``reader_factory`` opens the reader (the
    tests give one that waits).
    """

    def __init__(
        self,
        video_path: str | Path,
        *,
        kept: int = KEPT_FRAMES,
        on_decoded: Callable[[int], None] | None = None,
        reader_factory: Callable[[Path], Any] | None = None,
    ) -> None:
        self._path = Path(video_path)
        self._kept = kept
        self._on_decoded = on_decoded
        self._reader_factory = reader_factory
        self._frames: OrderedDict[int, Any] = OrderedDict()  # index -> core.types.Frame
        self._wanted: list[int] = []
        self._now: int | None = None  # the frame the player waits for, decoded first
        self._failed: dict[int, Exception] = {}  # the frame wanted now, when it could not be decoded
        #: the frame wanted now, once decoded: apart from the frames ahead, so that playing on
        #: from a seek (every frame wanted now) does not push them out
        self._arrived: Any | None = None
        #: the reader that decoded it, on the frame after it: the player's own from there
        #: (:meth:`trade_reader`), so that playing or stepping on from it costs no seek
        self._handed: Any | None = None
        #: the reader the player gave back, for the next frame wanted now
        self._spare: Any | None = None
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
            self._start()
            self._changed.notify()

    def want_now(self, index: int) -> None:
        """Decode this frame before any wished ahead (the one on it is finished first), and
        call ``on_decoded`` when it is here; it replaces one asked for now before."""
        with self._changed:
            if self._closed:
                return
            self._now = int(index)
            self._failed.clear()
            self._start()
            self._changed.notify()

    def keep(self, frame: Any) -> None:
        """Hold a frame decoded elsewhere (the one the player shows: an undo goes back to it)."""
        with self._changed:
            if self._closed:
                return
            self._frames[frame.index] = frame
            self._frames.move_to_end(frame.index)
            self._trim()

    def take(self, index: int) -> Any | None:
        """The frame at ``index`` if it was decoded ahead, else ``None``; raises the error of
        a frame :meth:`want_now` could not decode."""
        with self._changed:
            failed = self._failed.pop(index, None)
            if failed is not None:
                raise failed
            if self._arrived_at(index):
                return self._arrived
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
            return frame

    def trade_reader(self, index: int, reader: Any) -> Any | None:
        """The reader that decoded the frame wanted now at ``index`` (it stands on the next
        frame), for ``reader`` (the player's, then used for the next frame wanted now);
        ``None`` where there is none to trade (the frame came from the frames ahead)."""
        with self._changed:
            if self._closed or self._handed is None or not self._arrived_at(index):
                return None
            handed, self._handed = self._handed, None
            if self._spare is None:
                self._spare, reader = reader, None
        if reader is not None:
            reader.close()
        return handed

    def holds(self, index: int) -> bool:
        with self._changed:
            return self._holds(index)

    def close(self) -> None:
        """Stop decoding (the thread ends after the frame it is on) and forget the frames."""
        with self._changed:
            self._closed = True
            self._wanted = []
            self._now = None
            self._frames.clear()
            self._failed.clear()
            self._arrived = None
            readers = [r for r in (self._handed, self._spare) if r is not None]
            self._handed = self._spare = None
            self._changed.notify()
        for reader in readers:
            reader.close()

    def _arrived_at(self, index: int) -> bool:
        """Whether the frame wanted now that arrived last is ``index``'s (the lock held)."""
        return self._arrived is not None and self._arrived.index == index

    def _holds(self, index: int) -> bool:
        """Whether ``index``'s frame is here: decoded ahead, kept, or arrived (the lock held)."""
        return index in self._frames or self._arrived_at(index)

    def _start(self) -> None:
        """Start the decoding thread on the first wish (the lock held)."""
        if (self._wanted or self._now is not None) and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="frames-ahead", daemon=True)
            self._thread.start()

    def _trim(self) -> None:
        while len(self._frames) > self._kept:
            self._frames.popitem(last=False)

    def _open_reader(self) -> Any:
        if self._reader_factory is not None:
            return self._reader_factory(self._path)
        from engine.video import VideoReader

        return VideoReader(self._path)

    def _run(self) -> None:
        reader = None
        try:
            while True:
                with self._changed:
                    while not self._wanted and self._now is None and not self._closed:
                        self._changed.wait()
                    if self._closed:
                        return
                    urgent = self._now is not None
                    index = self._now if urgent else self._wanted.pop(0)
                    self._now = None
                    # decoded ahead while it was asked for, or kept
                    here = self._holds(index)
                if here:
                    if urgent and self._on_decoded is not None:
                        self._on_decoded(index)
                    continue
                error: Exception | None = None
                if urgent:  # on a reader of its own, handed to the player with the frame
                    with self._changed:
                        reader_now, self._spare = self._spare, None
                try:
                    if urgent:
                        reader_now = reader_now or self._open_reader()
                        frame = reader_now.frame_at(index)
                    else:
                        reader = reader or self._open_reader()
                        frame = reader.frame_at(index)
                except Exception as exc:  # noqa: BLE001 - one wished ahead: the player decodes it itself
                    _log.debug("frame %s not decoded ahead: %s", index, exc)
                    error = exc
                with self._changed:
                    if self._closed:
                        if urgent and reader_now is not None:
                            reader_now.close()
                        return
                    old = None
                    if urgent and error is None:
                        self._arrived = frame
                        old, self._handed = self._handed, reader_now
                    elif urgent:
                        old, self._spare = self._spare, reader_now
                    elif error is None:
                        self._frames[index] = frame
                        self._frames.move_to_end(index)
                        self._trim()
                    if urgent and error is not None:
                        self._failed[index] = error
                if old is not None:
                    old.close()
                if urgent and self._on_decoded is not None:
                    self._on_decoded(index)
        finally:
            if reader is not None:
                reader.close()
