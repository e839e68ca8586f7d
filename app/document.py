"""The open project as the GUI sees it: store, video, current run, review history.

:class:`ProjectDocument` is the window's model (MNELAB's ``MainWindow(model)``). It keeps
the project store connection of the GUI thread, a random-access video reader, the
review session of the current run with its :class:`QUndoStack`, and a per-frame cache of
detections. It announces what changed with signals and knows nothing about widgets.
Workers never share its store connection: SQLite connections stay on their thread, so
each worker opens the project again (WAL lets readers and one writer coexist).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.frames_ahead import FramesAhead
from app.video_opening import VideoOpening
from app.undo import ChangedOutside, ReviewCommand, SettingsCommand
from core.errors import InputError, StoreError, VideoError
from core.review import ReviewChangedElsewhere
from core.settings import ProjectSettings
from core.types import DamageLevel, Detection, Frame, ReviewState
from services.project import MissingVideoError, default_project_path, is_video_path, opens_as_video

if TYPE_CHECKING:  # pragma: no cover
    from core.review import Changes

_log = logging.getLogger(__name__)

__all__ = ["MissingVideoError", "ProjectDocument", "VideoChangedError", "default_project_path", "is_video_path"]


class ProjectDocument(QObject):
    """The project open in the window.

    Signals
    -------
    opened()
        A project was opened (everything must be redrawn).
    closed()
        The project was closed.
    detections_changed(object)
        ``frozenset[int]`` of frame indices whose detections changed.
    run_changed(object)
        The current run id (``int | None``) changed.
    telemetry_changed()
        The telemetry file or the project settings changed: the map must be rebuilt.
    track_replaced()
        Another telemetry file was attached (emitted just before ``telemetry_changed``):
        the map and sites placed with the one before are stale until rebuilt.
    current_frame_changed(int, float)
        The frame shown (index, pts in seconds).
    selection_changed(object)
        The selected detection id (``int | None``).
    analysis_running_changed(bool)
        An analysis started (``True``) or ended.
    detection_requested(int, object)
        A panel asks to show a frame and select a detection in it (``int | None``).
    highlight_requested(object)
        A panel asks to light up the site of a detection on the map for a moment (the
        pointer is over it; ``None``: back to the selection).
    score_threshold_changed(float)
        The score threshold changed: the one value every view filters by (overlays,
        timeline, map sites, review table, site counts); saved in the project as the
        map's minimum score, so the exports keep what the window shows.
    notice(str)
        A short message for the status bar.
    sites_changed()
        The run's damage sites were read again (:meth:`site_assignments` gives them).
    stepped(object, bool)
        An undo or a redo (not an edit as it is made): what it changed
        (``core.review.Changes``), and whether it was a redo, for the views to go to it.
    review_changed(object)
        The run's review changed: an edit, an undo or a redo (what it changed,
        ``core.review.Changes``), or review done outside the window read again (``None``:
        anything may have changed). Emitted before ``detections_changed``.
    frame_arrived(int)
        The frame :meth:`frame_at_hand` last did not hold was decoded off the GUI thread
        (or the video it is in was opened): asking for it again gives it (or raises why it
        could not be decoded).
    video_lost(str)
        The project's video was moved away, cut short or replaced since it was opened (said
        once, naming the file and what to do): no frame is shown from it any more
        (:attr:`video_lost_reason`), and what needs no frames (the review, the sites, the map) goes on.
    video_ready()
        The project's video, opened off the GUI thread after ``opened``
        (:attr:`video_loading` until then), is here: its frame count, rate and length
        (:attr:`video_info`) with it. A video that cannot be opened closes the project
        instead, and says why.
    """

    opened = Signal()
    closed = Signal()
    detections_changed = Signal(object)
    run_changed = Signal(object)
    telemetry_changed = Signal()
    track_replaced = Signal()
    current_frame_changed = Signal(int, float)
    selection_changed = Signal(object)
    analysis_running_changed = Signal(bool)
    detection_requested = Signal(int, object)
    highlight_requested = Signal(object)
    score_threshold_changed = Signal(float)
    notice = Signal(str)
    sites_changed = Signal()
    stepped = Signal(object, bool)
    flight_in_survey_changed = Signal()
    review_changed = Signal(object)
    frame_arrived = Signal(int)
    video_ready = Signal()
    video_lost = Signal(str)
    #: a frame wanted now was decoded (emitted on the decoding thread, handled on the GUI's)
    _frame_decoded = Signal(int)
    #: the video was opened, or failed to (emitted on the opening thread: app.video_opening.VideoOpening)
    _video_opened = Signal(object)

    #: A burst of threshold changes (a slider drag) is saved to the project once, this
    #: long after the last one (saving rebuilds the map).
    THRESHOLD_SAVE_DELAY_MS = 600
    #: How often the open project is looked at for review done outside the window (the
    #: command line's `survey decide`, another window), milliseconds.
    WATCH_INTERVAL_MS = 1500
    #: The most pixels :meth:`frame_at_hand` decodes on the GUI thread for one frame (the
    #: frames from where the reader stands, or from the keyframe a seek lands on, times a
    #: frame's size): four 720p frames, about 15 ms on a slow laptop core. A frame further
    #: away is decoded on a thread (0.4 s for a 720p seek; seconds for 4K), the window
    #: turning meanwhile.
    GUI_DECODE_PIXELS = 4 * 1280 * 720
    #: Whether the project's video is opened off the GUI thread (:attr:`video_loading` until
    #: ``video_ready``): reading it through and decoding its first frame takes a quarter of a
    #: second for the demo, seconds for a long 4K flight. ``False``: in ``open_*`` on the
    #: caller's thread, before ``opened``, raising why it cannot be opened (the tests that
    #: act on the player as soon as a project is open).
    VIDEO_OFF_GUI_THREAD = True
    GUI_DECODE_LEAST_FRAMES = 2
    #: Playback decodes its next frames here, whatever their size, as long as they are this
    #: few on from where the reader stands (a slow paint skips a frame or two); a seek while
    #: playing (the slider dragged, a key's jump) is decoded on the thread as any other.
    PLAYING_DECODE_FRAMES = 4

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.store = None
        self._reader = None  # engine.video.VideoReader: the player's, on the GUI thread
        self._video_info = None  # engine.video.VideoInfo, once the video is opened
        self._video_opening: VideoOpening | None = None  # the video being opened off the GUI thread
        self._video_stamp: _FileStamp | None = None  # the video file as it was when opened
        self._video_lost: str | None = None  # why its frames are not shown any more (video_lost)
        self._frames_ahead: FramesAhead | None = None  # the review's next frames, decoded ahead
        self._awaited_frame: int | None = None  # the frame being decoded off the GUI thread to show
        self._restoring_history = False  # the undo stack is being rebuilt from the project's history
        self._shown_frame: Frame | None = None  # the frame last given to show (an edit's undo goes back to it)
        self._review_next: list[int] = []  # the frames the Sites list goes to next (prefetch_frames)
        self._frame_decoded.connect(self._on_frame_decoded)
        self._video_opened.connect(self._on_video_opened)
        self.undo_stack.indexChanged.connect(self._on_undo_moved)
        self._score_floor = 0.0  # the run's analysis kept nothing scoring less (score_floor)
        self.run_id: int | None = None
        self.session = None
        self._frame_detections: dict[int, list[Detection]] = {}
        self._analysed: dict[int, float] = {}
        self._current_frame = 0
        self._current_pts = 0.0
        self._selected_id: int | None = None
        self._analysis_running = False
        self._author: str | None = None
        self._site_of: dict[int, int] = {}
        self._unconfirmed_sites: frozenset[int] = frozenset()
        #: the survey (core.survey.Survey) the open project is a flight of, or None: the
        #: Sites panel carries the decisions its other flights made at the same places
        self.survey = None
        #: what the survey's other flights say around the open flight
        #: (services.survey.FlightInSurvey, read on the job thread), or None
        self.flight_in_survey = None
        from core.settings import DEFAULT_MIN_SCORE

        self._score_threshold = float(DEFAULT_MIN_SCORE)
        self._following_threshold = False
        self._threshold_timer = QTimer(self)
        self._threshold_timer.setSingleShot(True)
        self._threshold_timer.setInterval(self.THRESHOLD_SAVE_DELAY_MS)
        self._threshold_timer.timeout.connect(self.save_score_threshold)
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(self.WATCH_INTERVAL_MS)
        self._watch_timer.timeout.connect(self.check_outside_changes)
        self._seen_version: int | None = None  # the project's data_version when last looked at
        self._seen_edit: int | None = None  # the newest line of the run's review history the window knows
        self._opening = False
        self._all_light: tuple[int, list[Detection]] | None = None  # the run's detections without masks

    # -- opening -----------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.store is not None

    @property
    def project_path(self) -> Path | None:
        return None if self.store is None else Path(self.store.path)

    @property
    def video_path(self) -> Path | None:
        return None if self.store is None else Path(self.store.video_path)

    @property
    def telemetry_path(self) -> Path | None:
        if self.store is None or self.store.telemetry_path is None:
            return None
        return Path(self.store.telemetry_path)

    def open_path(self, path: Path) -> None:
        """Open a video (creating or reusing the project beside it) or a project file."""
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such file; pick an existing video or .dmproj project")
        if path.is_dir():
            raise InputError(f"{path} is a folder; pick a video or a .dmproj project inside it")
        if opens_as_video(path):
            self.open_video(path)
        else:
            self.open_project(path)

    def open_video(self, video_path: Path, project_path: Path | None = None) -> None:
        """Open a video: reuse its project if there is one, else create it.

        Telemetry with the same stem beside the video (GPX, DJI SRT, CSV) is attached.
        """
        from services.project import open_or_create_project

        self._attach(open_or_create_project(Path(video_path), project_path))

    def open_project(self, project_path: Path, *, video_path: Path | None = None) -> None:
        """Open a project file; ``video_path`` points it at a moved video first.

        Raises :class:`MissingVideoError` when the video is not found, so the caller can
        ask the user where it went.
        """
        from services.project import open_project

        self._attach(open_project(Path(project_path), video_path=video_path))

    def save_as(self, target: Path) -> Path:
        """Continue in a copy of the project at ``target`` (``.dmproj`` added if missing).

        The project is closed first: when its last connection closes, SQLite folds the
        write-ahead log into the file, so a plain file copy is complete. The copy's video
        and telemetry references are renewed relative to its new folder. The review
        history is kept in the file, and the undo stack is rebuilt from it.
        """
        from core.store import PROJECT_SUFFIX, ProjectStore

        if self.store is None:
            raise StoreError("no project is open")
        target = Path(target)
        if target.suffix.lower() != PROJECT_SUFFIX:
            target = target.with_name(target.name + PROJECT_SUFFIX)
        source = self.project_path
        if target.resolve() == source.resolve():
            return target
        if target.exists():
            raise StoreError(f"{target}: a file with this name exists; choose another name")
        video, telemetry = self.video_path, self.telemetry_path
        kept = self._keep_video()  # the copy shows the same video: not read through again
        self.close()
        # copied under a temporary name and renamed when whole: a copy cut by a full disk
        # stayed as a damaged project, and the next try said "a file with this name exists"
        partial = target.with_name(f".{target.name}.part")
        try:
            shutil.copy2(source, partial)
            partial.rename(target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            self._attach(self._reopened(source, kept), kept)
            raise StoreError(f"{target}: cannot write the copy ({exc.strerror})") from None
        store = self._reopened(target, kept)
        store.set_video(video)
        store.set_telemetry(telemetry)
        self._attach(store, kept)
        return target

    @staticmethod
    def _reopened(path: Path, kept: _KeptVideo):  # noqa: ANN205 - core.store.ProjectStore
        """``path``'s project opened again; ``kept`` closed where it cannot be."""
        from core.store import ProjectStore

        try:
            return ProjectStore.open(path)
        except BaseException:
            kept.close()
            raise

    def _keep_video(self) -> _KeptVideo:
        """Take the open video (its reader, or its opening under way, and the frames decoded
        ahead) from the project, for :meth:`_attach` to give the next project on the same
        file: :meth:`close` then leaves them open."""
        kept = _KeptVideo(self.video_path, self._reader, self._video_info, self._video_opening,
                          self._frames_ahead, self._video_stamp, self._video_lost)
        self._reader = self._video_info = self._video_opening = self._frames_ahead = None
        return kept

    def _attach(self, store, kept: _KeptVideo | None = None) -> None:  # noqa: ANN001 - core.store.ProjectStore
        """Show ``store``'s project; its video is opened off the GUI thread meanwhile
        (:attr:`video_loading`, then ``video_ready``; :attr:`VIDEO_OFF_GUI_THREAD`).
        ``kept`` (:meth:`_keep_video`): the video open before, used again where ``store``'s
        is the same file (Save As), else closed."""
        if kept is not None and not kept.is_for(Path(store.video_path)):
            kept.close()
            kept = None
        reader = None
        if kept is None and not self.VIDEO_OFF_GUI_THREAD:
            from engine.video import VideoReader

            try:
                reader = VideoReader(store.video_path)
            except Exception:
                store.close()
                raise
        self.close()
        self.store = store
        if kept is not None:
            self._reader, self._video_info, self._video_opening = kept.reader, kept.info, kept.opening
            self._frames_ahead, self._video_stamp, self._video_lost = kept.frames_ahead, kept.stamp, kept.lost
        else:
            self._video_stamp = _FileStamp.of(Path(store.video_path))
            if reader is None:
                self._video_opening = VideoOpening(store.video_path, self._announce_video_opened)
            else:
                self._reader, self._video_info = reader, reader.info
        if self._frames_ahead is None and self._video_lost is None:
            self._frames_ahead = FramesAhead(store.video_path, on_decoded=self._announce_decoded)
        self._score_threshold = float(store.project_settings().min_score)
        self._opening = True
        try:
            self._set_run(store.latest_run_id())
        finally:
            self._opening = False
        self.opened.emit()
        self.score_threshold_changed.emit(self._score_threshold)
        self._watch_timer.start()
        if self._video_lost is not None:  # a copy (Save As) of a project whose video changed: said again
            self.video_lost.emit(self._video_lost)

    def close(self) -> None:
        if self.store is None:
            return
        if self._threshold_timer.isActive():
            self.save_score_threshold()
        self._watch_timer.stop()
        self.undo_stack.clear()
        self.session = None
        self.run_id = None
        self._score_floor = 0.0
        self._forget_detections()
        self._analysed.clear()
        self._current_frame, self._current_pts, self._selected_id = 0, 0.0, None
        if self._frames_ahead is not None:
            self._frames_ahead.close()
            self._frames_ahead = None
        self._awaited_frame, self._shown_frame, self._review_next = None, None, []
        if self._video_opening is not None:
            self._video_opening.discard()
            self._video_opening = None
        if self._reader is not None:
            self._reader.close()
        self._reader = None
        self._video_info = None
        self._video_stamp = self._video_lost = None
        self.store.close()
        self.store = None
        self.survey = None
        self.flight_in_survey = None
        self.set_sites({})
        self.closed.emit()

    def set_flight_in_survey(self, view: object) -> None:
        """What the survey's other flights say around the open flight (None: nothing):
        the Map panel draws their sites, the Sites panel names them in its rows."""
        self.flight_in_survey = view
        self.flight_in_survey_changed.emit()

    # -- the run's damage sites (the Sites panel reads them; the review table shows them) --
    def set_sites(self, site_of: dict[int, int], unconfirmed: frozenset[int] = frozenset()) -> None:
        """Which site each detection is in (detection id -> site id), and the sites the map
        leaves out as unconfirmed."""
        if site_of == self._site_of and unconfirmed == self._unconfirmed_sites:
            return
        self._site_of, self._unconfirmed_sites = dict(site_of), frozenset(unconfirmed)
        self.sites_changed.emit()

    def site_assignments(self) -> tuple[dict[int, int], frozenset[int]]:
        """Every detection's site (detection id -> site id) and the unconfirmed sites' ids."""
        return dict(self._site_of), self._unconfirmed_sites

    # -- what the window shows ---------------------------------------------------------
    @property
    def current_frame(self) -> int:
        return self._current_frame

    @property
    def current_pts(self) -> float:
        return self._current_pts

    def set_current_frame(self, index: int, pts_s: float) -> None:
        """The window shows frame ``index`` (at ``pts_s``); panels follow."""
        self._current_frame, self._current_pts = int(index), float(pts_s)
        self.current_frame_changed.emit(self._current_frame, self._current_pts)

    @property
    def selected_id(self) -> int | None:
        return self._selected_id

    def set_selection(self, detection_id: int | None) -> None:
        """The selected detection (``None``: none); panels follow."""
        if detection_id != self._selected_id:
            self._selected_id = detection_id
            self.selection_changed.emit(detection_id)

    def request_detection(self, frame_index: int, detection_id: object = None) -> None:
        """Ask the window to show ``frame_index`` and select ``detection_id`` there."""
        self.detection_requested.emit(int(frame_index), detection_id)

    def request_highlight(self, detection_id: int | None) -> None:
        """Ask the map to light up ``detection_id``'s site (``None``: the selection's)."""
        self.highlight_requested.emit(self._selected_id if detection_id is None else int(detection_id))

    @property
    def analysis_running(self) -> bool:
        return self._analysis_running

    def set_analysis_running(self, running: bool) -> None:
        if running != self._analysis_running:
            self._analysis_running = running
            self.analysis_running_changed.emit(running)

    # -- who reviews ---------------------------------------------------------------------
    @property
    def author(self) -> str:
        """The name recorded with every edit, decision, split and merge."""
        if self._author:
            return self._author
        from core.store import current_user

        return current_user()

    def set_author(self, name: str | None) -> None:
        """Record edits under ``name`` from now on (``None`` or empty: the login name), as
        one line of text (:func:`core.text.one_line`): a name pasted with a line break, a
        terminal escape or a right-to-left override went into every decision and from
        there into the KML descriptions and the sites' ``reviewed_by``."""
        from core.text import one_line

        self._author = one_line(name or "") or None
        if self.session is not None:
            self.session.author = self.author

    # -- the score threshold ---------------------------------------------------------------
    @property
    def score_threshold(self) -> float:
        """Detections scoring below this are hidden everywhere (those a reviewer
        accepted or drew excepted) and left out of the map and the exports."""
        return self._score_threshold

    @property
    def score_floor(self) -> float:
        """The lowest threshold that means anything for the current run: the score its
        analysis kept detections from (``analyze --score-threshold``; nothing below it
        was stored, so a lower threshold shows the same); 0 with no run. Read once a run
        (a run keeps its threshold), not at each step of a slider's drag."""
        return self._score_floor

    def _run_score_floor(self) -> float:
        if self.store is None or self.run_id is None:
            return 0.0
        try:
            return round(float(self.store.run(self.run_id).settings.get("score_threshold") or 0.0), 2)
        except (StoreError, TypeError, ValueError):
            return 0.0

    def set_score_threshold(self, value: float) -> None:
        """Change the threshold (not below :attr:`score_floor`); the views follow at
        once, the project a moment later."""
        value = round(min(1.0, max(self.score_floor, float(value))), 2)
        if value == self._score_threshold:
            return
        self._score_threshold = value
        self._following_threshold = True
        try:
            self.score_threshold_changed.emit(value)
        finally:
            self._following_threshold = False
        if self.store is not None:
            self._threshold_timer.start()

    @property
    def following_threshold(self) -> bool:
        """Whether the views are following a threshold change now: a selection made meanwhile
        is a view's (the table moving off a row the threshold hid), not the reviewer's choice."""
        return self._following_threshold

    def save_score_threshold(self) -> None:
        """Store the threshold as the project's map minimum score now (the map is rebuilt).
        A read-only project keeps its own: the threshold stays the window's
        (:attr:`unsaved_score_threshold`), for its views and its exports (storing it stopped
        the export, and closing, with a traceback)."""
        self._threshold_timer.stop()
        if self.store is not None and not self.store.read_only and self.settings.min_score != self._score_threshold:
            self.update_settings(min_score=self._score_threshold)

    @property
    def unsaved_score_threshold(self) -> float | None:
        """The window's threshold where the project cannot keep it (read-only) and it differs
        from the project's, else ``None``."""
        if self.store is None or not self.store.read_only or self.settings.min_score == self._score_threshold:
            return None
        return float(self._score_threshold)

    # -- runs --------------------------------------------------------------------------
    def _set_run(self, run_id: int | None) -> None:
        self.undo_stack.clear()
        self.run_id = run_id
        self._score_floor = self._run_score_floor()
        self._start_session()
        self._forget_detections()
        self._analysed = {} if run_id is None else dict(self.store.analysed_frames(run_id))
        self.set_sites({})
        self.run_changed.emit(run_id)

    def _restore_undo_stack(self, session) -> None:  # noqa: ANN001 - core.review.ReviewSession
        """Mirror the history the session rebuilt from the project on the undo stack:
        its undo steps applied, its redo steps above them (nothing is written). Each step
        keeps the detections it changed, from which the frame its Undo goes to is found
        and decoded ahead, as for a step made in this session."""
        undo, redo = session.restore_history()
        if not undo and not redo:
            return
        done, undone = session.step_texts()
        done_ids, undone_ids = session.step_detection_ids()
        commands = []
        self._restoring_history = True  # the frame an Undo goes to is wanted once the Sites list asks
        try:
            for text, detection_ids in zip((*done, *undone), (*done_ids, *undone_ids), strict=True):
                command = ReviewCommand(session, None, text, self._on_changes, restored=True,
                                        on_step=self.stepped.emit, on_refused=self._step_refused)
                command.history_detection_ids = detection_ids
                command.inert = True
                self.undo_stack.push(command)
                commands.append(command)
            self.undo_stack.setIndex(undo)
        finally:
            self._restoring_history = False
        for command in commands:
            command.inert = False

    def follow_run(self, run_id: int) -> None:
        """Switch to a run (an analysis started one); resets the review history."""
        if run_id != self.run_id:
            self._set_run(run_id)

    def refresh_frames(self, frame_indices: Iterable[int]) -> None:
        """Re-read frames another connection (the analysis worker) has written."""
        frames = frozenset(frame_indices)
        if self.run_id is None:
            latest = self.store.latest_run_id()
            if latest is None:
                return
            self._set_run(latest)
        self._forget_detections(frames)
        self._analysed = dict(self.store.analysed_frames(self.run_id))
        self.detections_changed.emit(frames)

    # -- reading -----------------------------------------------------------------------
    def frame(self, index: int) -> Frame:
        """The frame at ``index``: decoded ahead (:meth:`prefetch_frames`), else now (the
        video opened first, where it is being opened)."""
        ahead = self._frames_ahead.take(index) if self._frames_ahead is not None else None
        return ahead if ahead is not None else self.reader.frame_at(index)

    def frame_at_hand(self, index: int, *, playing: bool = False) -> Frame | None:
        """The frame at ``index`` where showing it now costs no wait: decoded ahead, or
        a few frames on from where the window's reader stands (:attr:`GUI_DECODE_PIXELS`).
        Otherwise ``None``: it is decoded on a thread, and ``frame_arrived(index)`` says
        when it is here (only for the frame asked for last). Raises why it could not be
        decoded. ``playing``: the next frames of playback are decoded here whatever their
        size (:attr:`PLAYING_DECODE_FRAMES`); a seek is not."""
        self._awaited_frame = None
        if self._video_opening is not None:  # shown once the video is open (video_ready, then frame_arrived)
            self._awaited_frame = index
            return None
        if self._shown_frame is not None and self._shown_frame.index == index:
            return self._shown_frame
        self._check_video()
        try:
            frame = self._frames_ahead.take(index) if self._frames_ahead is not None else None
            if frame is None and self._frames_ahead is not None and not self._cheap_to_decode(index, playing=playing):
                self._awaited_frame = index
                self._frames_ahead.want_now(index)
                return None
            if frame is None:
                frame = self._reader.frame_at(index)
        except Exception:
            self._check_video()  # it failed as the file changed: say that, not the decoder's words
            raise
        if (traded := self._frames_ahead.trade_reader(index, self._reader)) is not None:
            self._reader = traded  # it stands on the next frame: playing on from here costs no seek
        self._shown_frame = frame
        return frame

    def _cheap_to_decode(self, index: int, *, playing: bool = False) -> bool:
        info = self._video_info
        pixels = max(1, info.width_px * info.height_px)
        most = max(self.GUI_DECODE_LEAST_FRAMES, self.GUI_DECODE_PIXELS // pixels)
        if playing:
            most = max(most, self.PLAYING_DECODE_FRAMES)
        return self._reader.frames_to_decode(index) <= most

    @property
    def video_lost_reason(self) -> str | None:
        """Why the video's frames are not shown any more (it was moved away, cut short or
        replaced since it was opened), or ``None``."""
        return self._video_lost

    def _check_video(self) -> None:
        """Raise :class:`VideoChangedError` where the video file is not the one opened (a
        stat: cheap enough for every frame played). The first time, its reader ahead stops
        and ``video_lost`` says so, once: each seek had a dialog of its own, in the decoder's
        words ("has frames 0..3; asked for 190")."""
        if self._video_lost is None and self._video_stamp is not None:
            change = self._video_stamp.change(self.video_path)
            if change is not None:
                self._lose_video(change)
        if self._video_lost is not None:
            raise VideoChangedError(self._video_lost)

    def _lose_video(self, change: str) -> None:
        path = self.video_path
        self._video_lost = (
            f"{path}: the video {change} since the project opened it. Its frames cannot be shown; the review, "
            "the Sites list and the map go on without them. Put the video the project analysed back at "
            f"{path}, then open the project again (File > Open Recent); "
            "a project whose video is not found asks where it is now.")
        self._awaited_frame = None
        if self._frames_ahead is not None:
            self._frames_ahead.close()
            self._frames_ahead = None
        _log.warning("%s", self._video_lost)
        self.video_lost.emit(self._video_lost)

    def _announce_decoded(self, index: int) -> None:
        """On the decoding thread: hand the news to the GUI thread (a queued signal)."""
        try:
            self._frame_decoded.emit(index)
        except RuntimeError:  # the document is gone (the window closed)
            pass

    def _on_frame_decoded(self, index: int) -> None:
        if index == self._awaited_frame and self.is_open:
            self.frame_arrived.emit(index)

    @property
    def awaited_frame(self) -> int | None:
        """The frame being decoded off the GUI thread for the window to show, or ``None``."""
        return self._awaited_frame

    def prefetch_frames(self, indices: Iterable[int]) -> None:
        """Decode these frames ahead, on a thread of their own, so that showing one of
        them next does not wait for the video to be sought and decoded (the review's next
        sites: :class:`app.frames_ahead.FramesAhead`); the frame an Undo goes back to
        comes after the first of them."""
        self._review_next = [int(i) for i in indices if i >= 0]
        self._want_ahead()

    def _want_ahead(self) -> None:
        if self._frames_ahead is None or self._video_info is None:  # asked again once the video is here
            return
        undo_target = self._undo_target()
        frames = [i for i in self._review_next if i < self._video_info.frame_count]
        wanted = frames[:1] + ([undo_target] if undo_target is not None else []) + frames[1:]
        self._frames_ahead.want(wanted)

    def _on_undo_moved(self, _index: int) -> None:
        if not self._restoring_history:
            self._want_ahead()  # the next Undo goes back elsewhere

    def _undo_target(self) -> int | None:
        """The frame shown when the step Undo takes back was made (where an undo goes)."""
        index = self.undo_stack.index()
        command = self.undo_stack.command(index - 1) if index > 0 else None
        frame = getattr(command, "frame_shown", None)
        if frame is None and isinstance(command, ReviewCommand) and command.history_detection_ids:
            frame = command.frame_shown = self._step_frame(command.history_detection_ids)
        count = 0 if self._video_info is None else self._video_info.frame_count
        return frame if isinstance(frame, int) and 0 <= frame < count else None

    def _step_frame(self, detection_ids: Iterable[int]) -> int | None:
        """The frame a reviewer most likely looked at to make a step of a reopened history
        (the window keeps no record of it): where the Sites list goes on its Undo, the best
        view of the site it changed most, taken as the best-scoring sighting of that site
        the step changed (of all it changed, before the sites are read)."""
        from collections import Counter

        light = {d.id: d for d in self.all_detections(masks=False)}
        changed = [light[i] for i in detection_ids if i in light]
        if not changed:
            return None
        sites = Counter(self._site_of[d.id] for d in changed if d.id in self._site_of)
        if sites:
            most = sites.most_common(1)[0][0]
            changed = [d for d in changed if self._site_of.get(d.id) == most]
        return max(changed, key=lambda d: (d.final_score, -(d.id or 0))).frame_index

    # -- the video: opened off the GUI thread --------------------------------------------
    @property
    def video_loading(self) -> bool:
        """Whether the project's video is being opened (off the GUI thread) still: what
        needs it (:attr:`video_info`, :attr:`reader`) would wait for it."""
        return self._video_opening is not None

    @property
    def video_info(self):  # noqa: ANN201 - engine.video.VideoInfo | None
        """The open project's video (size, rate, frames, length), ``None`` with none open;
        waits for the video while it is opened (:attr:`video_loading`)."""
        self._wait_for_video()
        return self._video_info

    @property
    def reader(self):  # noqa: ANN201 - engine.video.VideoReader | None
        """The reader of the frames shown (GUI thread); waits for the video as
        :attr:`video_info` does."""
        self._wait_for_video()
        return self._reader

    @property
    def frame_count(self) -> int:
        info = self.video_info
        return 0 if info is None else int(info.frame_count)

    @property
    def fps(self) -> float:
        info = self.video_info
        return 25.0 if info is None else float(info.fps)

    def _wait_for_video(self) -> None:
        """Finish opening the video now, waiting for it (what asked cannot go on without
        it); raises why it could not be opened (the project is closed then)."""
        opening = self._video_opening
        if opening is None:
            return
        opening.wait()
        if not self._finish_opening(opening):
            raise opening.error

    def _announce_video_opened(self, opening: VideoOpening) -> None:
        """On the opening thread: hand the news to the GUI thread (a queued signal)."""
        try:
            self._video_opened.emit(opening)
        except RuntimeError:  # the document is gone (the window closed)
            opening.discard()

    def _on_video_opened(self, opening: VideoOpening) -> None:
        if opening is not self._video_opening:
            return  # closed meanwhile (discarded), or finished by a wait already
        if not self._finish_opening(opening):
            from PySide6.QtWidgets import QWidget

            from app.errors import show_error

            parent = self.parent()
            show_error(parent if isinstance(parent, QWidget) else None, opening.error, title="Cannot open the video")

    def _finish_opening(self, opening: VideoOpening) -> bool:
        """The video opened: kept, announced, and the frame the window waits for shown;
        ``False`` where it failed (the project is closed)."""
        self._video_opening = None
        if opening.error is not None:
            _log.warning("%s could not be opened", opening.path, exc_info=opening.error)
            self.close()
            return False
        self._reader, opening.reader = opening.reader, None
        self._video_info = self._reader.info
        if opening.first_frame is not None and self._frames_ahead is not None:
            self._frames_ahead.keep(opening.first_frame)  # the frame a project opens on: no decode here
        self.video_ready.emit()
        self._want_ahead()
        if self._awaited_frame is not None and self.is_open:
            self.frame_arrived.emit(self._awaited_frame)
        return True

    def index_at_time(self, t_s: float) -> int:
        """The frame shown at video time ``t_s`` (true PTS, so VFR video works)."""
        import bisect

        reader = self.reader if self.is_open else None
        pts = reader.pts_s if reader is not None else ()
        if not pts:
            return max(0, round(t_s * self.fps))
        return max(0, min(len(pts) - 1, bisect.bisect_right(pts, t_s + 1e-6) - 1))

    def frame_times(self) -> dict[int, float]:
        """Frame index -> pts (s) of every frame of the video; while it is being opened
        (:attr:`video_loading`), of the frames the current run analysed (those its
        detections are on), without waiting for it."""
        if self._video_opening is not None:
            return dict(self._analysed)
        return {} if self._reader is None else dict(enumerate(self._reader.pts_s))

    def is_analysed(self, index: int) -> bool:
        """Whether the current run has stored frame ``index``."""
        return index in self._analysed

    def analysed_neighbour(self, index: int, step: int) -> int | None:
        """The next (``step`` 1) or previous (-1) analysed frame from ``index``."""
        import bisect

        frames = sorted(self._analysed)
        if step > 0:
            at = bisect.bisect_right(frames, index)
            return frames[at] if at < len(frames) else None
        at = bisect.bisect_left(frames, index)
        return frames[at - 1] if at > 0 else None

    def analysed_frames(self) -> dict[int, float]:
        """Frame index -> pts (s) of the frames the current run has stored."""
        return dict(self._analysed)

    def unusable_frames(self) -> dict[int, str]:
        """The current run's frames too dark, uniform or blurred to count as a look at
        the ground, and why (:func:`core.frame_quality.unusable_frames`)."""
        from core.frame_quality import unusable_frames

        return {} if self.run_id is None else unusable_frames(self.store.frame_qualities(self.run_id))

    def detections(self, frame_index: int) -> list[Detection]:
        if self.run_id is None:
            return []
        cached = self._frame_detections.get(frame_index)
        if cached is None:
            cached = self.store.detections(self.run_id, frame_index=frame_index)
            self._frame_detections[frame_index] = cached
        return list(cached)

    def all_detections(self, *, masks: bool = True) -> list[Detection]:
        """Every detection of the run; ``masks=False``: without their masks (a table, the
        timeline), read in a fraction of the time and once for every view until a
        detection changes."""
        if self.run_id is None:
            return []
        if masks:
            return self.store.detections(self.run_id)
        if self._all_light is None or self._all_light[0] != self.run_id:
            self._all_light = (self.run_id, self.store.detections(self.run_id, masks=False))
        return list(self._all_light[1])

    @property
    def opening(self) -> bool:
        """While a project is being opened: ``run_changed`` then comes before ``opened``,
        on which the views read the run once."""
        return self._opening

    def detection(self, detection_id: int) -> Detection | None:
        for dets in self._frame_detections.values():
            for det in dets:
                if det.id == detection_id:
                    return det
        try:
            return self.store.detection(detection_id)
        except StoreError:
            return None

    def pending_count(self) -> tuple[int, int, int]:
        """``(pending, total, pending_under)``: the current run's detections shown at the
        score threshold (as the table lists them), those of them left to review, and
        those left to review under the threshold (hidden)."""
        if self.run_id is None:
            return 0, 0, 0
        shown = self.store.review_counts(self.run_id, min_score=self._score_threshold)  # GROUP BYs, no masks
        pending_all = self.store.review_counts(self.run_id)[ReviewState.PENDING]
        pending = int(shown[ReviewState.PENDING])
        return pending, int(sum(shown.values())), int(pending_all) - pending

    def next_unreviewed(self, after_frame: int) -> Detection | None:
        """The first detection left to review at the score threshold after ``after_frame``
        (wrapping)."""
        if self.session is None:
            return None
        return self.session.next_unreviewed(after_frame, min_score=self._score_threshold)

    # -- settings ------------------------------------------------------------------------
    @property
    def settings(self) -> ProjectSettings:
        """The project's georeferencing and map settings (defaults when none is open)."""
        return ProjectSettings() if self.store is None else self.store.project_settings()

    def set_settings(self, settings: ProjectSettings) -> None:
        """Store new settings; the map is rebuilt when they differ."""
        if settings == self.settings:
            return
        self.store.set_project_settings(settings)
        if settings.min_score != self._score_threshold:  # set in the georeferencing dialog
            self._threshold_timer.stop()
            self._score_threshold = float(settings.min_score)
            self.score_threshold_changed.emit(self._score_threshold)
        self.telemetry_changed.emit()

    def update_settings(self, **changes: object) -> ProjectSettings:
        """:meth:`set_settings` with some fields replaced; returns the new settings."""
        from dataclasses import replace

        settings = replace(self.settings, **changes)
        self.set_settings(settings)
        return settings

    def change_settings(self, settings: ProjectSettings, text: str) -> None:
        """Store ``settings`` as one step of Edit > Undo named ``text`` ("Change clock
        offset"): Undo puts back the fields it changed (the map is rebuilt as for any
        settings), Redo stores them again. Nothing when no field changes; raises what
        storing them raised (a read-only project), with no step pushed."""
        from dataclasses import fields

        before = self.settings
        changed = [f.name for f in fields(ProjectSettings) if getattr(settings, f.name) != getattr(before, f.name)]
        if not changed:
            return
        command = SettingsCommand({name: getattr(before, name) for name in changed},
                                  {name: getattr(settings, name) for name in changed}, text, self.update_settings,
                                  self._step_refused, held=self._held_settings)
        self._push(command)
        if command.error is not None:
            raise command.error

    def _push(self, command: QUndoCommand) -> None:
        """Push a new step onto the undo stack. Qt drops the steps Redo offered, whether
        it stacks the command or drops it too (refused): the review session drops its
        own, in the project's history (a review edit does that itself when it is applied),
        so a reopened project offers no Redo the window had dropped."""
        self.undo_stack.push(command)
        if self.session is None or not self.session.can_redo:
            return
        try:
            seen_all = self.store.last_edit_id(self.run_id) == self._seen_edit
            self.session.discard_redo()
        except StoreError:  # a full disk, a read-only project: what pushed says so, if it failed too
            _log.warning("the redo steps dropped could not be recorded in the project", exc_info=True)
            return
        if seen_all:  # the discard line is this window's own, not a change from outside to show
            self._remember_review()

    def _held_settings(self) -> dict[str, object]:
        """The project's georeferencing settings as it holds them now, by field (another
        window's, the command line's changes included): what a settings step checks before
        it is undone or redone. Not the map's minimum score, which the window's own score
        slider changes outside the undo history: an undo puts it back as it was."""
        from dataclasses import fields

        settings = self.settings
        return {f.name: getattr(settings, f.name) for f in fields(ProjectSettings) if f.name != "min_score"}

    def _step_refused(self, error: Exception, undoing: bool) -> None:
        """An Edit > Undo (or Redo) of a review edit or a settings change the project
        refused to store (a full disk, locked by another damagemap), or taken over a change
        made elsewhere since: the step is taken back once Qt's undo returns, so the history
        shows what the project holds, and the user is told (a review changed elsewhere is
        read into the window first, its Undo rebuilt with it)."""
        from PySide6.QtWidgets import QWidget

        from app.errors import error_text, show_error

        _log.warning("%s refused", "undo" if undoing else "redo", exc_info=error)
        step = "Undo" if undoing else "Redo"
        text = self.undo_stack.undoText() if undoing else self.undo_stack.redoText()
        parent = self.parent()

        elsewhere = isinstance(error, ReviewChangedElsewhere)
        if elsewhere:
            why = _review_changed_elsewhere_text(error)
        elif isinstance(error, ChangedOutside):
            from app.dialogs.geo_dialog import SETTING_NAMES

            changed = list(dict.fromkeys(SETTING_NAMES.get(name, name) for name in error.names))
            why = (f"the {' and '.join(changed)} {'was' if len(changed) == 1 else 'were'} changed since (another "
                   "window or the command line), and it would overwrite that")
        else:
            why = f"the project could not store it ({error_text(error)})"

        def take_back() -> None:
            (self.undo_stack.redo if undoing else self.undo_stack.undo)()
            if elsewhere:  # the window shows the other change, and Undo holds it, behind the message
                self._read_review_again()
            show_error(parent if isinstance(parent, QWidget) else None,
                       f"{step} of '{text}' not done: {why}; the project is as it was"
                       + (", and the window shows that change now" if elsewhere else ""), title=f"{step} not done")

        QTimer.singleShot(0, take_back)

    def telemetry_mismatch(self, path: Path) -> str | None:
        """Why the track at ``path`` does not overlap the open video at the project's time
        offset (:func:`geo.sync.align_track`'s check and message, as the command line and
        the map say it), ``None`` when it does or no video is open. Raises
        ``TelemetryError`` naming the file when it cannot be read."""
        from core.errors import TelemetryError
        from geo.sync import align_track
        from geo.telemetry import read_telemetry

        track = read_telemetry(Path(path))
        info = self.video_info
        if info is None:
            return None
        try:
            align_track(track, duration_s=float(info.duration_s), creation_time_utc=info.creation_time_utc,
                        offset_s=self.settings.time_offset_s, frame_count=int(info.frame_count),
                        video_path=self.video_path)
        except TelemetryError as exc:
            return str(exc)
        return None

    def telemetry_caution(self, path: Path) -> str | None:
        """What the track at ``path`` and the open video say against each other short of a
        refusal (:func:`services.sync.telemetry_video_match`: an SRT whose length, frame
        count or dates alone disagree with the video's), ``None`` when nothing does."""
        from geo.telemetry import read_telemetry
        from services.sync import telemetry_video_match

        info = self.video_info
        if info is None:
            return None
        return telemetry_video_match(read_telemetry(Path(path)), info.as_dict()).caution

    def set_telemetry(self, path: Path | None) -> None:
        if path is not None:
            from geo.telemetry import read_telemetry

            read_telemetry(Path(path))  # TelemetryError naming the file if it is unreadable
        self.store.set_telemetry(None if path is None else Path(path))
        self.track_replaced.emit()
        self.telemetry_changed.emit()

    # -- review of the selection -----------------------------------------------------------
    def review_selected(self, state: ReviewState) -> Changes | None:
        """Accept, reject or reset the selected detection (``None``: nothing selected).
        Raises what the review session raised."""
        from core.review import SetReview

        det_id = self._selected_id
        if det_id is None:
            return None
        verb = "Accept" if state is ReviewState.ACCEPTED else "Reject" if state is ReviewState.REJECTED else "Reset"
        return self.apply_edit(SetReview(det_id, state), f"{verb} detection #{det_id}")

    def relabel_selected(self, level: DamageLevel) -> Changes | None:
        """Give the selected detection another damage level."""
        from core.review import Relabel

        det_id = self._selected_id
        if det_id is None:
            return None
        return self.apply_edit(Relabel(det_id, level), f"Relabel detection #{det_id} as {level.label}")

    def delete_selected(self) -> Changes | None:
        """Delete the selected detection (the selection is cleared first)."""
        from core.review import DeleteDetection

        det_id = self._selected_id
        if det_id is None:
            return None
        self.set_selection(None)
        return self.apply_edit(DeleteDetection(det_id), f"Delete detection #{det_id}")

    def next_pending(self) -> Detection | None:
        """The next pending detection: later on the current frame (after the selection),
        then on later frames, wrapping; ``None`` when nothing is left to review."""
        here = [d for d in self.detections(self._current_frame)
                if d.review is ReviewState.PENDING and d.final_score >= self._score_threshold]
        after = [d for d in here if self._selected_id is None or (d.id or 0) > self._selected_id]
        return after[0] if after else self.next_unreviewed(self._current_frame)

    def request_next_pending(self) -> None:
        """Ask the window to show :meth:`next_pending` (or say that nothing is left)."""
        target = self.next_pending()
        if target is None:
            under = self.pending_count()[2]
            self.notice.emit("Nothing left to review" if not under else
                             f"Nothing left to review at score {self._score_threshold:.2f}; {under} more under it "
                             "(lower the score to see them)")
        else:
            self.request_detection(target.frame_index, target.id)

    # -- editing -------------------------------------------------------------------------
    def apply_edit(self, edit: object, text: str):  # noqa: ANN201 - core.review.Changes
        """Apply a review edit through the undo stack; raises what the session raised."""
        if self.session is None:
            raise StoreError("nothing to review yet: run the analysis first")
        command = ReviewCommand(self.session, edit, text, self._on_changes, on_step=self.stepped.emit,
                                on_refused=self._step_refused)
        command.frame_shown = self._current_frame
        self._push(command)
        if command.error is not None:
            raise command.error
        if self._frames_ahead is not None and self._shown_frame is not None \
                and self._shown_frame.index == self._current_frame:
            self._frames_ahead.keep(self._shown_frame)  # an Undo goes back to it
        return command.first_changes

    def _remember_review(self) -> None:
        """Note where the run's review history stands, as the window knows it."""
        try:
            self._seen_version = None if self.store is None else self.store.data_version()
            self._seen_edit = None if self.store is None or self.run_id is None else self.store.last_edit_id(self.run_id)
        except StoreError:
            self._seen_version = self._seen_edit = None

    def check_outside_changes(self) -> bool:
        """Whether the run's review was changed outside the window since it last looked
        (``damagemap survey decide`` on the command line, another window, the survey):
        then the review is read again, so the window shows those decisions and its Undo
        holds them in the order they were made. Looked at every
        :data:`WATCH_INTERVAL_MS` and cheap when nothing changed; not while an analysis
        writes to the project."""
        if self.store is None or self.run_id is None or self._analysis_running:
            return False
        # the window's session met lines written elsewhere when it made a step of its own:
        # the project's newest line, and its version, are the window's own since
        missed = self.session is not None and self.session.changed_elsewhere is not None
        try:
            version = self.store.data_version()
            if version == self._seen_version and not missed:
                return False
            self._seen_version = version
            if self.store.last_edit_id(self.run_id) == self._seen_edit and not missed:
                return False
        except StoreError:  # the project went away: said when it is next used
            return False
        self._read_review_again()
        return True

    def _read_review_again(self) -> None:
        """Read the run's review from the project again (done outside the window): the
        views redraw it, and the undo stack is rebuilt from the project's history."""
        self.undo_stack.clear()
        self._start_session()
        frames = frozenset(self._analysed) | frozenset(self._frame_detections)
        self._forget_detections()
        self.review_changed.emit(None)
        self.detections_changed.emit(frames)
        self.notice.emit("The review of this project was changed outside this window (the command line, or its "
                         "survey): the window shows it now, and Undo holds its steps")

    def _start_session(self) -> None:
        """A review session of the run, its undo stack rebuilt from the project's history."""
        from core.review import ReviewSession

        self.session = None if self.run_id is None else ReviewSession(self.store, self.run_id, author=self._author)
        if self.session is not None:
            self._restore_undo_stack(self.session)
        self._remember_review()

    def _forget_detections(self, frame_indices: Iterable[int] | None = None) -> None:
        """Read these frames' detections (all: ``None``) from the project again when next
        asked, and the run's list without masks with them."""
        if frame_indices is None:
            self._frame_detections.clear()
        else:
            for index in frame_indices:
                self._frame_detections.pop(index, None)
        self._all_light = None

    def _on_changes(self, changes) -> None:  # noqa: ANN001 - core.review.Changes
        self._remember_review()
        if self.session is not None and self.session.changed_elsewhere is not None:
            # an edit made over a review changed elsewhere not read yet: read it once Qt's
            # push returns (the stack cannot be rebuilt within it)
            QTimer.singleShot(0, self.check_outside_changes)
        self._forget_detections(changes.frame_indices)
        self.review_changed.emit(changes)
        self.detections_changed.emit(frozenset(changes.frame_indices))


class VideoChangedError(VideoError):
    """The project's video was moved away, cut short or replaced since it was opened."""


@dataclass(frozen=True)
class _FileStamp:
    """A file as it was: which file (inode), its size and its last change."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> _FileStamp | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def change(self, path: Path) -> str | None:
        """How the file at ``path`` is not this one any more, in words, or ``None``."""
        now = _FileStamp.of(path)
        if now is None:
            return "was moved, renamed or deleted"
        if now == self:
            return None
        if now.size != self.size:
            return f"was replaced or cut short ({_size_text(self.size)} then, {_size_text(now.size)} now)"
        return "was replaced or rewritten"


def _size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


@dataclass
class _KeptVideo:
    """A project's open video, kept for the next project on the same file (Save As)."""

    path: Path
    reader: Any | None  # engine.video.VideoReader
    info: Any | None  # engine.video.VideoInfo
    opening: VideoOpening | None
    frames_ahead: FramesAhead | None
    stamp: _FileStamp | None
    lost: str | None

    def is_for(self, video_path: Path) -> bool:
        """Whether ``video_path`` is this video's file."""
        try:
            return Path(video_path).resolve() == self.path.resolve()
        except OSError:
            return False

    def close(self) -> None:
        if self.frames_ahead is not None:
            self.frames_ahead.close()
        if self.opening is not None:
            self.opening.discard()
        if self.reader is not None:
            self.reader.close()


def _review_changed_elsewhere_text(error: ReviewChangedElsewhere) -> str:
    """Why a review step was not taken, naming the detections changed elsewhere: those of
    the step, whose change it would overwrite, or else the others, which came after it."""
    named = sorted(error.overlap or error.detection_ids)
    shown = ", ".join(f"#{i}" for i in named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
    detections = f"detection{'s' if len(named) > 1 else ''} {shown}"
    if error.overlap:
        return (f"{detections} {'were' if len(named) > 1 else 'was'} changed since (another window or the command "
                "line), and it would overwrite that")
    changed = f" ({detections})" if named else ""
    return (f"the review was changed since in another window or on the command line{changed}, and steps are "
            "taken back in the order they were made")
