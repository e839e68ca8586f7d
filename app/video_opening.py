"""A project's video opened off the GUI thread.

Opening a video reads it through once (every frame's time and the keyframes) and decodes
its first frame: a quarter of a second for the demo's 20 seconds of 720p on two cores,
seconds for a long 4K flight. :class:`VideoOpening` does it on a thread of its own, so
that the window shows the project meanwhile. Qt-free: a plain thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class VideoOpening:
    """Opens ``path``'s :class:`engine.video.VideoReader` on a thread, started at once.

    ``on_done(opening)`` is called on that thread once it is done: :attr:`reader` holds
    the reader and :attr:`first_frame` the video's first frame (the one a project opens
    on: shown without a decode on the GUI thread), or :attr:`error` why the video could
    not be opened (naming the file).
    :meth:`wait` waits for it where the caller cannot go on without the video;
    :meth:`discard` closes the reader of an opening no longer wanted (now, or when it
    is done).
    """

    def __init__(self, path: str | Path, on_done: Callable[[VideoOpening], None]) -> None:
        self.path = Path(path)
        self.reader: Any | None = None  # engine.video.VideoReader
        self.first_frame: Any | None = None  # core.types.Frame
        self.error: Exception | None = None
        self._on_done = on_done
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._discarded = False
        self._thread = threading.Thread(target=self._run, name="video-opening", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self) -> None:
        """Until the reader is open (or failed)."""
        self._done.wait()

    def discard(self) -> None:
        """The reader is not wanted: closed now if it is open, else once it is."""
        with self._lock:
            self._discarded = True
            reader, self.reader = (self.reader, None) if self._done.is_set() else (None, self.reader)
        if reader is not None:
            reader.close()

    def _run(self) -> None:
        reader, first, error = None, None, None
        try:
            from engine.video import VideoReader

            reader = VideoReader(self.path)
            first = reader.frame_at(0)
        except Exception as exc:  # noqa: BLE001 - handed to whoever opened the project, to say
            error = exc
            if reader is not None:
                reader.close()
                reader = None
        with self._lock:
            discarded = self._discarded
            if not discarded:
                self.reader, self.first_frame, self.error = reader, first, error
            self._done.set()
        if discarded:
            if reader is not None:
                reader.close()
            return
        self._on_done(self)
