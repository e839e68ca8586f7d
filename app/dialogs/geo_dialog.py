"""Georeferencing settings that need no new analysis: telemetry time offset, field of view."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget


class GeoSettingsDialog(QDialog):
    """Edit ``time_offset_s`` and ``hfov_deg``; the map is rebuilt from the stored detections."""

    def __init__(self, time_offset_s: float, hfov_deg: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Georeferencing")
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setRange(-3600.0, 3600.0)
        self.offset_spin.setDecimals(2)
        self.offset_spin.setSingleStep(0.1)
        self.offset_spin.setSuffix(" s")
        self.offset_spin.setValue(time_offset_s)
        self.hfov_spin = QDoubleSpinBox()
        self.hfov_spin.setRange(0.0, 170.0)
        self.hfov_spin.setDecimals(1)
        self.hfov_spin.setSuffix("°")
        self.hfov_spin.setSpecialValueText("from metadata")
        self.hfov_spin.setValue(hfov_deg or 0.0)
        form = QFormLayout(self)
        form.addRow(QLabel("Changes move the damage on the map; the detections stay as they are."))
        form.addRow("Telemetry time offset", self.offset_spin)
        form.addRow("Horizontal field of view", self.hfov_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[float, float | None]:
        return self.offset_spin.value(), (self.hfov_spin.value() or None)
