"""The project settings that need no new analysis: time offset, field of view, camera
pitch, ground elevation and the map's score threshold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget,
)

from app.dialogs.bounded_spin import BoundedSpinBox, RangeGuard
from app.dialogs.offset_box import OffsetSpinBox
from core.settings import ProjectSettings
from geo.camera import DEFAULT_HFOV_DEG, DEFAULT_PITCH_DEG

#: The field of view the boxes take (degrees), as ``geo.camera`` does: more than 1, less than 170.
HFOV_LIMITS_DEG = (1.1, 169.9)
HFOV_WHY = "a camera's horizontal view; a drone's is about 60° to 90°"


#: The settings the dialog edits and "Revert to the previous settings" brings back (the
#: map threshold aside: the window's score slider moves it too).
GEO_FIELDS = ("time_offset_s", "time_offset_sigma_s", "hfov_deg", "hfov_sigma_deg", "hfov_unsure",
              "ground_elevation_m", "ground_elevation_sigma_m", "flight_height_m", "flight_height_sigma_m",
              "camera_pitch_deg", "camera_pitch_sigma_deg", "heading_offset_deg", "heading_offset_sigma_deg",
              "hover_turns")


#: What Edit > Undo calls each setting the dialog changes ("Undo Change clock offset"), in
#: the dialog's order: a value and how sure it is are one setting.
SETTING_NAMES = {
    "time_offset_s": "clock offset", "time_offset_sigma_s": "clock offset",
    "hfov_deg": "field of view", "hfov_sigma_deg": "field of view", "hfov_unsure": "field of view",
    "camera_pitch_deg": "camera pitch", "camera_pitch_sigma_deg": "camera pitch",
    "heading_offset_deg": "camera heading", "heading_offset_sigma_deg": "camera heading",
    "hover_turns": "camera turns while hovering",
    "ground_elevation_m": "ground elevation", "ground_elevation_sigma_m": "ground elevation",
    "flight_height_m": "flight height", "flight_height_sigma_m": "flight height",
    "min_score": "map threshold",
}


def settings_change_text(before: ProjectSettings, after: ProjectSettings) -> str:
    """The undo step's name for a change from ``before`` to ``after``: "Change clock
    offset", "Change clock offset and camera pitch"; past three settings, "Change
    georeferencing (4 settings)"."""
    names = list(dict.fromkeys(name for field, name in SETTING_NAMES.items()
                               if getattr(before, field) != getattr(after, field)))
    if not names:
        return "Change georeferencing"
    if len(names) > 3:
        return f"Change georeferencing ({len(names)} settings)"
    return "Change " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def hfov_box(hfov_deg: float) -> BoundedSpinBox:
    """The field-of-view box of the analysis and georeferencing dialogs: 0 is "from metadata"."""
    box = BoundedSpinBox("Horizontal field of view", *HFOV_LIMITS_DEG, why=HFOV_WHY, suffix="°",
                         unset=0.0, unset_text=f"from metadata, else {DEFAULT_HFOV_DEG:g}°")
    box.setValue(hfov_deg)
    return box


def hfov_degrees(hfov: float | str | None) -> float:
    """What the field-of-view box shows: degrees, a preset's degrees, or 0 (automatic)."""
    if hfov is None:
        return 0.0
    if isinstance(hfov, str):
        from geo.camera import resolve_hfov

        try:
            return resolve_hfov(hfov).hfov_deg
        except ValueError:
            return 0.0
    return float(hfov)


