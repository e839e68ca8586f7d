"""Choose what to export and where."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: format key (as geo.export names it) -> label
MAP_FORMATS: dict[str, str] = {
    "geojson": "GeoJSON (sites, observations, track)",
    "gpkg": "GeoPackage",
    "kml": "KML (Google Earth)",
    "csv": "CSV (one row per site)",
    "html": "Offline HTML map",
}


@dataclass(frozen=True, slots=True)
class ExportChoice:
    out_dir: Path
    formats: tuple[str, ...] = ("geojson", "html")
    coco: bool = False
    coco_include_pending: bool = False
    open_html: bool = False
    options: dict = field(default_factory=dict)


class ExportDialog(QDialog):
    """Map formats, the ISBDA/COCO training data and the target folder."""

    def __init__(self, default_dir: Path, *, has_telemetry: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.format_checks: dict[str, QCheckBox] = {}
        maps = QGroupBox("Damage map")
        maps_layout = QVBoxLayout(maps)
        for key, label in MAP_FORMATS.items():
            check = QCheckBox(label)
            check.setChecked(key in ("geojson", "html"))
            self.format_checks[key] = check
            maps_layout.addWidget(check)
        if not has_telemetry:
            maps.setEnabled(False)
            maps.setTitle("Damage map (needs telemetry: File > Open Telemetry…)")
            for check in self.format_checks.values():
                check.setChecked(False)
        self.open_html_check = QCheckBox("Open the HTML map in the browser afterwards")
        maps_layout.addWidget(self.open_html_check)

        training = QGroupBox("Training data")
        training_layout = QVBoxLayout(training)
        self.coco_check = QCheckBox("Reviewed frames as ISBDA/COCO (annotations + images)")
        self.coco_check.setChecked(not has_telemetry)
        self.pending_check = QCheckBox("Also label detections still pending review")
        training_layout.addWidget(self.coco_check)
        training_layout.addWidget(self.pending_check)

        self.dir_edit = QLineEdit(str(default_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        dir_row = QHBoxLayout()
        dir_row.addWidget(self.dir_edit, 1)
        dir_row.addWidget(browse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(maps)
        layout.addWidget(training)
        layout.addLayout(dir_row)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export to", self.dir_edit.text())
        if path:
            self.dir_edit.setText(path)

    def choice(self) -> ExportChoice:
        formats = tuple(k for k, check in self.format_checks.items() if check.isChecked() and check.isEnabled())
        return ExportChoice(
            out_dir=Path(self.dir_edit.text()).expanduser(),
            formats=formats,
            coco=self.coco_check.isChecked(),
            coco_include_pending=self.pending_check.isChecked(),
            open_html=self.open_html_check.isChecked() and "html" in formats,
        )
