"""The project settings that need no new analysis: time offset, field of view, ground
elevation and the map's score threshold."""

from __future__ import annotations

from dataclasses import replace

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget

from core.settings import ProjectSettings

#: The ground elevation spin box's lowest value, shown as "first track point" (no value).
_NO_ELEVATION_M = -500.0
#: The field-of-view spin box's lowest value, shown as "from metadata" (no value).
_NO_HFOV = 1.0


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

    def __init__(self, settings: ProjectSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Georeferencing")
        self._initial = settings
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setRange(-3600.0, 3600.0)
        self.offset_spin.setDecimals(2)
        self.offset_spin.setSingleStep(0.1)
        self.offset_spin.setSuffix(" s")
        self.offset_spin.setValue(settings.time_offset_s)
        self.hfov_spin = QDoubleSpinBox()
        self.hfov_spin.setRange(_NO_HFOV, 169.9)  # the field of view must be in (1, 170) degrees
        self.hfov_spin.setDecimals(1)
        self.hfov_spin.setSuffix("°")
        self.hfov_spin.setSpecialValueText("from metadata")
        self.hfov_spin.setValue(hfov_degrees(settings.hfov_deg))
        self.elevation_spin = QDoubleSpinBox()
        self.elevation_spin.setRange(_NO_ELEVATION_M, 9000.0)
        self.elevation_spin.setDecimals(1)
        self.elevation_spin.setSuffix(" m")
        self.elevation_spin.setSpecialValueText("first track point")
        self.elevation_spin.setValue(
            _NO_ELEVATION_M if settings.ground_elevation_m is None else settings.ground_elevation_m
        )
        self.min_score_spin = QDoubleSpinBox()
        self.min_score_spin.setRange(0.0, 1.0)
        self.min_score_spin.setDecimals(2)
        self.min_score_spin.setSingleStep(0.05)
        self.min_score_spin.setValue(settings.min_score)
        form = QFormLayout(self)
        form.addRow(QLabel("Changes move the damage on the map; the detections stay as they are."))
        form.addRow("Telemetry time offset", self.offset_spin)
        form.addRow("Horizontal field of view", self.hfov_spin)
        form.addRow("Ground elevation (GPX without take-off)", self.elevation_spin)
        form.addRow("Map unreviewed detections scoring at least", self.min_score_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def settings(self) -> ProjectSettings:
        """The settings as edited (a preset name stays while its value is untouched)."""
        hfov: float | str | None = self.hfov_spin.value() if self.hfov_spin.value() > _NO_HFOV else None
        if hfov is not None and abs(hfov - hfov_degrees(self._initial.hfov_deg)) < 0.05:
            hfov = self._initial.hfov_deg
        elevation = self.elevation_spin.value()
        return replace(
            self._initial,
            time_offset_s=self.offset_spin.value(),
            hfov_deg=hfov,
            ground_elevation_m=None if elevation <= _NO_ELEVATION_M else elevation,
            min_score=self.min_score_spin.value(),
        )
