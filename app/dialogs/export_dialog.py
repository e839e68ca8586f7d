"""Choose what to export and where; the relief package's event, producer, footprints and basemap."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from services.export import ExportRequest

#: format key (as geo.export names it) -> label
MAP_FORMATS: dict[str, str] = {
    "geojson": "GeoJSON (sites, observations, track, heatmap)",
    "gpkg": "GeoPackage",
    "kml": "KML (Google Earth)",
    "kmz": "KMZ (Google Earth, phones; works offline)",
    "csv": "CSV (one row per site)",
    "html": "Offline HTML map",
}


#: the option that exports the unconfirmed sites too (the window's note about them names it)
UNCONFIRMED_OPTION = "Also the unconfirmed sites"

#: what the footprints and basemap choosers offer
FOOTPRINT_FILES = "Vector files (*.geojson *.json *.gpkg *.shp *.osm.pbf *.pbf *.osm)"
BASEMAP_FILES = "Rasters (*.tif *.tiff *.mbtiles)"


def file_row(parent: QWidget, title: str, pattern: str, *, folder: bool = False) -> tuple[QLineEdit, QWidget]:
    """A path's line edit with a Browse… button beside it (a file matching ``pattern``, or a
    ``folder``)."""
    edit = QLineEdit()
    button = QPushButton("Browse…")

    def browse() -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(parent, title, edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(parent, title, edit.text(), pattern)
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row = QWidget()
    row_layout = QHBoxLayout(row)
    row_layout.setContentsMargins(0, 0, 0, 0)
    row_layout.addWidget(edit, 1)
    row_layout.addWidget(button)
    return edit, row


#: What ``damagemap export PROJECT`` writes with no option given: the dialog opens on it
#: (the one place both take their defaults from is :class:`services.export.ExportRequest`).
DEFAULTS = ExportRequest(Path("."))


@dataclass(frozen=True, slots=True)
class ExportChoice:
    """What the dialog asks for; ``formats`` ``None``: the export's default formats, and
    ``"package"`` among them asks for the relief package."""

    out_dir: Path
    formats: tuple[str, ...] | None = DEFAULTS.formats
    coco: bool = DEFAULTS.coco
    coco_include_pending: bool = DEFAULTS.coco_include_pending
    open_html: bool = False
    options: dict = field(default_factory=dict)
    thumbnails: bool = DEFAULTS.thumbnails
    include_unconfirmed: bool = DEFAULTS.include_unconfirmed

    def request(self) -> ExportRequest:
        """The export :func:`services.export.export_project` writes, as the command line asks it."""
        return ExportRequest(Path(self.out_dir), formats=None if self.formats is None else tuple(self.formats),
                             thumbnails=self.thumbnails, coco=self.coco, coco_include_pending=self.coco_include_pending,
                             include_unconfirmed=self.include_unconfirmed)


def ticked_by_default(key: str) -> bool:
    """Whether the export writes map format ``key`` (a :data:`MAP_FORMATS` key) by default."""
    from geo.export import resolve_formats

    return set(resolve_formats([key])) <= set(resolve_formats(DEFAULTS.map_formats))


#: The event and producer a relief package and a survey's export both ask for (the
#: survey's Export dialog shows these).
PACKAGE_FIELDS = ("event", "glide", "analyst", "organisation", "area")
#: ExportChoice.options keys the relief package reads (see services.package): those, and
#: how a field team reaches the producer.
RELIEF_PACKAGE_FIELDS = ("event", "glide", "analyst", "organisation", "contact", "area")


class ExportDialog(QDialog):
    """Map formats, the relief package, the ISBDA/COCO training data and the target folder.

    The package's event, producer, footprints and basemap start from what the project
    (``project``, else the parent window's open project) stores; on Export they are
    checked and stored there, so the command line's next package uses them too.
    """

    def __init__(self, default_dir: Path, *, has_telemetry: bool, parent: QWidget | None = None,
                 project: Path | None = None, sites_note: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        #: which sites the map formats will hold (the window's score threshold), when known
        self.sites_note = QLabel(sites_note)
        self.sites_note.setWordWrap(True)
        self.sites_note.setVisible(bool(sites_note) and has_telemetry)
        if project is None:
            project = getattr(getattr(parent, "document", None), "project_path", None)
        self.project = Path(project) if project else None
        self.format_checks: dict[str, QCheckBox] = {}
        maps = QGroupBox("Damage map")
        maps_layout = QVBoxLayout(maps)
        for key, label in MAP_FORMATS.items():
            check = QCheckBox(label)
            check.setChecked(ticked_by_default(key))
            self.format_checks[key] = check
            maps_layout.addWidget(check)
        if not has_telemetry:
            maps.setEnabled(False)
            maps.setTitle("Damage map (needs telemetry: File > Open Telemetry…)")
            for check in self.format_checks.values():
                check.setChecked(False)
        # short words, the rest in the tooltips: a check box does not wrap, and these two
        # set the dialog's width (it fits an 800 px wide screen)
        self.thumbnails_check = QCheckBox("Site pictures in the HTML map and the KMZ (slower)")
        self.thumbnails_check.setToolTip("A close-up of each site in the HTML map's popups and in the KMZ's")
        self.thumbnails_check.setChecked(DEFAULTS.thumbnails)
        self.unconfirmed_check = QCheckBox(f"{UNCONFIRMED_OPTION} (marked; not in the package)")
        self.unconfirmed_check.setToolTip("Written marked as unconfirmed; the relief package never holds them")
        self.unconfirmed_check.setChecked(DEFAULTS.include_unconfirmed)
        self.open_html_check = QCheckBox("Open the HTML map in the browser afterwards")
        for check in (self.thumbnails_check, self.unconfirmed_check, self.open_html_check):
            maps_layout.addWidget(check)

        # a short title: a group box is at least as wide as its title, and this one's list
        # of contents made the dialog too wide for a 1024x768 screen; the list wraps below
        self.package_box = QGroupBox("Relief package")
        self.package_box.setCheckable(True)
        self.package_box.setChecked(DEFAULTS.writes_package)
        form = QFormLayout(self.package_box)
        self.package_contents = QLabel("Graded buildings, coverage, print map and site atlas, KMZ, README, zip")
        self.package_contents.setWordWrap(True)
        form.addRow(self.package_contents)
        self.package_edits: dict[str, QLineEdit] = {}
        # examples said to be examples: "Hurricane Michael" in grey read as a value already given
        placeholders = {"event": "e.g. Hurricane Michael", "glide": "e.g. TC-2018-000166-USA", "analyst": "",
                        "organisation": "", "contact": "phone, e-mail, radio channel",
                        "area": "AOI01 if left empty"}
        for key in RELIEF_PACKAGE_FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText(placeholders[key])
            self.package_edits[key] = edit
            form.addRow({"glide": "GLIDE number", "area": "Area code"}.get(key, key.capitalize()), edit)
        self.version_spin = QSpinBox()
        self.version_spin.setRange(1, 99)
        form.addRow("Version", self.version_spin)
        self.footprints_edit, footprints_row = self._file_row("Building footprints", FOOTPRINT_FILES)
        form.addRow("Footprints", footprints_row)
        self.basemap_edit, basemap_row = self._file_row("Offline basemap", BASEMAP_FILES)
        form.addRow("Basemap", basemap_row)
        if not has_telemetry:
            self.package_box.setEnabled(False)
        self._load_package_settings()

        training = QGroupBox("Training data")
        training_layout = QVBoxLayout(training)
        self.coco_check = QCheckBox("Reviewed frames as ISBDA/COCO (labels + images)")
        self.coco_check.setToolTip("The reviewed frames' images and their ISBDA/COCO annotations, to train on")
        self.coco_check.setChecked(DEFAULTS.coco or not has_telemetry)  # without telemetry, the one thing to write
        self.pending_check = QCheckBox("Also label detections still pending review")
        self.pending_check.setChecked(DEFAULTS.coco_include_pending)
        training_layout.addWidget(self.coco_check)
        training_layout.addWidget(self.pending_check)

        self.dir_edit = QLineEdit(str(default_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.dir_label = QLabel("Export into &folder:")
        self.dir_label.setBuddy(self.dir_edit)
        dir_row = QHBoxLayout()
        dir_row.addWidget(self.dir_label)
        dir_row.addWidget(self.dir_edit, 1)
        dir_row.addWidget(browse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for check in (*self.format_checks.values(), self.coco_check):
            check.toggled.connect(self._update_export_button)
        self.package_box.toggled.connect(self._update_export_button)
        self._update_export_button()
        # Two columns, the map and the training data beside the relief package: in one the
        # choices were about 670 px tall, the training data under the fold of a 1366x768
        # screen. They scroll all the same where even that is too tall; the folder and the
        # Export button stay in view. The two columns come to about 730 px wide, so the
        # dialog fits an 800 px wide screen too.
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(self.sites_note)
        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(maps)
        left.addWidget(training)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.package_box)
        right.addStretch(1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        body_layout.addLayout(columns)
        self.body = QScrollArea()
        self.body.setWidget(body)
        self.body.setWidgetResizable(True)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body.setMinimumWidth(body.sizeHint().width() + self.body.verticalScrollBar().sizeHint().width())
        layout = QVBoxLayout(self)
        layout.addWidget(self.body, 1)
        layout.addLayout(dir_row)
        layout.addWidget(buttons)
        self._fit_screen(body)

    def _update_export_button(self, *_args: object) -> None:
        """Export asks for something to write: a map format, the relief package or the
        training data (with none it would say it exported nothing, and show a folder it
        never made)."""
        chosen = self.choice()
        wanted = bool(chosen.formats) or chosen.coco
        self.export_button.setEnabled(wanted)
        # an option of an option is open only with its parent (the HTML map, the training data)
        html = self.format_checks.get("html")
        self.open_html_check.setEnabled(html is not None and html.isEnabled() and html.isChecked())
        self.pending_check.setEnabled(self.coco_check.isChecked())
        maps = [key for key in chosen.formats or () if key != "package"]
        self.unconfirmed_check.setEnabled(bool(maps))
        self.thumbnails_check.setEnabled(any(key in ("html", "kmz", "package") for key in chosen.formats or ()))
        self.export_button.setToolTip("" if wanted else "Choose a map format, the relief package or the training data")

    def _fit_screen(self, body: QWidget) -> None:
        """As tall as the choices need, but no taller than 85% of the screen's free height."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = int(0.85 * screen.availableGeometry().height()) if screen is not None else 10_000
        rest = self.sizeHint().height() - self.body.sizeHint().height()
        self.resize(self.sizeHint().width(), min(room, rest + body.sizeHint().height()))

    def _file_row(self, title: str, pattern: str) -> tuple[QLineEdit, QWidget]:
        return file_row(self, title, pattern)

    def _load_package_settings(self) -> None:
        """The event, producer and sources the project stores (nothing without a project)."""
        if self.project is None or not self.project.is_file():
            return
        from core.errors import DamagemapError
        from core.store import ProjectStore
        from services.package import product_info, product_sources, valid_product_fields

        try:
            with ProjectStore.open(self.project) as store:
                footprints, basemap = product_sources(store)
                try:
                    info, refused = product_info(store), ()
                except DamagemapError:  # kept by an older damagemap: the fields still valid are shown
                    info, refused = valid_product_fields(store)
        except DamagemapError:
            return
        for key in RELIEF_PACKAGE_FIELDS:
            self.package_edits[key].setText(getattr(info, key))
        for key in refused:
            if key in self.package_edits:
                self.package_edits[key].setPlaceholderText("the value stored cannot be used: give it again")
        self.version_spin.setValue(info.version)
        self.footprints_edit.setText(str(footprints) if footprints else "")
        self.basemap_edit.setText(str(basemap) if basemap else "")

    def package_options(self) -> dict:
        """What the package fields say: the product information and the two source files."""
        options: dict = {key: edit.text().strip() for key, edit in self.package_edits.items()}
        options["area"] = options["area"] or "AOI01"
        options["version"] = self.version_spin.value()
        options["footprints"] = self.footprints_edit.text().strip()
        options["basemap"] = self.basemap_edit.text().strip()
        return options

    def save_package_settings(self) -> None:
        """Check the package fields, store the product information in the project (a
        read-only project keeps its own; the export uses them still), and read the
        footprints and basemap files enough to know the package can use them (the export
        stores them once it has used them: ``app.workers.export_job``).

        Raises
        ------
        DamagemapError
            Naming the field or file that cannot be used; nothing is stored then.
        """
        if self.project is None:
            return
        from core.store import ProjectStore
        from services.package import check_product_info, check_product_sources, update_product_info

        options = self.package_options()
        footprints, basemap = options.pop("footprints"), options.pop("basemap")
        check_product_sources(footprints=footprints, basemap=basemap)
        with ProjectStore.open(self.project) as store:
            if store.read_only:  # opened to view and export: the export uses them, the project keeps its own
                check_product_info(store, **options)
            else:
                update_product_info(store, **options)

    def accept(self) -> None:
        if self.package_box.isChecked() and self.package_box.isEnabled():
            from core.errors import DamagemapError

            try:
                self.save_package_settings()
            except DamagemapError as exc:
                QMessageBox.warning(self, "Relief package", str(exc))
                return
        super().accept()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export to", self.dir_edit.text())
        if path:
            self.dir_edit.setText(path)

    def choice(self) -> ExportChoice:
        formats = tuple(k for k, check in self.format_checks.items() if check.isChecked() and check.isEnabled())
        package = self.package_box.isChecked() and self.package_box.isEnabled()
        if package:
            formats += ("package",)
        return ExportChoice(
            out_dir=Path(self.dir_edit.text()).expanduser(),
            formats=formats,
            coco=self.coco_check.isChecked(),
            coco_include_pending=self.pending_check.isChecked(),
            open_html=self.open_html_check.isChecked() and "html" in formats,
            options={"package": self.package_options()} if package else {},
            thumbnails=self.thumbnails_check.isChecked(),
            include_unconfirmed=self.unconfirmed_check.isChecked(),
        )
