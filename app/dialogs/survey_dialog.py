"""A survey in the app: its flights to open one by one, and its one map to export.

A survey (``damagemap survey create``, docs/survey.md) is a folder of flights, each an
ordinary project. The dialog lists them with how far each is analysed; the survey's
map (:func:`services.survey.survey_map`) is built off the GUI thread and adds, per
flight, the ground it saw and the survey sites it contributed to. "Open Flight" opens
the flight's project in the window for review; "Export Survey Map…" writes what
``damagemap survey export`` writes, with each flight's reviews as they stand.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.button_reasons import enable_button_or_say_why
from app.errors import error_text
from app.window_actions import first_reason
from app.workers import FunctionJob, survey_add_job, survey_export_job, survey_georeference_job, survey_map_job
from core.sites import counted
from core.survey import Survey
from geo.export.survey_html import date_text
from services.survey import FlightStatus, SurveyWatch, flight_statuses, sites_to_review

if TYPE_CHECKING:  # pragma: no cover
    from app.dialogs.survey_export_dialog import SurveyExportDialog

#: Add Flights… picks videos, or the projects of flights analysed before
ADD_FLIGHTS_FILTER = ("Videos and projects (*.mp4 *.MP4 *.mov *.MOV *.m4v *.avi *.mkv *.mts *.ts *.webm *.dmproj);;"
                      "All files (*)")
COLUMNS = ("Flight", "Date", "Drone", "Telemetry", "Analysed", "Ground seen", "Sites", "To review")
SITES_COLUMN = COLUMNS.index("Sites")
SEEN_COLUMN = COLUMNS.index("Ground seen")
#: the flight's own sites on its map that no reviewer has decided yet
TO_REVIEW_COLUMN = COLUMNS.index("To review")
ANALYSED_COLUMN = COLUMNS.index("Analysed")
#: the columns the survey's map fills in, once built
MAP_COLUMNS = (SEEN_COLUMN, SITES_COLUMN, TO_REVIEW_COLUMN)


#: Why a survey button is off, said in its tooltip (:func:`app.button_reasons.enable_button_or_say_why`).
NO_FLIGHTS_REASON = "the survey has no flights yet (Add Flights… adds drone videos)"
NO_FLIGHT_CHOSEN_REASON = "choose a flight in the list first"
UNREADABLE_REASON = "the chosen flight's project cannot be read (its row's tooltip says why)"
NOTHING_TO_LOCATE_REASON = "the chosen flight's project and video are where the survey expects them"
EXPORTING_REASON = "the survey's map is being exported"
NONE_ANALYSED_REASON = "no flight is analysed yet (Analyse Flights… analyses them)"
ALL_ANALYSED_REASON = "every flight is analysed to its end"
READING_REASON = "each flight's video is being read"

_TO_REVIEW_TIP = ("the flight's sites on its map (confirmed, at its score threshold) that no reviewer has decided "
                  "yet; its Sites panel lists its unconfirmed sites to decide too (a decision made on another "
                  "flight at the same place is carried to this one when it opens)")


#: the "Ground seen" of a flight analysed but left out of the survey's map (no telemetry, a
#: camera or heights missing): its tooltip and the notes say why
LEFT_OUT_TEXT = "not on the map"


def left_out_note(notes: list[str], flight: str) -> str | None:
    """The note of the survey's map saying why ``flight`` is left out of it (``None``: none does)."""
    return next((note for note in notes if note.startswith(f"flight {flight}: left out")), None)


def video_missing(status: FlightStatus) -> bool:
    """Whether the video the flight's project names is not where it names it (renamed or moved)."""
    return status.video is not None and not status.video.is_file()


def can_be_located(status: FlightStatus) -> bool:
    """Whether Locate Flight… has something to find for the flight: its project, or its video."""
    return status.project_missing or (status.problem is None and video_missing(status))


def no_telemetry_text(names: list[str]) -> str:
    """What to do for flights added with no telemetry found beside their video."""
    return (f"No telemetry found beside the video of {', '.join(names)} (the drone's SRT, GPX or flight log under "
            "the video's name): analysed, but not on the survey's map until given: open the flight and choose "
            "File > Open Telemetry…")


