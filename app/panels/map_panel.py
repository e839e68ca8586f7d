"""The map panel: the flight track, the drone at the current frame, the damage sites.

It follows the document: it rebuilds the map (on the job thread, through the cached
:func:`services.maps.damage_map`) when a project opens, the telemetry or the project
settings change, the run changes, or detections change while no analysis is running
(an analysis asks once it ends); it moves the drone with the current frame, rings the
selected detection's site, and asks the document to show a clicked site's best frame.
Once a map is drawn it reads the project's offline basemap for it on the job thread
(:func:`services.maps.display_basemap`, which keeps the last reads) and draws it under
the map, and grades the project's building footprints as the exports do
(:func:`services.maps.display_buildings`); a file that cannot be used is logged and left
out.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.document import ProjectDocument
from app.panels import Panel
from app.widgets.map_view import MapWidget
from app.workers import FunctionJob, build_map_job, read_track_job, track_preview_job
from core.errors import GeoreferenceError, TelemetryError
from geo.mapping import DamageMap
from services.maps import display_basemap, display_buildings

_log = logging.getLogger(__name__)


class MapPanel(Panel):
    """:class:`app.widgets.map_view.MapWidget` kept up to date with the document.

    Signals
    -------
    map_updated()
        The map was redrawn from a rebuilt damage map (or a message why there is none).
    georeferencing_requested()
        The analyst pressed Georeferencing… under a map the telemetry could not place
        (the window opens its dialog, where the ground or the height can be read from
        the video).
    """

    title = "Map"
    object_name = "map_dock"

    map_updated = Signal()
    georeferencing_requested = Signal()

    #: Edits and settings changes coalesce for this long before the map is rebuilt.
    REBUILD_DELAY_MS = 150

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(document, parent)
        self.map_widget = MapWidget()
        self.show_unconfirmed = QCheckBox("Show unconfirmed sites")
        self.show_unconfirmed.setToolTip(
            "Also draw (hollow, dashed) the sites detected in too few of the frames that showed them; "
            "the Sites panel lists them last")
        self.show_unconfirmed.toggled.connect(self._show_content)
        #: the map's cautions (``DamageMap.cautions``: a flight flown unlike the detector's
        #: training footage), hidden when it has none
        self.caution_label = QLabel()
        self.caution_label.setObjectName("map_caution")
        self.caution_label.setWordWrap(True)
        self.caution_label.setStyleSheet("QLabel#map_caution { background: #fff3cd; color: #664d03; padding: 4px; }")
        self.caution_label.hide()
        #: shown when the telemetry, as the project sets it, places nothing: one click to
        #: the settings that fix it, where the message names them
        self.georeferencing_button = QPushButton("Georeferencing…")
        self.georeferencing_button.setObjectName("map_georeferencing")
        self.georeferencing_button.setToolTip(
            "Set the time offset, the camera, the ground elevation or the flight height, or read them from the video")
        self.georeferencing_button.clicked.connect(self.georeferencing_requested)
        fix_row = QWidget()
        fix_layout = QHBoxLayout(fix_row)
        fix_layout.setContentsMargins(4, 0, 4, 0)
        fix_layout.addWidget(self.georeferencing_button)
        fix_layout.addStretch(1)
        self._fix_row = fix_row
        fix_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.show_unconfirmed)
        layout.addWidget(self.caution_label)
        layout.addWidget(fix_row)
        layout.addWidget(self.map_widget)
        self._content: object | None = None
        self._content_run: int | None = None  # the run the damage map shown was built of
        self._building_run: int | None = None  # the run the map job running builds
        self._buildings_run: int | None = None  # the run the buildings drawn were graded from
        #: the sites left off while another run is analysed (:meth:`_sites_of_another_run`)
        self._sites_left_off = False
        #: before any analysis: why the telemetry would place nothing as the project is
        #: set (shown above the track, with the Georeferencing… button), or None
        self._preview_problem: str | None = None
        self._preview_placed: DamageMap | None = None  # before any analysis: the track on the video's clock
        self._job: FunctionJob | None = None
        self._basemap_job: FunctionJob | None = None
        self._buildings_job: FunctionJob | None = None
        self._dirty = False
        self._tracks_replaced = 0  # a map job started before the last one built with another track
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.REBUILD_DELAY_MS)
        self._timer.timeout.connect(self.rebuild)

        # bound methods, not lambdas: Qt disconnects them when the panel goes away
        document.opened.connect(self.schedule_rebuild)
        document.closed.connect(self._on_closed)
        document.telemetry_changed.connect(self.schedule_rebuild)
        document.track_replaced.connect(self._on_track_replaced)
        document.run_changed.connect(self._on_data_changed)
        document.detections_changed.connect(self._on_data_changed)
        document.analysis_running_changed.connect(self._on_analysis_running_changed)
        document.current_frame_changed.connect(self._on_current_frame_changed)
        document.selection_changed.connect(self.map_widget.highlight_detection)
        document.highlight_requested.connect(self.map_widget.highlight_detection)
        document.score_threshold_changed.connect(self.map_widget.set_score_threshold)
        document.flight_in_survey_changed.connect(self._show_sites_elsewhere)
        self.map_widget.set_score_threshold(document.score_threshold)
        self.map_widget.site_clicked.connect(document.request_detection)

    @property
    def busy(self) -> bool:
        """A rebuild is scheduled or running."""
        return self._timer.isActive() or (self._job is not None and self._job.is_running)

    def schedule_rebuild(self) -> None:
        """Rebuild soon; a burst of changes gives one rebuild. A project just opened says
        its map is coming, not "No project open", until the build starts."""
        if self.document.is_open and self.map_widget.content is None:
            self.map_widget.set_map(None, "Building the map…")
        self._timer.start()

    def _on_data_changed(self, *_args: object) -> None:
        if not self.document.analysis_running:  # the run's end asks for one rebuild
            self.schedule_rebuild()
        elif self._sites_of_another_run() != self._sites_left_off:
            self._show_content()

    def _on_analysis_running_changed(self, running: bool) -> None:
        if not running:
            self.schedule_rebuild()
        elif self._sites_of_another_run() != self._sites_left_off:
            self._show_content()

    def _sites_of_another_run(self) -> bool:
        """The map shown holds an earlier run's sites while another run is analysed (the
        window's analysis or another program's): the Sites panel lists none of them, and
        a click on one would ask for a detection of no run open, so they are left off
        until the run analysed is read."""
        doc = self.document
        return (doc.analysis_running and isinstance(self._content, DamageMap)
                and self._content_run is not None and self._content_run != doc.run_id)

    def _on_track_replaced(self) -> None:
        """Another track: the map built with the one before (its track, its sites) is off
        until the new one is built, as the Sites panel lists no site meanwhile (it showed
        the old sites while the panel said it was reading the new ones)."""
        self._tracks_replaced += 1
        self._content = None
        self._content_run = None
        self._preview_problem = None
        self._preview_placed = None
        self._fix_row.hide()
        self._show_cautions([])
        self.map_widget.set_map(None, "Building the map…")

    def _on_current_frame_changed(self, _index: int, pts_s: float) -> None:
        self.map_widget.set_time(pts_s)

    def _on_closed(self) -> None:
        self._timer.stop()
        self._content = None
        self._content_run = None
        self._buildings_run = None
        self._sites_left_off = False
        self._preview_problem = None
        self._preview_placed = None
        self._fix_row.hide()
        self._show_cautions([])
        self.map_widget.highlight_detection(None)  # no ring for a selection of the closed project
        self.map_widget.set_flight_in_survey(None)
        self.map_widget.set_map(None, "No project open")

    def rebuild(self) -> None:
        """Build the map now on the job thread (or once more after the running build)."""
        doc = self.document
        if not doc.is_open:
            return
        if doc.telemetry_path is None:
            self._fix_row.hide()
            self.map_widget.set_map(None, "No telemetry: File > Open Telemetry… (GPX, DJI SRT, CSV, a GoPro video)")
            self.map_updated.emit()
            return
        if self._job is not None and self._job.is_running:
            self._dirty = True
            return
        self._dirty = False
        self._building_run = doc.run_id
        if self.map_widget.content is None:
            self.map_widget.set_map(None, "Building the map…")
        track = self._tracks_replaced
        if doc.run_id is None and doc.project_path is not None:
            # nothing analysed yet: where the drone flew, and whether the map could be made
            job = FunctionJob(track_preview_job, doc.project_path, parent=self)
            job.done.connect(lambda result, t=track: self._on_preview(result) if t == self._tracks_replaced else None)
        elif doc.run_id is None:
            job = FunctionJob(read_track_job, doc.telemetry_path, parent=self)
            job.done.connect(lambda result, t=track: self._on_built(result) if t == self._tracks_replaced else None)
        else:
            job = FunctionJob(build_map_job, doc.project_path, doc.run_id, parent=self)
            job.done.connect(lambda result, t=track: self._on_built(result) if t == self._tracks_replaced else None)
        job.failed.connect(lambda exc, t=track: self._on_failed(exc) if t == self._tracks_replaced else None)
        job.finished.connect(self._on_job_finished)
        self._job = job
        job.start()

    def _on_preview(self, result: tuple[object, str | None, DamageMap | None]) -> None:
        track, problem, placed = result
        self._preview_problem = problem
        self._preview_placed = placed
        self._on_built(track, keep_problem=True)

    def _on_built(self, content: object, *, keep_problem: bool = False) -> None:
        if not self.document.is_open:
            return
        if not keep_problem:
            self._preview_problem = None
            self._preview_placed = None
        self._content = content
        self._content_run = self._building_run
        self._show_content()
        self.map_updated.emit()
        self.load_basemap()
        self.load_buildings()
        self._show_sites_elsewhere()

    def _show_content(self, *_args: object) -> None:
        """Draw the built map, with its unconfirmed sites when asked for."""
        content = self._content
        if content is None:
            return
        self._sites_left_off = self._sites_of_another_run()
        self._show_buildings_graded()
        if self._sites_left_off:  # the track, the drone and its view go on; the sites come with the run
            assert isinstance(content, DamageMap)
            self._show_cautions([f"analysing run {self.document.run_id}: its sites come on the map when the "
                                 f"analysis ends (run {self._content_run}'s are not shown meanwhile)"])
            self._fix_row.hide()
            self.map_widget.set_map(content.track, placed=content)
            self.map_widget.set_time(self.document.current_pts)
            return
        if isinstance(content, DamageMap):
            self._show_cautions(content.cautions)
            self._fix_row.setVisible(content.pitch_assumed and bool(content.sites))
        else:  # the track before any analysis: the button goes with a placement problem
            self._show_cautions([] if self._preview_problem is None else [
                f"the map cannot be made as the project is set (analysing the video will not change that): "
                f"{self._preview_problem}"])
            self._fix_row.setVisible(self._preview_problem is not None)
        if self.show_unconfirmed.isChecked() and isinstance(content, DamageMap):
            content = content.with_unconfirmed()
        # before any analysis, the drone and what its camera sees follow the video too
        self.map_widget.set_map(content, placed=self._preview_placed)  # type: ignore[arg-type]  # DamageMap or Track
        self.map_widget.set_time(self.document.current_pts)

    def _show_buildings_graded(self) -> None:
        """The buildings' grade colours only for the run whose sites are shown: while
        another run is analysed, or until the run shown is graded, the plain style."""
        self.map_widget.set_buildings_graded(
            not self._sites_left_off and self._buildings_run is not None and self._buildings_run == self._content_run)

    def _show_cautions(self, cautions: list[str]) -> None:
        text = "\n".join(c[:1].upper() + c[1:] + ("" if c.endswith(".") else ".") for c in cautions)
        self.caution_label.setText(text)
        self.caution_label.setVisible(bool(text))

    @property
    def basemap_loading(self) -> bool:
        """The basemap or the graded buildings are being read."""
        return any(job is not None and job.is_running for job in (self._basemap_job, self._buildings_job))

    def load_buildings(self) -> None:
        """Grade the project's building footprints for the run shown, on the job thread."""
        doc = self.document
        if doc.project_path is None or doc.run_id is None or self.map_widget.basemap_request() is None:
            self.map_widget.set_buildings(None)
            return
        job = FunctionJob(_buildings_job, doc.project_path, doc.run_id, parent=self)
        job.done.connect(self._on_buildings)
        job.failed.connect(self._on_buildings_failed)
        self._buildings_job = job
        job.start()

    def _show_sites_elsewhere(self) -> None:
        """For a flight of a survey, the survey's number of each of its sites and the sites
        its other flights saw (what the survey controller read for the open flight; None:
        none)."""
        self.map_widget.set_flight_in_survey(self.document.flight_in_survey)  # type: ignore[arg-type]

    def _on_buildings(self, result: tuple[int, object]) -> None:
        run_id, buildings = result
        if self.document.is_open:
            self._buildings_run = run_id
            self.map_widget.set_buildings(buildings)  # type: ignore[arg-type]  # outlines or None
            self._show_buildings_graded()

    def _on_buildings_failed(self, exc: Exception) -> None:
        _log.warning("building footprints not shown: %s", exc)
        self._say(f"Building footprints not shown: {exc}")
        self.map_widget.set_buildings(None)

    def _say(self, message: str) -> None:
        """A passing message on the window's status bar (a project file the map could
        not use is not a failure of the map, but the analyst should know)."""
        window = self.window()
        status = getattr(window, "statusBar", None)
        if callable(status):
            status().showMessage(message, 15_000)

    def load_basemap(self) -> None:
        """Read the project's basemap for the map shown, on the job thread."""
        request = self.map_widget.basemap_request()
        path = self.document.project_path
        if request is None or path is None:
            return
        bounds, crs = request
        job = FunctionJob(_basemap_job, path, bounds, crs, self.map_widget.BASEMAP_MARGIN_M, parent=self)
        job.done.connect(self._on_basemap)
        job.failed.connect(self._on_basemap_failed)
        self._basemap_job = job
        job.start()

    def _on_basemap(self, result: tuple[object, str]) -> None:
        basemap, crs = result
        if self.document.is_open:
            self.map_widget.set_basemap(basemap, crs)  # type: ignore[arg-type]  # Basemap or None

    def _on_basemap_failed(self, exc: Exception) -> None:
        _log.warning("basemap not shown: %s", exc)
        self._say(f"Basemap not shown: {exc}")
        self.map_widget.set_basemap(None)

    def _on_failed(self, exc: Exception) -> None:
        _log.warning("map not built: %s", exc)
        self._preview_problem = None
        self.map_widget.set_map(None, f"No map: {exc}")
        self._show_cautions([])
        # the telemetry places nothing as the project sets it (not a broken project file)
        self._fix_row.setVisible(self.document.is_open and isinstance(exc, (GeoreferenceError, TelemetryError)))
        self.map_updated.emit()

    def _on_job_finished(self) -> None:
        if self._dirty:
            self.rebuild()


def _buildings_job(project_path: Path, run_id: int) -> tuple[int, object]:
    """The run graded from, and the project's buildings graded from it (job thread)."""
    return run_id, display_buildings(project_path, run_id)


def _basemap_job(project_path: Path, bounds: tuple[float, float, float, float], crs: str,
                 margin_m: float) -> tuple[object, str]:
    """The project's basemap in the map's plane, and that plane's CRS (job thread)."""
    return display_basemap(project_path, bounds, crs, margin_m=margin_m), crs


__all__ = ["MapPanel"]
