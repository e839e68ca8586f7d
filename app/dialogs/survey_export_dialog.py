"""Where a survey's map goes, the building footprints and basemap its products use, and
the event and producer they name.

The footprints and basemap start from the first a flight's project has set (as
``damagemap survey export`` takes them without ``--footprints``/``--basemap``); either
may be cleared, or another file chosen for this export. The event and producer start
from what the survey names (what it keeps, else a flight's project:
``services.survey.survey_product``); as ``damagemap survey export --event ...``, the
survey keeps the fields changed here once the export succeeded, and only those: an
export as filled in writes nothing into the survey (the window says what it kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.export_dialog import BASEMAP_FILES, FOOTPRINT_FILES, RELIEF_PACKAGE_FIELDS, file_row


def product_field_label(key: str) -> str:
    """The name of an event field (``services.survey.PRODUCT_FIELDS``) in the window."""
    return {"glide": "GLIDE number", "area": "Area code"}.get(key, key.capitalize())


@dataclass(frozen=True, slots=True)
class SurveyExportChoice:
    """The folder to write into; the footprints to grade and the basemap to draw (None:
    none); the event and producer to name (``services.survey.check_survey_product``'s
    changes: every field, ``""`` for one left empty)."""

    folder: Path
    footprints: Path | None = None
    basemap: Path | None = None
    product: dict[str, Any] = field(default_factory=dict)


class SurveyExportDialog(QDialog):
    """Export Survey Map…'s questions (see the module docstring)."""

    def __init__(self, folder: Path, *, footprints: Path | None = None, basemap: Path | None = None,
                 product: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export survey map")
        self.folder_edit, folder_row = file_row(self, "Export the survey's map into", "", folder=True)
        self.folder_edit.setText(str(folder))
        self.footprints_edit, footprints_row = file_row(self, "Building footprints", FOOTPRINT_FILES)
        self.footprints_edit.setText(str(footprints) if footprints else "")
        self.footprints_edit.setPlaceholderText("none: no building is graded")
        self.basemap_edit, basemap_row = file_row(self, "Offline basemap", BASEMAP_FILES)
        self.basemap_edit.setText(str(basemap) if basemap else "")
        self.basemap_edit.setPlaceholderText("none: a plain background")
        form = QFormLayout()
        form.addRow("Folder", folder_row)
        form.addRow("Footprints", footprints_row)
        form.addRow("Basemap", basemap_row)
        # the event and producer, as the flight's Export dialog asks them for its relief package
        self.event_box = QGroupBox("Event and producer (on the print map, its atlas and the README; "
                                   "kept in the survey when changed)")
        event_form = QFormLayout(self.event_box)
        placeholders = {"event": "e.g. Hurricane Michael", "glide": "e.g. TC-2018-000166-USA",
                        "contact": "phone, e-mail, radio channel", "area": "AOI01 if left empty"}
        self.product_edits: dict[str, QLineEdit] = {}
        for key in RELIEF_PACKAGE_FIELDS:
            edit = QLineEdit(str(getattr(product, key, "") or ""))
            edit.setPlaceholderText(placeholders.get(key, ""))
            self.product_edits[key] = edit
            event_form.addRow(product_field_label(key), edit)
        self.version_spin = QSpinBox()
        self.version_spin.setRange(1, 99)
        self.version_spin.setValue(int(getattr(product, "version", 1) or 1))
        event_form.addRow("Version", self.version_spin)
        note = QLabel("The sites, each flight's coverage, the offline and print maps with a site atlas and a "
                      "README. With building footprints, each building is graded from the survey's sites; "
                      "a basemap lies under both maps.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")  # as the project's Export dialog
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.event_box)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def choice(self) -> SurveyExportChoice:
        def path(text: str) -> Path | None:
            return Path(text.strip()).expanduser() if text.strip() else None

        product: dict[str, Any] = {key: edit.text().strip() for key, edit in self.product_edits.items()}
        product["version"] = self.version_spin.value()
        return SurveyExportChoice(Path(self.folder_edit.text().strip()).expanduser(),
                                  path(self.footprints_edit.text()), path(self.basemap_edit.text()), product)

    def accept(self) -> None:
        """A folder is needed; a footprints or basemap file named must exist; the event's
        fields must be usable (a GLIDE number of its shape)."""
        from geo.export.products import ProductInfo

        choice = self.choice()
        problem = None
        try:
            ProductInfo.from_mapping({**choice.product, "area": choice.product["area"] or ProductInfo().area})
        except (TypeError, ValueError) as exc:
            problem = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        if not self.folder_edit.text().strip():
            problem = "Choose a folder to export into."
        for what, chosen in (("footprints", choice.footprints), ("basemap", choice.basemap)):
            if problem is None and chosen is not None and not chosen.is_file():
                problem = f"The {what} file {chosen} does not exist."
        if problem is not None:
            QMessageBox.warning(self, "Export survey map", problem)
            return
        super().accept()


__all__ = ["SurveyExportChoice", "SurveyExportDialog", "product_field_label"]
