"""The window's surveys: the survey last opened, its list of flights, and flights
analysed one after the other.

A survey (docs/survey.md) is a folder of flights, each an ordinary project; the window
opens one flight at a time. :class:`SurveyController` keeps which survey that flight
belongs to (the status bar names it, the Sites panel carries its other flights'
decisions through ``ProjectDocument.survey``), shows the survey's
:class:`app.dialogs.survey_dialog.SurveyDialog`, and runs Analyse Flights…: each
flight opens and is analysed as Analysis > Analyse… does, then the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from app.errors import show_error
from app.workers import AnalysisOptions, FunctionJob
from services.survey import SurveyWatch

_log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover
    from app.dialogs.survey_dialog import SurveyDialog
    from app.main_window import MainWindow
    from core.survey import Survey


@dataclass
class FlightBatch:
    """One Analyse Flights…: the projects still to analyse, with what, and how it went."""

    queue: list[Path]
    options: AnalysisOptions
    model: Any = None
    total: int = 0
    done: int = 0
    #: the flights not analysed, each with why ("east (could not be opened)")
    skipped: list[str] = field(default_factory=list)


class SurveyController(QObject):
    """The surveys of one window (``window.surveys``)."""

    #: Review changes coalesce for this long before the survey is read again: a burst of
    #: keys is one read, and the Sites list and the map (read after 100 and 150 ms, on the
    #: same job thread) come first, being what the reviewer acts on.
    REREAD_DELAY_MS = 300

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        #: the survey last opened (File > Survey Flights… shows it again) and its dialog
        self.survey: Survey | None = None
        self.dialog: SurveyDialog | None = None
        #: the last Analyse Flights… (``None`` before the first)
        self.batch: FlightBatch | None = None
        self._running_batch = False
        self._context_job: Any = None  # the job reading what the other flights say
        self._context_reads = 0  # reads asked for: a read's view is shown only if none was asked since
        self._read_context_again = False  # a review change while a read ran: read once more after it
        self._reread_timer = QTimer(self)
        self._reread_timer.setSingleShot(True)
        self._reread_timer.setInterval(self.REREAD_DELAY_MS)
        self._reread_timer.timeout.connect(lambda: self.read_flight_in_survey(keep_shown=True))
        #: the survey's files as the last read found them, and the other flights analysed
        #: elsewhere, whose changes wait for their analysis to end (services.survey.SurveyWatch)
        self._watch = SurveyWatch()
        self._read_survey_again = False  # the next read reads the survey's manifest again too
        self._watch_timer = QTimer(self)  # decisions on the other flights, made outside this window
        self._watch_timer.setInterval(window.document.WATCH_INTERVAL_MS)
        self._watch_timer.timeout.connect(self.check_other_flights)
        window.analysis_finished.connect(self._on_analysis_finished)
        window.document.run_changed.connect(self._on_run_changed)
        window.document.analysis_running_changed.connect(self._on_analysis_running_changed)
        window.document.review_changed.connect(self._on_review_changed)

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        """File > Open Survey…: choose a survey folder."""
        folder = QFileDialog.getExistingDirectory(self.window, "Open a survey folder",
                                                  self.window.settings.last_directory())
        if folder:
            self.open(Path(folder))

    def open(self, folder: Path | str) -> SurveyDialog | None:
        """Show a survey's flights to open one by one, analyse and export; returns the
        dialog (``None``: the survey could not be read, which is shown)."""
        from app.dialogs.survey_dialog import SurveyDialog
        from core.survey import Survey

        window, folder = self.window, Path(folder)
        try:
            survey = Survey.open(folder)
        except Exception as exc:  # noqa: BLE001 - every failure is shown, none crashes the window
            show_error(window, exc, title="Cannot open the survey")
            return None
        self.survey = survey
        window.settings.add_recent_file(folder)
        window.settings.set_last_directory(folder.parent)
        if self.dialog is not None:
            self.dialog.close()
        dialog = SurveyDialog(survey, window, current_project=window.document.project_path)
        dialog.flight_chosen.connect(lambda project: self._open_chosen(dialog, project))
        dialog.exported.connect(lambda _paths: window.offer_export_folder(dialog.export_folder))
        dialog.survey_changed.connect(self._on_survey_changed)
        dialog.analyse_requested.connect(
            lambda projects, fps: self.analyse_flights(projects, AnalysisOptions(fps=fps or None)) and dialog.accept())
        self.dialog = dialog
        dialog.open()
        window.survey_changed()
        return dialog

    def _open_chosen(self, dialog: SurveyDialog, project: Path) -> None:
        if self.window.open_path(project):
            dialog.accept()
            self.window.activateWindow()  # the keys go to the flight now, not to the closed list

    def new_dialog(self) -> None:
        """File > New Survey…: a folder for the survey (one holding a survey opens it)."""
        folder = QFileDialog.getExistingDirectory(self.window, "Choose or make an empty folder for the survey",
                                                  self.window.settings.last_directory())
        if folder:
            self.new(Path(folder))

    def new(self, folder: Path) -> SurveyDialog | None:
        """Create a survey in ``folder`` (named after it) and show it, to add flights to;
        a folder that holds a survey already shows that one. Returns the dialog."""
        from core.survey import survey_folder_of
        from services.survey import create_survey

        if survey_folder_of(folder) is None:
            try:
                create_survey(Path(folder))
            except Exception as exc:  # noqa: BLE001 - every failure is shown, none crashes the window
                show_error(self.window, exc, title="Cannot create the survey")
                return None
        return self.open(folder)

    def flights_dialog(self) -> None:
        """File > Survey Flights…: the last survey's flights again."""
        if self.survey is not None:
            self.open(self.survey.folder)

    def _on_survey_changed(self, survey: Survey) -> None:
        self.survey = survey
        doc = self.window.document
        if doc.survey is not None:
            # the open flight may have left the survey (Remove Flight…): then the other flights'
            # sites, what they found and their decisions are its no more
            doc.survey = survey if self.flight_of_open_project() is not None else None
            self.read_flight_in_survey()
        self._follow_other_flights()
        self.window.survey_changed()

    # ------------------------------------------------------------------ the open project
    def flight_of_open_project(self) -> tuple[int, str] | None:
        """The open project's number (from 1) and name among the survey's flights, or ``None``."""
        survey, project = self.survey, self.window.document.project_path
        flight = None if survey is None or project is None else survey.flight_of_project(project)
        return None if flight is None else (survey.flights.index(flight) + 1, flight.name)

    def status_text(self) -> str:
        """The open project's place in the survey, for the status bar ("" when it is not a flight of it)."""
        flight = self.flight_of_open_project()
        if flight is None or self.survey is None:
            return ""
        number, name = flight
        return f"survey {self.survey.name}: flight {name} ({number} of {len(self.survey.flights)})"

    def neighbour_flight(self, step: int) -> Path | None:
        """The project of the flight ``step`` places after (before, when negative) the open
        one in the survey's order, or ``None``."""
        flight = self.flight_of_open_project()
        if flight is None or self.survey is None:
            return None
        index = flight[0] - 1 + step
        if not 0 <= index < len(self.survey.flights):
            return None
        return self.survey.project_path(self.survey.flights[index])

    def step_flight(self, step: int) -> bool:
        """File > Next/Previous Survey Flight: open the neighbouring flight of the survey."""
        project = self.neighbour_flight(step)
        return project is not None and self.window.open_path(project)

    def project_opened(self) -> None:
        """A flight of the survey carries its other flights' decisions (the Sites panel) and
        shows what they saw (the map). A flight's project opened by itself (a recent file,
        a drop) brings its survey along, as if the survey had been opened first."""
        from core.survey import survey_of_project

        project = self.window.document.project_path
        if self.flight_of_open_project() is None and project is not None:
            found = survey_of_project(project)
            if found is not None:
                self.survey = found
                self.window.survey_changed()
        self.window.document.survey = self.survey if self.flight_of_open_project() is not None else None
        self.read_flight_in_survey()
        self._follow_other_flights()

    def _on_run_changed(self, _run_id: object) -> None:
        if not self.window.document.analysis_running:  # a run being analysed is read when it ends
            self.read_flight_in_survey()

    def _on_analysis_running_changed(self, running: bool) -> None:
        if not running:
            self.read_flight_in_survey()

    def _on_review_changed(self, changes: object) -> None:
        """A decision, split, merge, undo or redo in the open flight (``None``: review done
        outside the window): the survey's map changes with it. Until it is read again the
        window says nothing of the sites changed and those near them
        (:meth:`services.survey.FlightInSurvey.withheld`) rather than what the survey said
        before; the rest stays as read."""
        doc = self.window.document
        if doc.survey is None or doc.analysis_running:  # a run being analysed is read when it ends
            return
        view = doc.flight_in_survey
        if view is not None:
            site_of, _unconfirmed = doc.site_assignments()
            ids = getattr(changes, "detection_ids", None)
            # a sighting in no listed site (a rejected one's, one left out): the change is not placed
            changed = None if ids is None or not ids <= site_of.keys() else {site_of[i] for i in ids}
            doc.set_flight_in_survey(view.withheld(changed))  # type: ignore[attr-defined]
        self._context_reads += 1  # a read under way is of the review before the change
        self._reread_timer.start()

    @property
    def busy(self) -> bool:
        """What the survey says of the open flight is being read, or will be."""
        return (self._reread_timer.isActive() or self._read_context_again
                or (self._context_job is not None and self._context_job.is_running))

    def read_flight_in_survey(self, *, keep_shown: bool = False) -> None:
        """Read, on the job thread, what the survey's other flights say around the open
        flight (one survey map for the Map and Sites panels), once a flight and run, and
        after each review change. Only the read asked for last is shown; ``keep_shown``:
        what is shown stays until then (else nothing is). One read at a time: changes made
        while one runs are read once, after it."""
        doc = self.window.document
        self._reread_timer.stop()  # this read is of the review as it stands now
        self._context_reads += 1
        if not keep_shown:
            doc.set_flight_in_survey(None)
        if doc.survey is None or doc.project_path is None:
            return
        if self._context_job is not None and self._context_job.is_running:
            self._read_context_again = True
            return
        self._start_context_read()

    def _start_context_read(self) -> None:
        from services.survey import flight_in_survey, flight_in_survey_read_again

        doc = self.window.document
        self._read_context_again = False
        if doc.survey is None or doc.project_path is None:
            return
        project, asked = doc.project_path, self._context_reads
        # taken before the read: a change made while it reads is noticed at the next look
        if self._watch.leave_out != project:
            self._watch = SurveyWatch(leave_out=project)
        self._watch.take(doc.survey)
        if self._read_survey_again:
            self._read_survey_again = False
            job = FunctionJob(flight_in_survey_read_again, doc.survey.folder, project, parent=self)
            job.done.connect(lambda read: self._show_survey_read_again(*read)
                             if doc.project_path == project and asked == self._context_reads else None)
        else:
            job = FunctionJob(flight_in_survey, doc.survey, project, parent=self)
            job.done.connect(lambda view: doc.set_flight_in_survey(view)
                             if doc.project_path == project and asked == self._context_reads else None)
        job.failed.connect(lambda exc: _log.warning("the survey's other flights not read: %s", exc))
        job.finished.connect(self._on_context_read)
        self._context_job = job
        job.start()

    def _follow_other_flights(self) -> None:
        """Look for changes to the other flights while a flight of the survey is open."""
        if self.window.document.survey is not None:
            self._watch_timer.start()
        else:
            self._watch_timer.stop()
            self._watch = SurveyWatch()

    def check_other_flights(self) -> bool:
        """Whether the survey changed outside the open flight since it was last read (a
        decision on another flight: ``damagemap survey decide``, another window; a flight
        added or taken out): then it is read again, off the GUI thread, and the survey
        numbers and the other flights' sites follow. Looked at every
        ``ProjectDocument.WATCH_INTERVAL_MS`` (the open flight's own project is watched by
        :meth:`ProjectDocument.check_outside_changes`); only the files' modification times
        are compared here. Not while a read is under way or asked for, nor while an
        analysis writes. Nor at each change to another flight that another damagemap analyses
        (the survey's map would be built back to back while it runs): once, when its
        analysis ends (:class:`services.survey.SurveyWatch`)."""
        doc = self.window.document
        if doc.survey is None or doc.project_path is None or doc.analysis_running or self.busy:
            return False
        watched = self._watch.leave_out == doc.project_path and self._watch.seen is not None  # else never read
        if watched and not self._watch.look(doc.survey):
            return False
        self._read_survey_again = True
        self.read_flight_in_survey(keep_shown=True)
        return True

    def _show_survey_read_again(self, survey: Survey, view: Any) -> None:
        """A read that read the survey's manifest again: its flights, when other damagemaps
        changed them, become the window's (the status bar follows); the open flight taken
        out of it shows the other flights no more."""
        doc = self.window.document
        if survey != self.survey:
            self.survey = survey
            doc.survey = survey if self.flight_of_open_project() is not None else None
            self._follow_other_flights()
            self.window.survey_changed()
        doc.set_flight_in_survey(view if doc.survey is not None else None)

    def _on_context_read(self) -> None:
        self._context_job.deleteLater()
        self._context_job = None
        if self._read_context_again:
            self._start_context_read()

    # ------------------------------------------------------------------ Analyse Flights…
    def analyse_flights(self, projects: list[Path], options: AnalysisOptions, *, model: Any = None) -> bool:
        """Analyse projects one after the other in the window: each opens and is analysed
        as Analysis > Analyse… does (with its own georeferencing), then the next. A flight
        that cannot be opened or whose analysis fails is skipped, and named at the end;
        Cancel stops the rest after the frame it is on. ``model`` injects one (tests)."""
        job = self.window.analysis_job
        if job is not None and job.is_running:
            show_error(self.window, "An analysis is running; cancel it before analysing other flights.")
            return False
        self.batch = FlightBatch([Path(p) for p in projects], options, model, total=len(projects))
        self._running_batch = True
        return self._analyse_next()

    @property
    def queued_flights(self) -> list[Path]:
        """The projects still to analyse after the one analysing now."""
        return list(self.batch.queue) if self.batch is not None and self._running_batch else []

    @property
    def skipped_flights(self) -> list[str]:
        """The flights of the last Analyse Flights… that were not analysed, each with why."""
        return list(self.batch.skipped) if self.batch is not None else []

    def _analyse_next(self) -> bool:
        from app.dialogs.geo_dialog import hfov_degrees

        window, batch = self.window, self.batch
        while batch is not None and self._running_batch and batch.queue:
            project = batch.queue.pop(0)
            if not window.open_path(project):
                batch.skipped.append(f"{self._flight_name(project)} (could not be opened)")
                continue
            settings = window.document.settings
            options = replace(batch.options, time_offset_s=None,  # each flight's own
                              hfov_deg=hfov_degrees(settings.hfov_deg) or None)
            if window.start_analysis(options, model=batch.model) is None:
                batch.skipped.append(f"{self._flight_name(project)} (could not start)")
                continue
            left = len(batch.queue)
            if left:
                window.statusBar().showMessage(f"{left} more flight{'' if left == 1 else 's'} to analyse after this one",
                                               10_000)
            return True
        self._finish_batch()
        return False

    def _flight_name(self, project: Path) -> str:
        flight = None if self.survey is None else self.survey.flight_of_project(project)
        return Path(project).stem if flight is None else flight.name

    def _finish_batch(self) -> None:
        """Say how the batch went (the status bar), and end it."""
        batch = self.batch
        if batch is None or not self._running_batch:
            return
        self._running_batch = False
        batch.skipped += [f"{self._flight_name(p)} (cancelled)" for p in batch.queue]
        batch.queue.clear()
        text = f"Analysed {batch.done} of {batch.total} flight{'' if batch.total == 1 else 's'}"
        if batch.skipped:
            text += "; not analysed: " + ", ".join(batch.skipped)
        self.window.statusBar().showMessage(text, 15_000)  # not for good: it hides the project's path (not the survey's name)

    def _on_analysis_finished(self, cancelled: bool) -> None:
        batch = self.batch
        if batch is None or not self._running_batch:
            return
        if cancelled:
            self._finish_batch()
            return
        job = self.window.analysis_job
        if job is not None and job.error is not None:
            batch.skipped.append(f"{self._flight_name(self.window.document.project_path)} (analysis failed: {job.error})")
        else:
            batch.done += 1
        if batch.queue:  # the next flight once the window has finished with this run
            QTimer.singleShot(0, self._analyse_next)
        else:
            self._finish_batch()


__all__ = ["FlightBatch", "SurveyController"]