def analysed_text(status: FlightStatus) -> str:
    """How far a flight is analysed, in a table cell; and that its video is not where its
    project says (moved or renamed: opening it asks where it is now)."""
    if status.project_missing:  # the survey moved without it: the tooltip and the notes say where it looked
        return "project missing"
    if status.problem is not None:
        return "cannot be read"
    moved = "; video not found (Locate Flight… finds it)" if video_missing(status) else ""
    if status.analysed_elsewhere and not status.complete:  # its count would be the last read's, not its own
        return "being analysed elsewhere" + moved
    if status.frames_analysed == 0:
        return "not analysed yet" + moved
    no_look = f", {status.frames_no_look} too dark or blurred" if status.frames_no_look else ""
    return f"{counted(status.frames_analysed, 'frame')}{no_look}" + ("" if status.complete else " (not finished)") + moved


def analysed_elsewhere_note(statuses: list[FlightStatus]) -> str:
    """What the list says of the flights another damagemap analyses now (the survey's map
    is not built again at each frame it stores), or "" when none is."""
    busy = [status for status in statuses if status.analysed_elsewhere and not status.complete]
    if not busy:
        return ""
    if len(busy) == 1:
        said = f"Flight {busy[0].name} is being analysed by {busy[0].analysed_elsewhere}"
    else:
        said = f"Flights {', '.join(status.name for status in busy)} are being analysed by other damagemaps"
    return (f"{said}: the survey's map shows {'it' if len(busy) == 1 else 'them'} as far as analysed when it "
            "was built, and is built again once the analysis ends.")


