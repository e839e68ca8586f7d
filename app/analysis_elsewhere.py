"""Following an analysis another process runs on the open project.

``damagemap analyze`` in a terminal, on the project the window has open, records itself
with each frame it stores (:meth:`core.store.ProjectStore.active_writer`). The window
looks at the project every :data:`ElsewhereWatch.POLL_MS` (``PRAGMA data_version``: one
cheap read while nothing changes), says at once which process analyses which run and
how far it is, shows its frames as they are stored, refuses a second analysis meanwhile
and reads the run again when the other process ends (it finished, was stopped, or went
silent for :data:`core.store.WRITER_ACTIVE_S`).

What is read on each change (the run's frame list, the new frames' detections) is a few
indexed queries, as the window reads its own analysis's frames: it stays on the GUI
thread, through the document's connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import StoreError
from core.store import analysed_elsewhere_message, describe_writer

if TYPE_CHECKING:  # pragma: no cover
    from app.document import ProjectDocument


@dataclass(frozen=True, slots=True)
class AnalysisElsewhere:
    """A run another process is analysing now, as far as it has stored it."""

    run_id: int
    writer: Mapping[str, Any]
    frames_stored: int
    #: the frames the run analyses in all (``None``: its settings do not say)
    frames_planned: int | None

    @property
    def refusal(self) -> str:
        """Why the window does not analyse the project meanwhile."""
        return (f"This project's {analysed_elsewhere_message(self.run_id, self.writer)} (the window shows its frames "
                "as they are stored).")

    @property
    def progress_text(self) -> str:
        """``run 2 analysed by process 123 on host: 14 of 40 frames stored``"""
        of = "" if self.frames_planned is None else f" of {self.frames_planned}"
        return (f"run {self.run_id} analysed by process {self.writer.get('pid')} on {self.writer.get('host')}: "
                f"{self.frames_stored}{of} frames stored")

    @property
    def started_text(self) -> str:
        writer = describe_writer(self.writer)
        return (f"{writer[0].upper()}{writer[1:]} is analysing run {self.run_id} of this project: the "
                "window shows its frames as they are stored")


class ElsewhereWatch(QObject):
    """Watches the document's project for an analysis another process runs.

    Signals
    -------
    changed(object)
        The analysis seen (:class:`AnalysisElsewhere`) when it starts and as it stores
        frames; ``None`` when it ended (or the project closed).
    ended(object)
        The last :class:`AnalysisElsewhere` seen, once the other process ended.
    """

    #: how often the project is looked at, milliseconds
    POLL_MS = 1000

    changed = Signal(object)
    ended = Signal(object)

    def __init__(self, document: ProjectDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._current: AnalysisElsewhere | None = None
        self._seen_version: int | None = None
        self._planned: dict[int, int | None] = {}  # run -> frames planned, counted once
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self.check)
        document.opened.connect(self._on_opened)
        document.closed.connect(self._on_closed)
        document.video_ready.connect(self._on_video_ready)

    @property
    def current(self) -> AnalysisElsewhere | None:
        """The analysis another process runs on the open project now, or ``None``."""
        return self._current

    def _on_opened(self) -> None:
        self._seen_version = None
        self._planned.clear()
        self.check()
        self._timer.start()

    def _on_video_ready(self) -> None:
        if self._current is not None:  # the frames planned are counted now the video's frames are known
            self.check()

    def _on_closed(self) -> None:
        self._timer.stop()
        if self._current is not None:
            self._current = None
            self.changed.emit(None)

    def check(self, *, force: bool = False) -> AnalysisElsewhere | None:
        """Look at the project now: follow, refresh or end the analysis seen elsewhere.
        Cheap while nothing changed and nothing is followed (``force``: look all the
        same, before an analysis starts)."""
        doc = self.document
        store = doc.store
        if store is None or (doc.analysis_running and self._current is None):
            return self._current  # the window's own analysis: it shows its frames itself
        try:
            version = store.data_version()
            if version == self._seen_version and self._current is None and not force:
                return None
            self._seen_version = version
            found = store.analysed_elsewhere()
        except StoreError:  # the project went away: said when it is next used
            return self._current
        if found is None:
            if self._current is not None:
                self._end()
            return None
        run, writer = found
        if self._current is None:
            # before the switch to its run: the panels wait for its end to list the sites and map
            # them, not build them from the frames stored so far
            doc.set_analysis_running(True)
        if run.id != doc.run_id:
            doc.follow_run(run.id)
        new = set(store.analysed_frames(run.id)) - set(doc.analysed_frames())
        if new:
            doc.refresh_frames(new)
        planned = self._planned_frames(run.id, run.settings)
        started = self._current is None
        self._current = AnalysisElsewhere(run.id, writer, len(doc.analysed_frames()), planned)
        self.changed.emit(self._current)
        if started:
            doc.notice.emit(self._current.started_text)
        return self._current

    def _planned_frames(self, run_id: int, settings: Mapping[str, Any]) -> int | None:
        """The frames the run will store, counted once from the video's frame times;
        ``None`` (not counted yet) while the video is opened off the GUI thread, when only
        the frames analysed so far are known."""
        if self.document.video_loading:
            return None
        if run_id not in self._planned:
            from services.analysis import planned_frame_count

            self._planned[run_id] = planned_frame_count(settings, list(self.document.frame_times().values()))
        return self._planned[run_id]

    def _end(self) -> None:
        """The other process ended: its last frames, then the run read again as a whole."""
        doc = self.document
        last = self._current
        self._current = None
        try:
            new = set(doc.store.analysed_frames(last.run_id)) - set(doc.analysed_frames())
        except StoreError:
            new = set()
        if new and doc.run_id == last.run_id:
            doc.refresh_frames(new)
        doc.set_analysis_running(False)
        self.changed.emit(None)
        self.ended.emit(AnalysisElsewhere(last.run_id, last.writer, len(doc.analysed_frames()), last.frames_planned))