class GeoSettingsDialog(QDialog):
    """Edit a :class:`ProjectSettings`; the map is rebuilt from the stored detections."""

    def __init__(self, settings: ProjectSettings, parent: QWidget | None = None, *,
                 video_path: Path | None = None, telemetry_path: Path | None = None,
                 min_score_floor: float = 0.0, previous: ProjectSettings | None = None,
                 previous_when: str = "") -> None:
        super().__init__(parent)
        #: the settings from before the last OK (``None``: none this session) and when they were replaced
        self._previous, self._previous_when = previous, previous_when
        self._sources = (video_path, telemetry_path)
        self._estimate_job: Any = None
        self.setWindowTitle("Georeferencing")
        self._initial = settings
        #: the offset last found from the video and its one-sigma uncertainty (seconds)
        self._estimated: tuple[float, float] | None = None
        #: the ground elevation last read from the video and its one-sigma uncertainty (m)
        self._ground_read: tuple[float, float] | None = None
        self._ground_job: Any = None
        self.offset_spin = OffsetSpinBox(settings.time_offset_s)
        self.offset_spin.setSingleStep(0.1)
        self.hfov_spin = hfov_box(hfov_degrees(settings.hfov_deg))
        self.elevation_spin = BoundedSpinBox(
            "Ground elevation", -450.0, 9000.0, suffix=" m", unset_text="first track point",
            why="metres above sea level: the lowest dry land, by the Dead Sea, lies 430 m below it")
        if settings.ground_elevation_m is not None:
            self.elevation_spin.setValue(settings.ground_elevation_m)
        self.height_spin = BoundedSpinBox(
            "Flight height", 0.0, 3000.0, suffix=" m", unset=0.0, unset_text="from the telemetry",
            why="metres above the ground; 0 reads it from the telemetry")
        self.height_spin.setValue(settings.flight_height_m or 0.0)
        #: the flight height last read from the video and its one-sigma uncertainty (m)
        self._height_read: tuple[float, float] | None = None
        #: the field of view last read from the video with the camera, its one-sigma spread (degrees), and
        #: whether the flight turned too little to pin it down (``FlowView.width_unsure``)
        self._hfov_read: tuple[float, float, bool] | None = None
        self.pitch_spin = BoundedSpinBox(
            "Camera pitch", -90.0, 0.0, suffix="°", unset_text=f"assumed {DEFAULT_PITCH_DEG:g}°",
            why="degrees below the horizon: −90° looks straight down, 0° at the horizon",
            tip="Used only when the telemetry gives no gimbal pitch (a GPX, most DJI Mini SRTs).")
        if settings.camera_pitch_deg is not None:
            self.pitch_spin.setValue(settings.camera_pitch_deg)
        #: the camera last read from the video: pitch and its sigma, heading offset and its sigma (degrees)
        self._camera_read: tuple[float, float, float, float] | None = None
        #: the camera's turns where the drone hovered, read with the camera (``None``: not read)
        self._turns_read: tuple[tuple[float, ...], ...] | None = None
        self._camera_job: Any = None
        # not below the score the run's analysis kept detections from: nothing lower was stored
        self.min_score_spin = BoundedSpinBox(
            "Map threshold", min_score_floor, 1.0, decimals=2,
            why="scores run from 0 to 1" + (f", and the analysis stored no detection below {min_score_floor:g}"
                                             if min_score_floor > 0 else ""))
        self.min_score_spin.setSingleStep(0.05)
        self.min_score_spin.setValue(settings.min_score)
        form = QFormLayout(self)
        form.addRow(QLabel("Changes move the damage on the map; the detections stay as they are."))
        self.estimate_button, self.estimate_label, offset_row = self._video_reading_row(
            self.offset_spin, "Estimate from the video",
            "Match the video's own motion (travel and turns) against the track's speed and turns; "
            "the offset found is put in the box, to nudge by hand if needed", self.estimate_offset)
        form.addRow("Telemetry time offset", offset_row)
        form.addRow("", self.estimate_label)
        form.addRow("Horizontal field of view", self.hfov_spin)
        self.camera_button, self.camera_label, camera_row = self._video_reading_row(
            self.pitch_spin, "Read from the video",
            "For telemetry without gimbal pitch: read the camera's pitch, and how far it looks off the direction "
            "of travel, from how the ground flows through the frame. For telemetry without a heading, also where "
            "the camera turned while the drone hovered, which places those frames", self.read_camera)
        form.addRow("Camera pitch (telemetry without gimbal pitch)", camera_row)
        form.addRow("", self.camera_label)
        self.ground_button, self.ground_label, ground_row = self._video_reading_row(
            self.elevation_spin, "Read from the video",
            "For telemetry of absolute altitudes only (GPX, some DJI SRTs) recorded with the drone already up, "
            "or with no altitude at all (some Mavic 2 SRTs): read the drone's height above the ground from how "
            "fast the ground flows through the frame, and so the ground's elevation or the flight height",
            self.read_ground)
        form.addRow("Ground elevation (absolute altitudes only)", ground_row)
        form.addRow("Flight height (telemetry without altitude)", self.height_spin)
        form.addRow("", self.ground_label)
        form.addRow("Map unreviewed detections scoring at least", self.min_score_spin)
        #: the boxes' problems (a value out of range), OK off while there is one
        self.problems_label = QLabel()
        form.addRow(self.problems_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.revert_button = QPushButton("Revert to the previous settings")
        self.revert_label = QLabel()
        self.revert_label.setWordWrap(True)
        if previous is None:
            self.revert_button.setEnabled(False)
            self.revert_button.setToolTip("No earlier settings yet: once OK here has changed them, this button "
                                          "brings back the ones from before")
        else:
            self.revert_button.setToolTip(f"Put the settings from before the last OK ({previous_when}) in the "
                                          "boxes; OK applies them")
        self.revert_button.clicked.connect(self.revert)
        buttons.addButton(self.revert_button, QDialogButtonBox.ButtonRole.ResetRole)
        form.addRow(self.revert_label)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.range_guard = RangeGuard(
            [self.offset_spin, self.hfov_spin, self.pitch_spin, self.elevation_spin, self.height_spin,
             self.min_score_spin], self.ok_button, self.problems_label)

    def accept(self) -> None:
        """Closed with OK only while every box holds a value it takes (Enter too)."""
        if self.range_guard.check():
            super().accept()

    def revert(self) -> None:
        """Fill the boxes with the settings from before the last OK (time offset, field of
        view, camera pitch, ground elevation, flight height, with how sure each was); the
        map threshold stays. Nothing is stored until OK."""
        previous = self._previous
        if previous is None:
            return
        self._initial = replace(self._initial, **{name: getattr(previous, name) for name in GEO_FIELDS})
        self._estimated = self._ground_read = self._height_read = self._hfov_read = None
        self._camera_read = self._turns_read = None
        self.offset_spin.show_offset(previous.time_offset_s)
        self.hfov_spin.setValue(hfov_degrees(previous.hfov_deg))
        for box, value in ((self.elevation_spin, previous.ground_elevation_m),
                           (self.pitch_spin, previous.camera_pitch_deg)):
            box.setValue(box.unset_value if value is None else value)
        self.height_spin.setValue(previous.flight_height_m or 0.0)
        for label in (self.estimate_label, self.camera_label, self.ground_label):
            label.setText("")
        self.revert_label.setText(f"The settings from before the last OK ({self._previous_when}) are in the boxes: "
                                  "OK applies them, Cancel keeps the ones in use.")

    def _video_reading_row(self, box: QWidget, text: str, tip: str,
                           read: Callable[[], None]) -> tuple[QPushButton, QLabel, QHBoxLayout]:
        """A box with a button beside it that reads its value from the video (enabled when
        there are a video and a track), and the label under them for what was found."""
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setEnabled(self._sources[0] is not None and self._sources[1] is not None)
        button.clicked.connect(read)
        label = QLabel("")
        label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(box, 1)
        row.addWidget(button)
        return button, label, row

    def estimate_offset(self) -> None:
        """Estimate the clock offset from the video off the GUI thread; the result lands
        in the offset box with how sure it is (the user can still nudge it)."""
        job = self._read_video(self._estimate_job, self.estimate_button, self.estimate_label, "Could not estimate",
                               _estimate_offset, self._show_estimate)
        self._estimate_job = job or self._estimate_job

    def _read_video(self, running: Any, button: QPushButton, label: QLabel, failed: str,
                    read: Callable[..., Any], show: Callable[[Any], None], *extra: Any) -> Any:
        """Start ``read(video, telemetry, *extra)`` on a job thread, ``button`` off and
        ``label`` saying so until it ends; its result to ``show``, its error to ``label``.
        The job, or ``None`` when there is nothing to read or ``running`` still runs."""
        from app.workers import FunctionJob

        video, telemetry = self._sources
        if video is None or telemetry is None or (running is not None and running.is_running):
            return None
        button.setEnabled(False)
        label.setText("Reading the video's motion…")
        job = FunctionJob(read, Path(video), Path(telemetry), *extra, parent=self)
        job.done.connect(show)
        job.failed.connect(lambda exc: label.setText(f"{failed}: {exc}"))
        job.finished.connect(lambda: button.setEnabled(True))
        job.start()
        return job

    def _show_estimate(self, estimate: Any) -> None:
        lines = dict(estimate.describe())
        if estimate.ambiguous:  # two offsets match about alike: the user picks, the box keeps its value
            self.estimate_label.setText(
                f"Ambiguous offset: {estimate.offset_s:+.2f} s or {estimate.runner_up_s:+.2f} s match about as well; "
                "the box keeps its value (check which against the video and set it by hand)")
            self.adjustSize()
            return
        if not estimate.reliable:  # a guess: the box keeps its value, as --offset auto keeps the project's
            self.estimate_label.setText(
                f"No reliable offset: the best match, {estimate.offset_s:+.2f} s, has confidence "
                f"{lines['confidence']}; the box keeps its value (set it by hand)")
            self.adjustSize()
            return
        self.offset_spin.setValue(float(estimate.offset_s))
        self._estimated = (self.offset_spin.value(), float(estimate.uncertainty_s))
        text = f"Found {estimate.offset_s:+.2f} s ± {estimate.uncertainty_s:.2f} s; confidence {lines['confidence']}"
        if estimate.zone_shift_h:
            text += f"; {lines['time zone / DST']}"
        self.estimate_label.setText(text)
        self.adjustSize()

    def read_ground(self) -> None:
        """Read the drone's height from the video off the GUI thread; the ground's
        elevation or the flight height lands in its box with how sure it is (the user can
        still change it)."""
        job = self._read_video(self._ground_job, self.ground_button, self.ground_label, "Could not read it",
                               _read_ground, self._show_ground, self._hfov_known())
        self._ground_job = job or self._ground_job

    def _show_ground(self, report: Any) -> None:
        if report is None:
            self.ground_label.setText("The telemetry gives heights above take-off: no ground elevation is needed.")
            self.adjustSize()  # every label whole: the offset's lines above were squeezed
            return
        if report.height is None:
            self.ground_label.setText("Could not read it: the ground's flow in the video does not follow the "
                                      "telemetry (too little straight flight over the ground, or another flight's "
                                      "log). Type the height instead.")
            self.adjustSize()
            return
        sigma = float(report.height.sigma_m)
        if report.flight_height_m is not None:
            self.height_spin.setValue(float(report.flight_height_m))
            self._height_read = (self.height_spin.value(), sigma)
            self.ground_label.setText(f"Found: flown {report.flight_height_m:.0f} m ± {sigma:.0f} m above the "
                                      "ground (the telemetry has no altitude)")
        elif report.ground_elevation_m is not None:
            self.elevation_spin.setValue(float(report.ground_elevation_m))
            self._ground_read = (self.elevation_spin.value(), sigma)
            self.ground_label.setText(
                f"Found {report.ground_elevation_m:.1f} m ± {sigma:.0f} m: the drone "
                f"{report.height.offset_m:.0f} m above the ground at the track's first fix")
        self.adjustSize()  # the wrapped line needs its height

    def read_camera(self) -> None:
        """Read the camera's pitch and heading offset from the video off the GUI thread,
        at the heights the boxes give (or read with it); the pitch lands in its box."""
        job = self._read_video(self._camera_job, self.camera_button, self.camera_label, "Could not read it",
                               _read_camera, self._show_camera, self._hfov_known(),
                               self.elevation_spin.given(), self.height_spin.given())
        self._camera_job = job or self._camera_job

    def _show_camera(self, reading: Any) -> None:
        report, gimbal = reading
        if report is None:
            self.camera_label.setText("The telemetry gives the gimbal pitch: the map uses it.")
            self.adjustSize()  # every label whole: the offset's lines above were squeezed
            return
        self._turns_read = tuple(report.hover_turns)
        turns = ""
        if report.hover_turns:
            from services.sync import turns_summary

            seconds, widest = turns_summary(report.hover_turns)
            turns = (f"Read where the camera turned while the drone hovered ({seconds:.0f} s, up to {widest:.0f}°): "
                     "those frames are placed by it")
        view = report.view
        if gimbal or view is None:
            first = ("The telemetry gives the gimbal pitch: the map uses it." if gimbal else
                     "Could not read the pitch: too little motion over the ground, or a flow that does not follow "
                     "the telemetry. Type the pitch instead.")
            self.camera_label.setText(f"{first} {turns}." if turns else first)
            self.adjustSize()
            return
        self.pitch_spin.setValue(float(view.pitch_deg))
        yaw = float(view.yaw_offset_deg)  # within +-27 deg: geo.pitch reads it as an atan of at most 0.5
        self._camera_read = (self.pitch_spin.value(), float(view.pitch_sigma_deg), round(yaw, 1),
                             float(view.yaw_sigma_deg))
        text = (f"Found pitch {view.pitch_deg:.0f}° ± {view.pitch_sigma_deg:.0f}°, looking {yaw:+.0f}° "
                f"± {view.yaw_sigma_deg:.0f}° off the direction of travel")
        if view.hfov_estimated and (self.hfov_spin.is_unset() or self._hfov_known() is None):
            # the pitch holds with this width only; an earlier reading's is replaced by this one
            self.hfov_spin.setValue(round(float(view.hfov_deg), 1))
            self._hfov_read = (self.hfov_spin.value(), round(float(view.hfov_sigma_deg), 1), bool(view.width_unsure))
            text += f", {view.hfov_deg:.0f}° wide"
            if view.width_unsure:
                from services.sync import UNSURE_WIDTH_REASON

                text += (f" ± {view.hfov_sigma_deg:.0f}°: {UNSURE_WIDTH_REASON}. Set the drone's field of view "
                         "above and read again: the pitch is then read alone.")
        if report.height is not None and report.ground_elevation_m is not None \
                and self.elevation_spin.is_unset():  # read at these heights: the map needs them too
            self._show_ground(report)
            text += "; the ground elevation was read with it"
        elif report.height is not None and report.flight_height_m is not None and not self.height_spin.value():
            self._show_ground(report)
            text += "; the flight height was read with it"
        if turns:
            text += f". {turns}"
        self.camera_label.setText(text)
        self.adjustSize()

    def _camera(self) -> dict[str, float | None]:
        """The camera settings as edited: the pitch with how sure it is (the reading's
        while the box holds it), and the heading offset read with it (none once the
        pitch is back to assumed)."""
        pitch = _as_saved(self.pitch_spin, self.pitch_spin.given(), self._initial.camera_pitch_deg)
        if pitch is None:
            return {"camera_pitch_deg": None, "camera_pitch_sigma_deg": None, "heading_offset_deg": None,
                    "heading_offset_sigma_deg": None}
        read = self._camera_read
        heading = {"heading_offset_deg": self._initial.heading_offset_deg,
                   "heading_offset_sigma_deg": self._initial.heading_offset_sigma_deg}
        if read is not None:
            heading = {"heading_offset_deg": read[2], "heading_offset_sigma_deg": round(read[3], 1)}
        return {"camera_pitch_deg": pitch,
                "camera_pitch_sigma_deg": _sigma(pitch, None if read is None else (read[0], read[1]),
                                                 self._initial.camera_pitch_deg, self._initial.camera_pitch_sigma_deg),
                **heading}

    def settings(self) -> ProjectSettings:
        """The settings as edited (a preset name stays while its value is untouched)."""
        typed = self.hfov_spin.given()
        hfov: float | str | None = typed
        if typed is not None and abs(typed - hfov_degrees(self._initial.hfov_deg)) < 0.05:
            hfov = self._initial.hfov_deg
        elevation = _as_saved(self.elevation_spin, self.elevation_spin.given(), self._initial.ground_elevation_m)
        height = _as_saved(self.height_spin, self.height_spin.value(), self._initial.flight_height_m)
        offset = self.offset_spin.offset_s()
        return replace(
            self._initial,
            time_offset_s=offset,
            time_offset_sigma_s=self._offset_sigma(offset),
            hfov_deg=hfov,
            hfov_sigma_deg=self._hfov_sigma(hfov),
            hfov_unsure=self._hfov_unsure(hfov),
            ground_elevation_m=elevation,
            ground_elevation_sigma_m=None if elevation is None else _sigma(
                elevation, self._ground_read, self._initial.ground_elevation_m, self._initial.ground_elevation_sigma_m),
            flight_height_m=height or None,
            flight_height_sigma_m=_sigma(height, self._height_read, self._initial.flight_height_m,
                                         self._initial.flight_height_sigma_m) if height else None,
            min_score=_as_saved(self.min_score_spin, max(self.min_score_spin.value(), self.min_score_spin.low),
                                self._initial.min_score),  # OK is off below the floor
            hover_turns=self._initial.hover_turns if self._turns_read is None else self._turns_read,
            **self._camera(),
        )



    def _hfov_known(self) -> float | None:
        """The field of view the box gives as known (typed, a preset): ``None`` while it is
        unset or holds a width read from the video, which the camera's next reading reads
        again rather than hold as exact."""
        typed = self.hfov_spin.given()
        if typed is None:
            return None
        hfov: float | str = self._initial.hfov_deg if (
            self._initial.hfov_deg is not None and abs(typed - hfov_degrees(self._initial.hfov_deg)) < 0.05) else typed
        return None if self._hfov_sigma(hfov) is not None else typed

    def _hfov_sigma(self, hfov: float | str | None) -> float | None:
        """How sure the field of view is: the reading's spread while the box holds the
        width read from the video, the saved one while it holds the saved width, none once
        typed (a typed or preset width is given, not estimated)."""
        if isinstance(hfov, float) and self._hfov_read is not None and abs(hfov - self._hfov_read[0]) < 0.05:
            return self._hfov_read[1]
        return self._initial.hfov_sigma_deg if hfov == self._initial.hfov_deg else None

    def _hfov_unsure(self, hfov: float | str | None) -> bool:
        """Whether the field of view is one the flight could not pin down, as
        :meth:`_hfov_sigma` tells its spread: the reading's while the box holds it, the
        saved one's while it holds the saved width, never a typed one's."""
        if isinstance(hfov, float) and self._hfov_read is not None and abs(hfov - self._hfov_read[0]) < 0.05:
            return self._hfov_read[2]
        return self._initial.hfov_unsure if hfov == self._initial.hfov_deg else False

    def _offset_sigma(self, offset_s: float) -> float | None:
        """How sure the offset is: the estimate's uncertainty while the box holds the
        estimate, the saved one while it holds the saved offset, unknown once nudged."""
        if self._estimated is not None and abs(offset_s - self._estimated[0]) < 0.005:
            return round(self._estimated[1], 3)
        if abs(offset_s - self._initial.time_offset_s) < 0.005:
            return self._initial.time_offset_sigma_s
        return None


def _as_saved(box: BoundedSpinBox, value: float | None, saved: float | None) -> float | None:
    """``value`` as ``box`` gives it, or the saved value while the box shows that one: a
    box holds its decimals only (12.345 m shows as 12.3), and an OK that changed nothing
    stores nothing new (it named an undo step for a change no one made)."""
    if value is None or saved is None:
        return value
    return saved if abs(value - saved) <= 0.5 * 10 ** -box.decimals() + 1e-9 else value


def _sigma(value: float, read: tuple[float, float] | None, initial: float | None,
           initial_sigma: float | None) -> float | None:
    """How sure a height box's value is, as :meth:`GeoSettingsDialog._offset_sigma` for the
    offset: the reading's while the box holds what was read, the saved one while it holds
    the saved value, unknown once changed by hand."""
    if read is not None and abs(value - read[0]) < 0.05:
        return round(read[1], 1)
    if initial is not None and abs(value - initial) < 0.05:
        return initial_sigma
    return None


def _read_ground(video_path: Path, telemetry_path: Path, hfov_deg: float | None) -> Any:
    """What the video's motion says of the drone's height over ``telemetry_path`` (a
    ``services.sync.SyncReport``), or ``None`` when its heights need nothing (on the job
    thread)."""
    from geo.telemetry import read_telemetry
    from services.sync import estimate_sync, heights_need_ground, heights_unknown

    track = read_telemetry(telemetry_path)
    if not (heights_need_ground(track) or heights_unknown(track)):
        return None
    return estimate_sync(video_path, track, hfov_deg=hfov_deg)


def _read_camera(video_path: Path, telemetry_path: Path, hfov_deg: float | None, ground_elevation_m: float | None,
                 flight_height_m: float | None) -> Any:
    """What the video's motion says of the camera over ``telemetry_path`` (a
    ``services.sync.SyncReport``, its heights read too where the boxes give none; with
    a telemetry that gives no heading, the camera's turns where the drone hovered), and
    whether the telemetry gives the gimbal pitch; ``(None, True)`` when it gives both
    the pitch and the heading: nothing to read (on the job thread)."""
    from geo.telemetry import read_telemetry
    from services.sync import estimate_sync

    track = read_telemetry(telemetry_path)
    gimbal = track.has("gimbal_pitch_deg")
    if gimbal and (track.has("gimbal_yaw_deg") or track.has("yaw_deg")):
        return None, True
    return estimate_sync(video_path, track, hfov_deg=hfov_deg, ground_elevation_m=ground_elevation_m,
                         flight_height_m=flight_height_m), gimbal


def _estimate_offset(video_path: Path, telemetry_path: Path) -> Any:
    """The clock offset of ``telemetry_path`` against ``video_path`` (on the job thread)."""
    from geo.telemetry import read_telemetry
    from services.sync import estimate_clock_offset

    return estimate_clock_offset(video_path, read_telemetry(telemetry_path))