class SurveyDialog(QDialog):
    """The flights of ``survey``, one to open in the window, and the survey's export.

    Signals
    -------
    flight_chosen(object)
        The project (``Path``) of the flight to open; whoever opens it closes the dialog.
    map_ready(object)
        The survey's :class:`geo.survey_fusion.SurveyMap` (or ``None`` when no flight can
        be mapped yet), once built.
    exported(object)
        The files an export wrote (``list[Path]``).
    flights_added(object)
        The names of the flights just added (``list[str]``).
    survey_changed(object)
        The survey (:class:`core.survey.Survey`) as read again after a change.
    analyse_requested(object, float)
        The projects (``list[Path]``) of the flights to analyse one after the other, and
        the frames per second of video to analyse (0: every frame); whoever starts it
        closes the dialog.
    """

    #: How often the survey's files are looked at (``stat`` only) for changes made outside
    #: the dialog, as the window looks at its open project's.
    WATCH_INTERVAL_MS = 1500

    flight_chosen = Signal(object)
    map_ready = Signal(object)
    exported = Signal(object)
    flights_added = Signal(object)
    survey_changed = Signal(object)
    analyse_requested = Signal(object, float)

    def __init__(self, survey: Survey, parent: QWidget | None = None, *, current_project: Path | None = None) -> None:
        super().__init__(parent)
        self.survey = survey
        self.setWindowTitle(f"Survey: {survey.name}")
        self.statuses = flight_statuses(survey)
        self.survey_map = None
        self.export_folder: Path | None = None
        self._map_job: FunctionJob | None = None
        self._export_job: FunctionJob | None = None
        self._add_job: FunctionJob | None = None
        self._georeference_job: FunctionJob | None = None
        self._read_job: FunctionJob | None = None
        #: the survey's files as the flights were last read, and the flights analysed
        #: elsewhere, whose changes wait for their analysis to end (:meth:`check_survey_files`)
        self._watch = SurveyWatch()
        self._take_files()
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(self.WATCH_INTERVAL_MS)
        self._watch_timer.timeout.connect(self.check_survey_files)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(TO_REVIEW_COLUMN).setToolTip(_TO_REVIEW_TIP)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._fill_table()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.activated.connect(lambda index: self.open_flight(index.row()))  # Enter, or a double-click

        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #666;")
        #: what the last add, removal or export did (links to the map and the folder after an export)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.message.linkActivated.connect(self._open_link)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.locate_button = QPushButton("Locate Flight…")
        self.locate_button.setToolTip(
            "Give where the chosen flight's project or video is now (the survey moved without it, or its video was "
            "renamed or moved): a video is recognised by its content (size, frame count and length), whatever its "
            "name, or found in a folder chosen")
        self.open_button = QPushButton("Open Flight")
        self.open_button.setToolTip("Open the flight's project in the window to play, analyse and review it")
        self.open_button.setDefault(True)
        self.add_button = QPushButton("Add Flights…")
        self.add_button.setToolTip(
            "Add drone videos (or their projects) to the survey: a video analysed before brings its project, "
            "analysis and reviews, where it is; another gets its project in the survey's flights/ folder, with the "
            "telemetry found beside it (same name: .SRT, .gpx, flight-log .csv)")
        self.remove_button = QPushButton("Remove Flight…")
        self.remove_button.setToolTip("Take the flight out of the survey; its project, analysis and reviews stay on disk")
        self.analyse_button = QPushButton("Analyse Flights…")
        self.analyse_button.setToolTip(
            "Analyse the flights not analysed to the end, one after the other in the window (each resumes where "
            "it stopped); Cancel in the status bar stops after the frame it is on")
        self.georeference_button = QPushButton("Read Cameras && Heights")
        self.georeference_button.setToolTip(
            "For each flight whose telemetry lacks them, read from its video the camera's pitch and heading (a GPX "
            "or DJI Mini SRT), the ground (absolute altitudes from a drone already up) or the flight height (no "
            "altitude), and keep them in the flight's project")
        self.export_button = QPushButton("Export Survey Map…")
        self.export_button.setToolTip(
            "One map of every analysed flight, with each flight's reviews as they stand: its sites and the ground "
            "each flight saw as GeoJSON, GeoPackage, CSV, KML and KMZ, the offline HTML map with each flight's "
            "close-ups, the print map (PDF and PNG) with its site atlas, the graded buildings where footprints "
            "are set, a README, and one zip of them all")
        buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.remove_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.analyse_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.georeference_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.locate_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.add_button.clicked.connect(self.add_flights_dialog)
        self.analyse_button.clicked.connect(self.analyse_dialog)
        self.remove_button.clicked.connect(self.remove_dialog)
        self.locate_button.clicked.connect(self.locate_dialog)
        self.open_button.clicked.connect(lambda: self.open_flight(self.table.currentRow()))
        self.export_button.clicked.connect(self.export_dialog)
        self.georeference_button.clicked.connect(self.georeference)

        hint = QLabel(
            "Open a flight to analyse and review it in the window. A place decided on one flight is decided "
            "on the others when they open; the survey's map joins what every flight saw of one place into one site.")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes)
        layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(760, 380)

        flight = None if current_project is None else survey.flight_of_project(current_project)
        current = next((row for row, s in enumerate(self.statuses) if s.record is flight), 0)
        if self.statuses:
            self.table.selectRow(current)
        self.table.setFocus()
        self._show_summary()
        self._update_buttons()
        self.build_map()

    def _fill_table(self, *, keep_map_cells: bool = False) -> None:
        """List ``statuses``, the flight chosen before (by name) chosen again and the list
        scrolled as it was; ``keep_map_cells``: each flight still listed keeps what the
        last map said of it until the next map is built (else they wait, "…")."""
        chosen = self._chosen_name()
        scroll = self.table.verticalScrollBar().value(), self.table.horizontalScrollBar().value()
        map_cells = {self.table.item(row, 0).text(): [self.table.item(row, column).text() for column in MAP_COLUMNS]
                     for row in range(self.table.rowCount()) if self.table.item(row, 0) is not None}
        self.table.setRowCount(len(self.statuses))
        for row, status in enumerate(self.statuses):
            record = status.record
            telemetry = "" if status.problem else status.telemetry.name if status.telemetry else "none: not on the map"
            pending = "…" if status.frames_analysed else ""
            cells = (record.name, date_text(record.date) or "unknown", record.drone or "", telemetry,
                     analysed_text(status), pending, pending, pending)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column >= COLUMNS.index("Analysed"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(status.problem or (_TO_REVIEW_TIP if column == TO_REVIEW_COLUMN else status.project_shown))
                self.table.setItem(row, column, item)
            if keep_map_cells and record.name in map_cells:
                for column, text in zip(MAP_COLUMNS, map_cells[record.name]):
                    self.table.item(row, column).setText(text)
        rows = [row for row, status in enumerate(self.statuses) if status.name == chosen]
        if rows:
            self.table.selectRow(rows[0])
        self.table.verticalScrollBar().setValue(scroll[0])
        self.table.horizontalScrollBar().setValue(scroll[1])

    def _chosen_name(self) -> str | None:
        """The name of the flight chosen in the list (``None``: none)."""
        row = self.table.currentRow()
        item = self.table.item(row, 0) if 0 <= row < self.table.rowCount() else None
        return None if item is None or not self.table.selectionModel().isRowSelected(row) else item.text()

    def refresh(self) -> bool:
        """Read the survey and its flights again, and build its map again; ``False`` (and
        why, in the dialog) when the survey cannot be read any more."""
        try:
            self.survey = Survey.open(self.survey.folder)
        except Exception as exc:  # noqa: BLE001 - said in the dialog, never a crash
            self.message.setText(_failure(error_text(exc)))
            return False
        self.statuses = flight_statuses(self.survey)
        self._take_files()
        self.survey_map = None
        self._fill_table()
        self._show_summary()
        self._update_buttons()
        self.survey_changed.emit(self.survey)
        self.build_map()
        return True

    # ------------------------------------------------------------------ following other damagemaps
    def _videos(self) -> list[Path]:
        return [s.video for s in self.statuses if s.video is not None]

    def _take_files(self) -> None:
        """The survey's files as they are now, seen; the flights another damagemap analyses paused."""
        self._watch.take(self.survey, videos=self._videos(),
                         paused={s.project: s.analysed_elsewhere for s in self.statuses if s.analysed_elsewhere})

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._watch_timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._watch_timer.stop()
        super().hideEvent(event)

    @property
    def busy(self) -> bool:
        """A job of the dialog's is running (the flights read, the map built, flights
        added, exported or their videos read): the list changes when it ends."""
        return any(job is not None and job.is_running for job in
                   (self._read_job, self._map_job, self._add_job, self._export_job, self._georeference_job))

    def check_survey_files(self) -> bool:
        """Whether the survey changed outside the dialog since its flights were read
        (``damagemap survey add``, ``analyse``, ``decide`` or ``relink``, or another window:
        its manifest, a flight's project or video changed): then the flights are read
        again off the GUI thread and listed, the one chosen kept chosen and the list
        scrolled as it was, and the map built again. Looked at every
        :data:`WATCH_INTERVAL_MS` while the dialog shows, with ``stat`` only; not while a
        job of the dialog's runs (what changed meanwhile is noticed at the next look after
        it). The map's first build writes the survey's site numbers: noticed once, read
        once more.

        A flight another damagemap analyses is paused (:class:`services.survey.SurveyWatch`):
        its project changes every few frames, and a map built again at each change was built
        back to back; the list says it is being analysed elsewhere, and the flights are read
        and the map built once when its analysis ends."""
        from services.survey import flights_read_again

        if self.busy:
            return False
        paused = dict(self._watch.paused)
        # the files seen now: a change made while the read runs is noticed at the next look
        changed = self._watch.look(self.survey, videos=self._videos())
        if self._watch.paused != paused:
            self._show_paused()
        if not changed:
            return False
        job = FunctionJob(flights_read_again, self.survey.folder, parent=self)
        job.done.connect(lambda read: self._show_read_again(*read))
        job.failed.connect(lambda exc: self.message.setText(_failure(error_text(exc))))
        self._read_job = job
        job.start()
        return True

    def _show_paused(self) -> None:
        """The flights paused or no longer (another damagemap analyses them), said in the list."""
        paused = self._watch.paused
        for row, status in enumerate(self.statuses):
            who = paused.get(str(status.project))
            if who != status.analysed_elsewhere:
                self.statuses[row] = status = replace(status, analysed_elsewhere=who)
                if self.table.item(row, ANALYSED_COLUMN) is not None:
                    self.table.item(row, ANALYSED_COLUMN).setText(analysed_text(status))
        self._show_summary()

    def _show_read_again(self, survey: Survey, statuses: list[FlightStatus]) -> None:
        """The flights as another damagemap left them; the figures of the last map stay
        until the map is built again."""
        changed = survey != self.survey
        self.survey, self.statuses = survey, statuses
        # those the read found analysed elsewhere paused too (one may have started since the look)
        self._watch.paused.update({str(s.project): s.analysed_elsewhere for s in statuses if s.analysed_elsewhere})
        self._fill_table(keep_map_cells=True)
        self._show_summary()
        self._update_buttons()
        if changed:
            self.survey_changed.emit(survey)
        self.build_map()

    # ------------------------------------------------------------------ adding flights
    def add_flights_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add flights: drone videos or their projects",
                                                str(self.survey.folder), ADD_FLIGHTS_FILTER)
        if paths:
            self.add_flights([Path(p) for p in paths])

    def add_flights(self, videos: list[Path]) -> FunctionJob | None:
        """Add ``videos`` (or flights' projects) as flights off the GUI thread, then list
        them: a video's project beside it, or a project given, comes with its analysis and
        reviews, where it is; a video without one gets its project in ``flights/``, its
        telemetry looked for."""
        if self._add_job is not None and self._add_job.is_running:
            return None
        job = FunctionJob(survey_add_job, self.survey.folder, list(videos), parent=self)
        job.done.connect(self._on_added)
        job.failed.connect(lambda exc: self.message.setText(_failure(f"Flights not added: {error_text(exc)}")))
        self._add_job = job
        self.message.setText(f"Adding {counted(len(videos), 'flight')}…")
        job.start()
        return job

    def _on_added(self, result: tuple[list[str], list[str], list[str], list[str]]) -> None:
        added, problems, taken, no_telemetry = result
        text = f"Added {counted(len(added), 'flight')}" + (f": {', '.join(added)}" if added else "")
        if taken:  # analysed before: the analysis and reviews came along, nothing to analyse again
            text += "<br>" + "<br>".join(_escape(line) for line in taken)
        if no_telemetry:  # said now, not after its analysis: it is analysed, but placed on no map
            text += "<br>" + _failure(no_telemetry_text(no_telemetry))
        if problems:
            text += ".<br>" + _failure("Not added: " + "\n".join(problems))
        if self.refresh():
            self.message.setText(text)
            rows = [row for row, s in enumerate(self.statuses) if s.name in added]
            if rows:
                self.table.selectRow(rows[0])
        self.flights_added.emit(added)

    def remove_dialog(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        row = self.table.currentRow()
        if not 0 <= row < len(self.statuses):
            return
        status = self.statuses[row]
        answer = QMessageBox.question(
            self, "Remove flight",
            f"Take flight {status.name} out of survey {self.survey.name}?\n\nIts project stays at {status.project_shown}, "
            "with its analysis and reviews; adding its video again under the same name brings it back.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_flight(status.name)

    def remove_flight(self, name: str) -> None:
        """Take flight ``name`` out of the survey (its project stays) and list the rest."""
        from services.survey import remove_flight

        try:
            remove_flight(self.survey, name)
        except Exception as exc:  # noqa: BLE001 - said in the dialog, never a crash
            self.message.setText(_failure(error_text(exc)))
            return
        if self.refresh():
            self.message.setText(_escape(f"Flight {name} taken out of the survey; its project stays on disk."))

    # ------------------------------------------------------------------ locating a flight
    def locate_dialog(self) -> None:
        row = self.table.currentRow()
        if not (0 <= row < len(self.statuses)) or not can_be_located(self.statuses[row]):
            return
        status = self.statuses[row]
        what = "project" if status.project_missing else "video"
        path, _ = QFileDialog.getOpenFileName(self, f"Where is flight {status.name}'s {what} now?",
                                              str(self.survey.folder), ADD_FLIGHTS_FILTER)
        if path:
            self.locate_flight(status.name, Path(path))

    def locate_flight(self, name: str, path: Path) -> None:
        """Flight ``name``'s project or video is at ``path`` now (a video recognised by its
        content, as ``damagemap survey relink`` does); say what was matched and list the
        flights again, or say why ``path`` is not the flight's."""
        from services.survey import relink_flight

        try:
            done = relink_flight(self.survey, name, path)
        except Exception as exc:  # noqa: BLE001 - said in the dialog, never a crash
            self.message.setText(_failure(f"Flight {name} not located: {error_text(exc)}"))
            return
        if self.refresh():
            self.message.setText("<br>".join(_escape(f"Flight {name}: {line}") for line in done.matched)
                                 or _escape(f"Flight {name} located."))

    # ------------------------------------------------------------------ analysing
    def flights_to_analyse(self) -> list[FlightStatus]:
        """The flights whose analysis has not run to the end (readable projects only)."""
        return [s for s in self.statuses if s.problem is None and not s.complete]

    def analyse_dialog(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        todo = self.flights_to_analyse()
        if not todo:
            return
        names = ", ".join(s.name for s in todo)
        what = (f"Analyse flight {names} in the window" if len(todo) == 1 else
                f"Analyse {len(todo)} flights ({names}) in the window, one after the other")
        fps, ok = QInputDialog.getDouble(
            self, "Analyse flights",
            f"{what}, each resuming where it stopped, with its own telemetry settings.\n\n"
            "Frames per second of video to analyse (0: every frame; a laptop CPU keeps up with about 2):",
            2.0, 0.0, 120.0, 2)
        if ok:
            self.analyse(fps)

    # ------------------------------------------------------------------ cameras and heights
    def georeference(self) -> FunctionJob | None:
        """Read each flight's missing camera and heights from its video off the GUI
        thread, then say what was read and build the survey's map again."""
        if self._georeference_job is not None and self._georeference_job.is_running:
            return None
        job = FunctionJob(survey_georeference_job, self.survey.folder, parent=self)
        job.done.connect(self._on_georeferenced)
        job.failed.connect(lambda exc: self.message.setText(_failure(f"Not read: {error_text(exc)}")))
        job.finished.connect(self._update_buttons)
        self._georeference_job = job
        enable_button_or_say_why(self.georeference_button, READING_REASON)
        self.message.setText("Reading each flight's video…")
        job.start()
        return job

    def _on_georeferenced(self, results: list) -> None:  # services.survey.FlightGeoreferencing
        read = [r.flight.name for r in results if r.read]
        failed = [f"{r.flight.name}: {r.problem}" for r in results if r.problem is not None]
        text = (f"Read from the video for {counted(len(read), 'flight')}: {_escape(', '.join(read))}"
                if read else "Nothing to read: each flight's telemetry or project gives its camera and heights")
        if failed:
            text += ".<br>" + _failure("Not read: " + "\n".join(failed))
        if self.refresh():
            self.message.setText(text)

    def analyse(self, fps: float) -> None:
        """Ask the window to analyse the flights not analysed to the end."""
        todo = self.flights_to_analyse()
        if todo:
            self.analyse_requested.emit([s.project for s in todo], float(fps))

    # ------------------------------------------------------------------ the survey's map
    def build_map(self) -> FunctionJob | None:
        """Build the survey's map off the GUI thread (flights' ground and sites)."""
        if not self.statuses:
            self.notes.setText("No flights yet: Add Flights… adds drone videos.")
            QTimer.singleShot(0, lambda: self.map_ready.emit(None))  # after whoever listens is connected
            return None
        if not any(s.frames_analysed for s in self.statuses):
            self.notes.setText("No flight is analysed yet: Analyse Flights… analyses them one after the other "
                               "(or open one and choose Analysis > Analyse…).")
            QTimer.singleShot(0, lambda: self.map_ready.emit(None))
            return None
        job = FunctionJob(survey_map_job, self.survey.folder, parent=self)
        job.done.connect(self._on_map)
        job.failed.connect(self._on_map_failed)
        self._map_job = job
        job.start()
        return job

    def _on_map(self, built: object) -> None:
        self.survey_map = built
        coverage = {c.flight: c for c in built.coverage}
        undecided = sites_to_review(built)
        for row, status in enumerate(self.statuses):
            seen = coverage.get(status.name)
            self.table.item(row, SEEN_COLUMN).setText("" if seen is None else f"{seen.area_m2 / 1e4:.2f} ha")
            left_out = left_out_note(built.notes, status.name) if seen is None and status.frames_analysed else None
            if left_out is not None:  # analysed, yet on no map: the row says so, its tooltip why
                self.table.item(row, SEEN_COLUMN).setText(LEFT_OUT_TEXT)
                self.table.item(row, SEEN_COLUMN).setToolTip(survey_note_in_window_words(left_out))
            self.table.item(row, SITES_COLUMN).setText("" if seen is None else str(seen.sites))
            self.table.item(row, TO_REVIEW_COLUMN).setText(str(undecided[status.name]) if status.name in undecided else "")
        self.notes.setText("<br>".join(_escape(survey_note_in_window_words(note)) for note in built.notes))
        self._show_summary()
        self.map_ready.emit(built)

    def _on_map_failed(self, exc: Exception) -> None:
        for row in range(self.table.rowCount()):
            for column in (SEEN_COLUMN, SITES_COLUMN, TO_REVIEW_COLUMN):
                self.table.item(row, column).setText("")
        self.notes.setText(_escape(f"The survey's map could not be built: {error_text(exc)}"))
        self.map_ready.emit(None)

    def _show_summary(self) -> None:
        flights = len(self.statuses)
        analysed = sum(1 for s in self.statuses if s.frames_analysed)
        text = (f"<b>{_escape(self.survey.name)}</b> · {counted(flights, 'flight')}, "
                f"{analysed} analysed · {_escape(str(self.survey.folder.resolve()))}")
        if self.survey_map is not None:
            counts = ", ".join(f"{n} {level.label}" for level, n in self.survey_map.level_counts().items() if n)
            sites = len(self.survey_map.sites)
            several = sum(1 for s in self.survey_map.sites if len(s.flights) > 1)
            text += (f"<br>{counted(sites, 'damage site')} on the survey's map"
                     f"{f' ({counts})' if counts else ''}; {several} seen by more than one flight")
        elsewhere = analysed_elsewhere_note(self.statuses)
        if elsewhere:
            text += f"<br>{_escape(elsewhere)}"
        self.summary.setText(text)

    # ------------------------------------------------------------------ actions
    def _update_buttons(self) -> None:
        """Each button on or off, a greyed-out one saying why in its tooltip."""
        row = self.table.currentRow()
        chosen = self.statuses[row] if 0 <= row < len(self.statuses) else None
        no_flights = (not self.statuses, NO_FLIGHTS_REASON)
        not_chosen = (chosen is None, NO_FLIGHT_CHOSEN_REASON)
        enable_button_or_say_why(self.open_button, first_reason(
            no_flights, not_chosen, (chosen is not None and chosen.problem is not None, UNREADABLE_REASON)))
        enable_button_or_say_why(self.remove_button, first_reason(no_flights, not_chosen))
        enable_button_or_say_why(self.locate_button, first_reason(
            no_flights, not_chosen, (chosen is not None and not can_be_located(chosen), NOTHING_TO_LOCATE_REASON)))
        exporting = self._export_job is not None and self._export_job.is_running
        enable_button_or_say_why(self.export_button, first_reason(
            no_flights, (exporting, EXPORTING_REASON),
            (not any(s.frames_analysed for s in self.statuses), NONE_ANALYSED_REASON)))
        enable_button_or_say_why(self.analyse_button, first_reason(
            no_flights, (not self.flights_to_analyse(), ALL_ANALYSED_REASON)))
        reading = self._georeference_job is not None and self._georeference_job.is_running
        enable_button_or_say_why(self.georeference_button, first_reason(no_flights, (reading, READING_REASON)))

    def open_flight(self, row: int) -> None:
        """Ask for the flight of ``row`` to be opened (the window closes the dialog once
        it is open)."""
        if not (0 <= row < len(self.statuses)) or self.statuses[row].problem is not None:
            return
        self.flight_chosen.emit(self.statuses[row].project)

    def export_choices(self) -> SurveyExportDialog:
        """Export Survey Map…'s questions, the footprints and basemap first a flight's project has set."""
        from app.dialogs.survey_export_dialog import SurveyExportDialog

        from core.errors import DamagemapError
        from services.survey import default_export_dir, survey_product

        first = {key: next((getattr(s, key) for s in self.statuses if getattr(s, key, None) is not None), None)
                 for key in ("footprints", "basemap")}
        try:
            product = survey_product(self.survey, self.statuses)
        except DamagemapError:  # what the survey keeps is not valid: the fields start empty, to give again
            product = None
        return SurveyExportDialog(self.export_folder or default_export_dir(self.survey), parent=self, product=product,
                                  **first)

    def export_dialog(self) -> None:
        dialog = self.export_choices()
        if dialog.exec():
            choice = dialog.choice()
            self.export_to(choice.folder, footprints=choice.footprints, basemap=choice.basemap,
                           project_sources=False, product=choice.product)

    def export_to(self, folder: Path, *, footprints: Path | None = None, basemap: Path | None = None,
                  project_sources: bool = True, product: dict | None = None) -> FunctionJob | None:
        """Write every survey file into ``folder`` off the GUI thread (``footprints``,
        ``basemap``, ``project_sources``: as :func:`services.survey.export_survey` takes them;
        ``product``: the event and producer to name, kept in the survey once written, as
        :func:`services.survey.check_survey_product` takes them)."""
        if self._export_job is not None and self._export_job.is_running:
            return None
        job = FunctionJob(survey_export_job, self.survey.folder, Path(folder), footprints=footprints,
                          basemap=basemap, project_sources=project_sources, product=product, parent=self)
        job.done.connect(lambda result: self._on_exported(Path(folder), result))
        job.failed.connect(self._on_export_failed)
        self._export_job = job
        self.message.setText(_escape(f"Exporting the survey's map to {folder}…"))
        job.start()
        self._update_buttons()
        return job

    def _on_exported(self, folder: Path, result: tuple[list[Path], object, list[str]]) -> None:
        written, built, kept = result
        self.export_folder = folder
        links = [f'<a href="{QUrl.fromLocalFile(str(path)).toString()}">{text}</a>' for suffix, text in
                 ((".html", "open the map"), (".pdf", "the print map and site atlas"))
                 for path in written if Path(path).suffix == suffix][:2]
        links = " · ".join([*links, f'<a href="{QUrl.fromLocalFile(str(folder)).toString()}">open the folder</a>'])
        sites = len(built.sites)
        kept_text = ""
        if kept:  # only the fields this export changed: one as filled in is not written into the survey
            from app.dialogs.survey_export_dialog import product_field_label

            fields = ", ".join(product_field_label(key) if key == "glide" else product_field_label(key).lower()
                               for key in kept)
            kept_text = f"<br>Kept the {_escape(fields)} in the survey for its later exports."
        self.message.setText(
            f"Wrote {counted(len(written), 'file')} with {counted(sites, 'site')} to "
            f"{_escape(str(folder))}: {links}{kept_text}")
        self._on_map(built)
        self._update_buttons()
        self.exported.emit(written)

    def _on_export_failed(self, exc: Exception) -> None:
        self.message.setText(_failure(f"Export failed: {error_text(exc)}"))
        self._update_buttons()

    @staticmethod
    def _open_link(url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))


#: a flight's video not found, and the command that finds it (services.survey.missing_video_text)
_RELINK_VIDEO = re.compile(r"give where it is now \(matched by its content\): damagemap survey relink '.*' \S+ VIDEO$")

#: how a rejection reaches the flight it was not made in, said with a command (services.survey.survey_map)
_RECORDS_REJECTION = "(`survey analyse`, or opening the flight in the app, records the rejection in it)"
#: a flight left out of the map for want of telemetry (geo.mapping), said with commands
_NO_TELEMETRY = re.compile(r"flight (.+?): left out \(.*: the project has no telemetry file; ")
#: what a flight left out for want of a camera or heights is given with, in a survey, said
#: with commands (services.survey's flags hint)
_READ_IN_SURVEY = re.compile(r"; in a survey: `damagemap survey georeference [^`]*` reads them from the video, or give "
                             r"them to `damagemap export [^`]*`$")
_GIVE_IN_SURVEY = re.compile(r"; in a survey: give them to `damagemap export [^`]*`$")
#: a flag named in parentheses, alone ("(--ground-elevation M)") or before the app's way
_FLAG_ALONE = re.compile(r" \(--[^();]*\)")
_FLAG_BEFORE = re.compile(r"\(--[^();]*; ")


def survey_note_in_window_words(note: str) -> str:
    """A note of the survey's map as the window says it: the sites no other flight found
    are said as a flight's Sites list says them, not by the files' property; a video not
    found is found with Locate Flight…, and a camera or heights missing read with Read
    Cameras & Heights or given in the flight's Georeferencing…, not a command."""
    from geo.survey_fusion import NOT_FOUND_BY

    no_telemetry = _NO_TELEMETRY.match(note)
    if no_telemetry is not None:
        return (f"flight {no_telemetry[1]}: left out: its project has no telemetry (the drone's SRT, GPX or flight "
                "log): open the flight and choose File > Open Telemetry…")
    note = note.replace(_RECORDS_REJECTION, "(opening the flight records the rejection in it)")
    if _READ_IN_SURVEY.search(note) or _GIVE_IN_SURVEY.search(note):
        note = _READ_IN_SURVEY.sub("; Read Cameras & Heights reads them from the video (or open the flight and "
                                   "choose Analysis > Georeferencing…)", note)
        note = _GIVE_IN_SURVEY.sub("; open the flight and give them in Analysis > Georeferencing…", note)
        note = _FLAG_ALONE.sub("", _FLAG_BEFORE.sub("(", note))
    note = _RELINK_VIDEO.sub("choose the flight and Locate Flight… (its video is recognised by its content)", note)
    if NOT_FOUND_BY not in note:
        return note
    return note.replace(f" {NOT_FOUND_BY}", "") + " (a flight's Sites list says “not found by …” at each)"


def _escape(text: str) -> str:
    from html import escape

    return escape(text, quote=False)


def _failure(text: str) -> str:
    """``text`` (plain; its lines kept) as the message line shows what went wrong."""
    lines = "<br>".join(_escape(line) for line in text.split("\n"))
    return f'<span style="color: #b00020;">{lines}</span>'


__all__ = ["SurveyDialog", "analysed_text"]
