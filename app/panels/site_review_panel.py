"""The site review panel: damage sites, not detections, in the order a person should
look at them, with a grid of each site's crops; keyboard first.

It follows the document: the sites are read off the run's damage map
(:func:`services.sites.site_review`, the map built on the job thread and cached, so
the map panel and this panel share one build) when a project opens, the run or the
telemetry changes, or detections change while no analysis runs. A decision is one edit
on the document's undo stack (:func:`core.sites.site_decision`): the row is marked at
once and the selection moves on; the list is re-read when the rebuilt map arrives.
Selecting a site asks the document to show its best frame and detection, so the player
seeks there and the map rings the site. Crops are decoded on the job thread with a reader
of its own, in frame order, one pass per batch (a seek in a long-GOP 720p video can cost
most of a second; the GUI thread never waits for one).

Keys while the panel has the focus (they take precedence over the window's keys for a
single detection): ``A`` accept, ``X`` reject, ``1``/``2``/``3`` relabel the whole site
(with several sites selected, Shift+click or Ctrl+click, every one of them, as one undoable
edit), ``N``/``P`` (or Down/Up) next/previous site, ``S`` split the selected crops off into a
site of their own, ``M`` merge the selected sites (one selected: with its nearest site).
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFocusEvent,
    QFontMetrics,
    QIcon,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.document import ProjectDocument
from app.errors import show_error
from app.panels import Panel
from app.panels.list_place import ListPlace
from app.workers import VIDEO_LANE, FunctionJob, build_map_job
from app.widgets.fitting_button import FittingButton
from app.widgets.focus_selection import SelectionFollowsFocus
from app.widgets.keyboard_reach import reach_by_tab
from core.errors import StoreError
from core.last_few import LastFew
from core.sites import (
    SiteSummary,
    accept_relabels,
    counted,
    crop_sightings,
    crops_to_show,
    distance_m,
    relabels_text,
    site_line,
    video_time,
)
from core.types import DamageLevel, Detection, ReviewState

if TYPE_CHECKING:  # pragma: no cover
    from services.sites import SiteReview
    from services.survey import SiteInSurvey

_log = logging.getLogger(__name__)


def carried_notice(decisions: int, disputed: int, where: str = "earlier runs") -> str:
    """What the window says once a new run got the decisions made on the same damage
    ``where``: how many, and how many sites are left for review because the earlier
    decisions there disagree."""
    text = (f"Kept {decisions} decision{'' if decisions == 1 else 's'} made on the same damage in {where}"
            if decisions else f"Kept none of the decisions made in {where}")
    if disputed:
        text += f"; {disputed} site{'' if disputed == 1 else 's'} left for review: the earlier decisions disagree"
    return text

SITE_ROLE = Qt.ItemDataRole.UserRole
DETECTION_ROLE = Qt.ItemDataRole.UserRole + 1
FRAME_ROLE = Qt.ItemDataRole.UserRole + 2
#: on a crop: how many frames of its look (a hover's) detected the site
LOOK_FRAMES_ROLE = Qt.ItemDataRole.UserRole + 3

#: key -> action name (:meth:`SiteReviewPanel.trigger`); shown on the buttons and in Help.
KEYS: dict[Qt.Key, str] = {
    Qt.Key.Key_A: "accept",
    Qt.Key.Key_X: "reject",
    Qt.Key.Key_1: "slight",
    Qt.Key.Key_2: "severe",
    Qt.Key.Key_3: "debris",
    Qt.Key.Key_N: "next",
    Qt.Key.Key_P: "previous",
    Qt.Key.Key_S: "split",
    Qt.Key.Key_M: "merge",
}
#: Keys the lists handle themselves (so the window's frame-step keys do not take them).
_NAVIGATION = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right,
               Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}
#: Keys the site list, one column of rows, has no use for: they step the player's frames
#: (Shift: the analysed ones), as everywhere in the window; the crop grid moves across with them.
_SIDEWAYS = {Qt.Key.Key_Left, Qt.Key.Key_Right}


def crop_region(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, int, int]:
    """The square part of ``image`` around ``box`` (the box and a margin, cut at the
    frame's border): ``(pixels, left, top)``. Plain numpy: runs on the job thread."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    half = max(12.0, 0.75 * max(x2 - x1, y2 - y1) + 4.0)
    # within the frame even for a box outside it (a video replaced by a smaller one): never
    # an empty crop (a tile of nothing divided by zero)
    left = min(int(max(0.0, cx - half)), max(0, width - 1))
    top = min(int(max(0.0, cy - half)), max(0, height - 1))
    right, bottom = int(min(width, cx + half)), int(min(height, cy + half))
    crop = np.ascontiguousarray(image[top:max(bottom, top + 1), left:max(right, left + 1), :3])
    return crop, left, top


def _drawn_as(detection: Detection) -> tuple[object, ...]:
    """What a detection's thumbnail is drawn from (:func:`crop_pixmap`): its frame, box,
    mask and level; not its review state or score."""
    return detection.frame_index, tuple(detection.box_xyxy_px), detection.level, detection.mask


def crop_pixmap(crop: np.ndarray, left: int, top: int, detection: Detection, side_px: int, *,
                badge: str = "", pixel_ratio: float = 1.0) -> QPixmap:
    """A crop (:func:`crop_region`) as a square tile of ``side_px`` (logical pixels), with
    the mask's outline in the level's colour and ``badge`` (if any) in its top right
    corner; ``pixel_ratio``: the screen's device pixels per logical one, so that on a
    high-DPI screen the tile keeps the crop's detail instead of being scaled up."""
    qimage = QImage(crop.data, crop.shape[1], crop.shape[0], crop.strides[0], QImage.Format.Format_RGB888).copy()
    scale = side_px / max(crop.shape[0], crop.shape[1])
    width, height = max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))
    ratio = max(1.0, float(pixel_ratio))
    scaled = qimage.scaled(max(1, round(width * ratio)), max(1, round(height * ratio)),
                           Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    # square tiles (a crop cut by the frame border is centred on a dark ground)
    pixmap = QPixmap(round(side_px * ratio), round(side_px * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(QColor("#202020"))
    dx, dy = (side_px - width) / 2.0, (side_px - height) / 2.0
    painter = QPainter(pixmap)
    painter.drawImage(QRectF(dx, dy, width, height), scaled)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(detection.level.colour_hex), 2))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    polygons = detection.mask.to_polygons() if detection.mask is not None else []
    if not polygons:
        x1, y1, x2, y2 = detection.box_xyxy_px
        polygons = [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])]
    for polygon in polygons:
        painter.drawPolygon(QPolygonF([QPointF(dx + (x - left) * scale, dy + (y - top) * scale) for x, y in polygon]))
    if badge:
        box = painter.fontMetrics().boundingRect(badge).adjusted(-4, -1, 4, 1)
        box.moveTopRight(QPoint(side_px - 3, 3))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 190))
        painter.drawRoundedRect(box, 3, 3)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, badge)
    painter.end()
    return pixmap


_READER: list = []  # the job thread's reader: [(path, mtime ns), VideoReader]


def crops_job(video_path: Path, wanted: list[tuple[int, int, tuple[float, float, float, float]]]
              ) -> dict[int, tuple[np.ndarray, int, int]]:
    """Crops ``detection id -> (pixels, left, top)`` for ``(detection id, frame, box)``,
    decoded in frame order in one pass (a seek per frame would cost up to a GOP each).
    Runs on the job thread with its own reader, kept for the next call."""
    from engine.video import VideoReader

    key = (str(video_path), Path(video_path).stat().st_mtime_ns)
    if not _READER or _READER[0] != key:
        if _READER:
            _READER[1].close()
            _READER.clear()
        _READER.extend([key, VideoReader(video_path)])
    reader = _READER[1]
    by_frame: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
    for detection_id, frame_index, box in wanted:
        if 0 <= frame_index < reader.frame_count:
            by_frame.setdefault(frame_index, []).append((detection_id, box))
    out = {}
    for frame in reader.iter_frames(sorted(by_frame)):
        for detection_id, box in by_frame[frame.index]:
            out[detection_id] = crop_region(frame.image, box)
    return out


class _KeyFilter(QObject):
    """Gives the panel's keys to the panel while one of its lists has the focus, and
    says when the pointer leaves a list."""

    pointer_left = Signal()

    def __init__(self, panel: SiteReviewPanel) -> None:
        super().__init__(panel)
        self._panel = panel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind == QEvent.Type.Leave:
            self.pointer_left.emit()
            return False
        if kind == QEvent.Type.MouseButtonPress and watched is self._panel.site_list.viewport():
            self._panel._current_at_press = self._panel.site_list.currentItem()  # before the press moves it
            return False
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(event, QKeyEvent):
            key = Qt.Key(event.key())
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if key in KEYS and modifiers == Qt.KeyboardModifier.NoModifier:
                event.accept()
                if kind == QEvent.Type.KeyPress:
                    self._panel.trigger(KEYS[key])
                return True
            if key in _SIDEWAYS and not self._panel.grid.hasFocus():
                return False  # the window's Left/Right step the frames: the site list did nothing with them
            if (key in _NAVIGATION and kind == QEvent.Type.ShortcutOverride
                    and not modifiers & Qt.KeyboardModifier.ControlModifier):  # Ctrl+PgDown: the next flight
                event.accept()  # the list moves its cursor instead of the window stepping frames
                return True
        return False


class _ElidedRows(QStyledItemDelegate):
    """Rows drawn within the list's width: the site's line, then its reason wrapped at
    words onto the lines below, as many lines as the longest rows need at the list's width
    (:data:`FEWEST_LINES` to :data:`MOST_LINES`); a row longer still (a survey's reason
    naming every other flight, say) has its last line cut with "…". The list never scrolls
    sideways, and the row's tooltip holds the whole text. Every row is as tall (the list's
    uniform row size, which a 100,000-site list needs, holds), and keeps its full width.

    The lines are fitted again when the list is resized or its rows change, measuring only
    the rows with the most characters (:data:`MEASURED_ROWS`), so that a 100,000-site list
    resizes as fast as a short one."""

    FEWEST_LINES = 3
    MOST_LINES = 8
    MEASURED_ROWS = 32

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self._view = view
        #: the lines each row is drawn with now
        self.lines = self.FEWEST_LINES
        self._longest: list[str] = []  # the texts of the rows with the most characters
        self._refit = QTimer(self)  # rows added one by one: fitted once, after the last
        self._refit.setSingleShot(True)
        self._refit.setInterval(0)
        self._refit.timeout.connect(self.fit_rows)
        model = view.model()
        for changed in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            changed.connect(self._refit.start)
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.fit_width()
        return False

    def fit_rows(self) -> None:
        """Find the rows with the most characters again (the rows changed), and fit the lines."""
        self._refit.stop()
        model = self._view.model()
        texts = (model.index(row, 0).data() or "" for row in range(model.rowCount()))
        longest = heapq.nlargest(self.MEASURED_ROWS, texts, key=len)
        if longest != self._longest:  # a decision's mark on one row, a list read again: mostly the same
            self._longest = longest
            self.fit_width()

    def fit_width(self) -> None:
        """As many lines as the longest rows need at the list's width now."""
        if not self._longest:
            needed = self.FEWEST_LINES
        else:
            option = self._option(self._view.model().index(0, 0))
            width = self._text_rect(option).width()
            needed = max(len(wrapped_lines(text, option.fontMetrics, width, self.MOST_LINES + 1))
                         for text in self._longest)
        lines = min(max(needed, self.FEWEST_LINES), self.MOST_LINES)
        if lines != self.lines:
            self.lines = lines
            self.sizeHintChanged.emit(self._view.model().index(0, 0))  # the uniform row size read again

    def _option(self, index) -> QStyleOptionViewItem:  # noqa: ANN001 - QModelIndex
        option = QStyleOptionViewItem()
        self._view.initViewItemOption(option)
        self.initStyleOption(option, index)
        option.rect = QRect(0, 0, self._view.viewport().width(), self._row_height(option))
        return option

    def _text_rect(self, drawn: QStyleOptionViewItem) -> QRect:
        drawn.rect.setRight(min(drawn.rect.right(), self._view.viewport().rect().right()))
        style = self._view.style()
        return style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, drawn, self._view).adjusted(3, 0, -3, 0)

    def _row_height(self, option: QStyleOptionViewItem) -> int:
        return self.lines * option.fontMetrics.lineSpacing() + 8

    def row_lines(self, option: QStyleOptionViewItem, index) -> list[str]:  # noqa: ANN001 - QModelIndex
        """The lines ``index``'s row is drawn with in ``option``'s rectangle."""
        drawn = QStyleOptionViewItem(option)
        self.initStyleOption(drawn, index)
        return wrapped_lines(drawn.text, drawn.fontMetrics, self._text_rect(drawn).width(), self.lines)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: ANN001 - QModelIndex
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), self._row_height(option)))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:  # noqa: ANN001 - QModelIndex
        drawn = QStyleOptionViewItem(option)
        self.initStyleOption(drawn, index)
        text_rect = self._text_rect(drawn)
        lines = wrapped_lines(drawn.text, drawn.fontMetrics, text_rect.width(), self.lines)
        drawn.text = ""  # the background, selection and thumbnail by the style; the lines here
        style = self._view.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, drawn, painter, self._view)
        selected = bool(drawn.state & QStyle.StateFlag.State_Selected)
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        if selected:
            colour = drawn.palette.color(QPalette.ColorRole.HighlightedText)
        elif isinstance(foreground, QBrush) and foreground.style() != Qt.BrushStyle.NoBrush:
            colour = foreground.color()
        else:
            colour = drawn.palette.color(QPalette.ColorRole.Text)
        painter.save()
        painter.setFont(drawn.font)
        painter.setPen(colour)
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), "\n".join(lines))
        painter.restore()


class _CropGrid(QListWidget):
    """The crop grid, where the keys arriving (Tab from the list, on the way to the buttons
    or to pick crops) pick no crop: Qt makes the first crop current on keyboard focus, which
    sent the player to its frame, away from the site's best view."""

    def __init__(self) -> None:
        super().__init__()
        self.focus_arriving = False

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        self.focus_arriving = True
        try:
            super().focusInEvent(event)
        finally:
            self.focus_arriving = False


def wrapped_lines(text: str, metrics: QFontMetrics, width: int, most: int) -> list[str]:
    """``text``'s lines wrapped at spaces to ``width`` pixels, ``most`` lines at most: the
    last one shown ends with "…" where text was left out, as does a word wider than a line."""
    lines: list[str] = []
    for paragraph in text.replace("\u2028", "\n").split("\n"):  # Qt's item text keeps lines apart with U+2028
        if metrics.horizontalAdvance(paragraph) <= width:  # whole: measured once, not once per word
            lines.append(paragraph)
            continue
        line = ""
        for word in paragraph.split(" "):
            joined = f"{line} {word}" if line else word
            if not line or metrics.horizontalAdvance(joined) <= width:
                line = joined
            else:
                lines.append(line)
                line = word
        lines.append(line)
    shown = lines[:most]
    if len(lines) > most:
        shown[-1] = shown[-1] + " " + " ".join(lines[most:])
    return [metrics.elidedText(line, Qt.TextElideMode.ElideRight, max(width, 1)) for line in shown]


def _mark_row(row: QListWidgetItem, *, decided: bool, rejected: bool) -> None:
    """A site row greyed when its site is decided, struck through when it was rejected as
    a whole (on no map: listed so that it can be taken back)."""
    row.setForeground(QBrush(QColor("#777777")) if decided else QBrush())
    font = row.font()
    font.setStrikeOut(rejected)
    row.setFont(font)


def _site_key(site: SiteSummary | None) -> int | None:
    """The detection the panel keeps a site by across rebuilds (its best sighting), or
    ``None``."""
    return None if site is None else (site.best_detection_id or site.detection_ids[0])


ACCEPT_TEXT = "Accept (A)"
ACCEPT_TIP = "Accept every sighting of the site"


def accept_wording(sites: list[SiteSummary]) -> tuple[str, str]:
    """The Accept button's text and tooltip for ``sites`` (the current one, or those
    selected): accepting a site whose sightings disagree on the level relabels the others
    to the site's level (:func:`core.sites.site_decision`), and the button says so before
    A is pressed ("Accept as Severe (A)", "23 Slight sightings relabelled Severe")."""
    relabelling = [(site, relabels) for site in sites if (relabels := accept_relabels(site))]
    if not relabelling:
        return ACCEPT_TEXT, ACCEPT_TIP if len(sites) <= 1 else f"Accept every sighting of the {len(sites)} sites"
    why = ("a site's level is the most severe one holding a third of its sightings' score-weighted votes; "
           f"{undo_key()} undoes it")
    if len(sites) == 1:
        site, relabels = relabelling[0]
        moved = sum(relabels.values())
        return (f"Accept as {site.level.label} (A)",
                f"Accept site #{site.site_id} as {site.level.label}: its {relabels_text(relabels)} "
                f"sighting{'' if moved == 1 else 's'} {'is' if moved == 1 else 'are'} relabelled "
                f"{site.level.label} ({why})")
    moved = sum(n for _, relabels in relabelling for n in relabels.values())
    return (ACCEPT_TEXT,
            f"Accept every sighting of the {len(sites)} sites: in {counted(len(relabelling), 'site')} whose "
            f"sightings disagree, {counted(moved, 'sighting')} of another level {'is' if moved == 1 else 'are'} "
            f"relabelled to the site's level ({why})")


def accept_wordings(text: str) -> tuple[str, ...]:
    """The Accept button's wordings, longest first, for a narrower panel: "Accept as Severe
    (A)", "Accept Severe (A)", then "Accept (A)" (the tooltip says it all)."""
    if text == ACCEPT_TEXT:
        return (ACCEPT_TEXT,)
    return (text, text.replace("Accept as ", "Accept ", 1), ACCEPT_TEXT)


def undo_key() -> str:
    """Edit > Undo's key as this platform writes it (the window gives Undo the platform's
    standard key: Ctrl+Z, ⌘Z on a Mac)."""
    return QKeySequence(QKeySequence.StandardKey.Undo).toString(QKeySequence.SequenceFormat.NativeText)


def undo_hint() -> str:
    """What a decision's status-bar message ends with: " — Ctrl+Z to undo"."""
    return f" — {undo_key()} to undo"


def decision_notice(sites: list[SiteSummary], decision: ReviewState | DamageLevel) -> str:
    """What the status bar says once ``sites`` are decided: "Site #9 accepted as Severe
    (39 sightings; 23 Slight relabelled Severe)", "3 sites rejected (41 sightings)"."""
    sightings = counted(sum(len(s.sightings) for s in sites), "sighting")
    named = f"Site #{sites[0].site_id}" if len(sites) == 1 else counted(len(sites), "site")
    if isinstance(decision, DamageLevel):
        return f"{named} relabelled {decision.label} ({sightings})"
    if decision is not ReviewState.ACCEPTED:
        return f"{named} {decision.value} ({sightings})"
    if len(sites) > 1:
        moved = sum(n for s in sites for n in accept_relabels(s).values())
        relabelled = f"; {moved} of another level relabelled to their site's" if moved else ""
        return f"{named} accepted ({sightings}{relabelled})"
    site = sites[0]
    relabels = accept_relabels(site)
    relabelled = f"; {relabels_text(relabels)} relabelled {site.level.label}" if relabels else ""
    return f"{named} accepted as {site.level.label} ({sightings}{relabelled})"


#: M with one site selected merges it with its nearest site only this close (metres): the
#: parts of one building the map told apart, not the house next door.
MERGE_NEAREST_MAX_M = 20.0


class SiteReviewPanel(Panel):
    """Sites in review order, the selected site's crops, and site-wide review actions.

    Signals
    -------
    sites_updated()
        The list was re-read from a rebuilt map (or says why there is none).
    disputed_changed()
        The sites earlier decisions disagree on, still to decide, may be others now.
    survey_context_shown()
        A survey flight's rows now say what the other flights found there.
    """

    title = "Sites"
    object_name = "site_review_dock"
    area = Qt.DockWidgetArea.RightDockWidgetArea

    sites_updated = Signal()
    survey_context_shown = Signal()
    #: the sites earlier decisions disagree on that are still to decide may have changed
    #: (:meth:`disputed_sites`): listed, decided, undone, or the project closed
    disputed_changed = Signal()

    #: Edits coalesce for this long before the sites are read again.
    REBUILD_DELAY_MS = 100
    #: How many sites below the current one have their best frame decoded ahead (and the one above it).
    FRAMES_AHEAD = 3
    #: Crops shown for the selected site (its best sightings, one per distinct look).
    GRID_SIZE = 12
    TILE_PX = 104
    #: The pointer resting this long on a crop seeks the player to its frame.
    HOVER_SEEK_MS = 150
    THUMB_PX = 56
    #: List thumbnails asked of the job thread at once (a map build waits at most that).
    THUMBS_PER_JOB = 16
    #: Sites whose crops are decoded ahead while the reviewer looks at the current one: the
    #: next one to decide (where a decision goes) and the next one listed (where Down goes).
    SITES_AHEAD = 2
    #: Crops kept decoded (the sites ahead's, and the last few shown: going back is at once),
    #: and the bytes they may take together (a debris field's crop is a megabyte).
    CROPS_KEPT = 64
    CROPS_KEPT_BYTES = 48 * 2**20
    #: A panel shorter than this (pixels) shows one row of crops and gives the list the rest: at
    #: 1280x800 scaled to 125% two rows left the list 1.7 rows of sites.
    ONE_CROP_ROW_BELOW_PX = 600
    #: A taller panel's share of the list and the crops for the crop grid (two rows at least).
    CROP_GRID_SHARE = 0.4

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(document, parent)
        self.review: SiteReview | None = None
        self._job: FunctionJob | None = None
        self._dirty = False
        #: (project, run) whose sites got the earlier decisions at their places, once
        self._carried_runs: set[tuple[str, int]] = set()
        #: (project, run) -> the sites earlier decisions disagree on (a detection of each, and
        #: why): listed first, with the reason, until they are decided
        self._disputed: dict[tuple[str, int], list[tuple[int, str]]] = {}
        self._decided: dict[int, str] = {}  # site id -> decision shown before the rebuild
        self._edits_seen = 0  # the document's changes to detections, counted (a list read before one is stale)
        self._tracks_replaced = 0  # the telemetry files attached, counted (a list read before one is stale)
        self._rows: list[tuple[QListWidgetItem, int, bool]] = []  # list row, site id, decided when read
        self._follow_key: int | None = None  # a detection id of the site to keep selected
        self._also_select: list[int] = []  # detection ids of the other sites an undo/redo changed
        #: a detection of the site the reviewer last chose: selected again once the score
        #: threshold shows its site again (a threshold that hid it moved the selection on)
        self._chosen: int | None = None
        #: the reviewer's place when the sites were placed anew (a new track, clock offset…):
        #: found again, by its sightings, in the list read next (see :class:`ListPlace`)
        self._place: ListPlace | None = None
        self._placed_anew = False  # the georeferencing changed since the list was read
        self._placed_with: object = None  # the track and georeferencing the list was read with
        self._moving = False  # the panel, not the reviewer, is moving the selection
        #: the reviewer moved the player (seeking, scrubbing, playing) while no site was
        #: selected: the list's first pick then leaves the player where they took it
        self._player_moved = False
        self._player_rest_frame = 0  # the frame shown when the list last lost its site
        self._current_at_press: QListWidgetItem | None = None  # the current row when the mouse went down
        #: (run, detection) -> the detection as drawn and its list thumbnail
        self._thumbnails: dict[tuple[int, int], tuple[Detection, QIcon]] = {}
        self._grid_key: object = None
        self._thumb_queue: list[QListWidgetItem] = []  # list rows still without a thumbnail
        self._grid_queue: list[QListWidgetItem] = []  # grid tiles whose crops are not asked for yet
        #: the crops of the sites ahead still to decode, a site's a batch: (detection id, frame)
        self._ahead_queue: list[list[tuple[int, int]]] = []
        #: (detection id, video, box) -> its crop (:func:`crop_region`), kept decoded
        self._crops = LastFew(self.CROPS_KEPT, budget=self.CROPS_KEPT_BYTES)

        self.summary = QLabel("No project open")
        self.summary.setWordWrap(True)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 100)
        reach_by_tab(self.threshold)  # Tab reaches it; a click leaves the focus on the site list
        self.threshold.setToolTip("The window's score threshold (the toolbar's): sites without a sighting "
                                  "scoring this much (or one accepted) are hidden here and on the map")
        self.threshold_label = QLabel("")
        self.show_decided = QCheckBox("Show decided sites")  # View > Show Decided Sites is this box
        self.show_decided.setChecked(True)
        reach_by_tab(self.show_decided)
        self.show_decided.setToolTip("Uncheck to list only the sites still to decide (the decided ones include "
                                     "the sites rejected as a whole, struck through: A takes a rejection back)")
        self.site_list = QListWidget()
        self.site_list.setIconSize(QSize(self.THUMB_PX, self.THUMB_PX))
        self.site_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.site_list.setUniformItemSizes(True)
        self.site_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._row_delegate = _ElidedRows(self.site_list)
        self.site_list.setItemDelegate(self._row_delegate)
        self.grid = _CropGrid()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(self.TILE_PX, self.TILE_PX))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setWrapping(True)
        self.grid.setGridSize(QSize(self.TILE_PX + 8, self.TILE_PX + 22))
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setUniformItemSizes(True)

        self.buttons: dict[str, QPushButton] = {}
        # two rows, deciding then moving and regrouping: one row of nine was 740 px wide,
        # more than a 1280 px screen leaves the panel beside the video and the map
        decide_bar, move_bar = QHBoxLayout(), QHBoxLayout()
        for bar, buttons in (
            (decide_bar, (("accept", ACCEPT_TEXT, ACCEPT_TIP),
                          ("reject", "Reject (X)", "Reject every sighting of the site"),
                          ("slight", "Slight (1)", "Relabel the site as Slight"),
                          ("severe", "Severe (2)", "Relabel the site as Severe"),
                          ("debris", "Debris (3)", "Relabel the site as Debris"))),
            (move_bar, (("previous", "◀ Previous site (P)", "The previous site in the list (P or Up)"),
                        ("next", "Next site (N) ▶", "The next site in the list (N or Down)"),
                        ("split", "Split (S)", "The selected crops become a site of their own"),
                        ("merge", "Merge (M)", "Merge the selected sites (one selected: with its nearest site)"))),
        ):
            bar.setSpacing(2)
            for name, text, tip in buttons:
                # Accept's wording grows on a site whose sightings disagree ("Accept as Severe (A)"):
                # it asks for no more room than "Accept (A)", so the window still fits 1024 pixels
                button = FittingButton(text) if name == "accept" else QPushButton(text)
                button.setToolTip(tip)
                reach_by_tab(button)
                button.clicked.connect(lambda _=False, n=name: self.trigger(n))
                bar.addWidget(button)
                self.buttons[name] = button

        self.threshold_label.setWordWrap(True)  # "0.50: 19 sites (3 unconfirmed)…" may be long
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(QLabel("Score ≥"))
        threshold_row.addWidget(self.threshold, 1)
        threshold_row.addWidget(self.threshold_label, 1)
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.show_decided)
        filter_row.addStretch(1)
        # at least one whole row of crops with its captions, two where the panel has the room
        # (a laptop's 720 lines cut the second row in half); a panel kept two rows however short
        # it was, and on a scaled laptop screen (853x533 logical pixels) the window did not fit
        self.grid.setMinimumHeight(self.crop_rows_px(1))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.site_list)
        splitter.addWidget(self.grid)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([300, self.crop_rows_px(2)])
        self.splitter = splitter
        self._crop_rows: int | None = None  # the rows the grid was last given (:meth:`_fit_crop_rows`)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addLayout(threshold_row)
        layout.addLayout(filter_row)
        layout.addWidget(splitter, 1)
        layout.addLayout(decide_bar)
        layout.addLayout(move_bar)

        self._keys = _KeyFilter(self)
        for widget in (self.site_list, self.grid, self):
            widget.installEventFilter(self._keys)
        for view in (self.site_list, self.grid):  # the one holding the keys draws its selection blue
            SelectionFollowsFocus(view)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.REBUILD_DELAY_MS)
        self._timer.timeout.connect(self.rebuild)
        self._picture_job: FunctionJob | None = None
        placeholder = QPixmap(self.TILE_PX, self.TILE_PX)
        placeholder.fill(QColor("#202020"))
        self._placeholder = QIcon(placeholder)

        for view in (self.site_list, self.grid):
            view.setMouseTracking(True)
            view.itemEntered.connect(self._on_item_hovered)
            view.viewport().installEventFilter(self._keys)
        self._keys.pointer_left.connect(self._on_pointer_left)
        self.site_list.currentItemChanged.connect(self._on_current_site)
        self.site_list.itemClicked.connect(self._on_row_clicked)
        self.site_list.itemSelectionChanged.connect(self._update_summary)
        self.grid.currentItemChanged.connect(self._on_current_tile)
        self.threshold.valueChanged.connect(lambda v: document.set_score_threshold(v / 100))
        self.show_decided.toggled.connect(self._apply_row_filter)
        self._hover_timer = QTimer(self)  # the pointer crossing tiles seeks once, where it stops
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(self.HOVER_SEEK_MS)
        self._hover_timer.timeout.connect(self._seek_hovered)
        self._hovered: tuple[int, int] | None = None
        # bound methods, not lambdas, for the document: Qt disconnects them with the panel
        document.opened.connect(self.schedule_rebuild)
        document.closed.connect(self._on_closed)
        document.flight_in_survey_changed.connect(self._on_flight_in_survey)
        document.run_changed.connect(self._on_run_changed)
        document.telemetry_changed.connect(self._on_telemetry_changed)
        document.track_replaced.connect(self._on_track_replaced)
        document.detections_changed.connect(self._on_data_changed)
        document.analysis_running_changed.connect(self._on_analysis_running_changed)
        document.selection_changed.connect(self._on_selection_changed)
        document.stepped.connect(self._on_stepped)
        document.current_frame_changed.connect(self._on_frame_shown)
        document.score_threshold_changed.connect(self._update_threshold_count)
        self._update_threshold_count()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def crop_rows_px(self, rows: int) -> int:
        """The crop grid's height showing ``rows`` whole rows of crops with their captions."""
        return rows * self.grid.gridSize().height() + 2 * self.grid.frameWidth() + 2

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_crop_rows()

    def _fit_crop_rows(self) -> None:
        """One row of crops on a short panel, the list taking the rest; on a taller one two
        rows at least, or the grid's share. Set when the panel crosses the line, so a split
        the reviewer dragged stays while the panel keeps to its side of it."""
        rows = 1 if self.height() < self.ONE_CROP_ROW_BELOW_PX else 2
        if rows == self._crop_rows:
            return
        self._crop_rows = rows
        total = sum(self.splitter.sizes())
        grid_px = self.crop_rows_px(rows)
        if rows > 1:
            grid_px = max(grid_px, round(total * self.CROP_GRID_SHARE))
        self.splitter.setSizes([max(0, total - grid_px), grid_px])

    # ------------------------------------------------------------------ reading
    @property
    def busy(self) -> bool:
        """A rebuild is scheduled or running."""
        return self._timer.isActive() or (self._job is not None and self._job.is_running)

    @property
    def thumbnails_done(self) -> bool:
        """Every thumbnail of the list and every crop of the grid is drawn, and the crops
        of the sites ahead are decoded."""
        return (not self._thumb_queue and not self._grid_queue and not self._ahead_queue
                and self._picture_job is None)

    def schedule_rebuild(self) -> None:
        self._timer.start()

    def _on_run_changed(self, *_args: object) -> None:
        """Another run's sites: the last run's list goes at once (a key pressed on one of
        its sites would act on detections of another run), and the reviewer's place in it
        means nothing there."""
        self._forget_sites()
        self._follow_key = None
        if self.document.is_open and self.document.run_id is not None:
            analysing = self.document.analysis_running  # the run an analysis writes: read at its end
            self.summary.setText("The sites are listed when the analysis ends" if analysing else "Reading the sites…")
        self._on_data_changed()

    def _on_track_replaced(self) -> None:
        """Another track places the sites anew: the list placed with the one before goes
        at once, as the map's sites do, until the new sites are read; the reviewer's place
        is kept for then."""
        place = self._place_now() or self._place
        chosen = self._chosen if self._chosen is not None else _site_key(self.current_site())
        self._tracks_replaced += 1
        self._forget_sites()
        self.document.set_sites({})
        self._chosen, self._place = chosen, place
        self.summary.setText("Reading the sites…")

    def _on_telemetry_changed(self) -> None:
        """The track or the project's settings changed: the sites are read again. Where
        the track or the georeferencing changed (not only the map's score), they are placed
        anew, and the list read next goes back to the reviewer's place as it is then."""
        if self._placed_with is not None and self._placement() != self._placed_with:
            self._placed_anew = True
        self.schedule_rebuild()

    def _placement(self) -> object:
        """What places the sites on the ground: the track and the georeferencing settings."""
        from dataclasses import replace

        doc = self.document
        return (doc.telemetry_path, replace(doc.settings, min_score=0.0)) if doc.is_open else None

    def _place_now(self) -> ListPlace | None:
        """The site in view and the undecided sites shown after it (``None``: no site in view)."""
        review, site = self.review, self.current_site()
        if review is None or site is None:
            return None
        ahead = []
        for index in range(self.site_list.currentRow() + 1, self.site_list.count()):
            if self.site_list.item(index).isHidden():
                continue
            after = review.site(int(self.site_list.item(index).data(SITE_ROLE)))
            if after is not None and not after.decided and after.site_id not in self._decided:
                ahead.append(frozenset(after.detection_ids))
        return ListPlace(frozenset(site.detection_ids), site.best_detection_id, tuple(ahead))

    def _on_data_changed(self, *_args: object) -> None:
        if not self.document.analysis_running:
            self._edits_seen += 1  # a list read before this is stale (see _on_built)
            self.schedule_rebuild()

    def _on_analysis_running_changed(self, running: bool) -> None:
        if not running:
            self.schedule_rebuild()
        elif self.review is None:
            self.summary.setText("The sites are listed when the analysis ends")

    def _on_closed(self) -> None:
        self._timer.stop()
        self._thumbnails.clear()
        self._crops.clear()
        self._forget_sites()
        self.summary.setText("No project open")
        self.threshold_label.setText("")

    def _forget_sites(self) -> None:
        """No site listed, shown or chosen, until the sites are read again."""
        self._thumb_queue.clear()
        self._grid_queue.clear()
        self._ahead_queue.clear()
        self.review = None
        self._chosen = None
        self._place, self._placed_anew, self._placed_with = None, False, None
        self._decided.clear()
        self.site_list.clear()
        self._rows = []
        self.grid.clear()
        self._grid_key = None
        self._player_moved, self._player_rest_frame = False, self.document.current_frame
        self._update_threshold_count(filter_rows=False)  # the count was of the sites forgotten
        self._update_buttons()
        self.disputed_changed.emit()

    def rebuild(self) -> None:
        """Read the sites again (the map is built on the job thread, from its cache when
        nothing changed)."""
        doc = self.document
        if not doc.is_open:
            return
        if doc.analysis_running and self.review is None:
            self.summary.setText("The sites are listed when the analysis ends")
            return
        if doc.run_id is None or doc.telemetry_path is None:
            self._show_message("No sites yet: " + ("analyse the video" if doc.run_id is None else "open the telemetry"))
            return
        if self._job is not None and self._job.is_running:
            self._dirty = True
            return
        self._dirty = False
        if self.review is None:
            self.summary.setText("Reading the sites…")
        job = FunctionJob(build_map_job, doc.project_path, doc.run_id, parent=self)
        track = self._tracks_replaced
        job.done.connect(lambda built, run_id=doc.run_id, edits=self._edits_seen, t=track:
                         self._on_built(built, run_id, edits) if t == self._tracks_replaced else self._read_again())
        job.failed.connect(lambda exc, t=track: self._on_failed(exc) if t == self._tracks_replaced else self._read_again())
        job.finished.connect(self._on_job_finished)
        self._job = job
        job.start()

    def _read_again(self) -> None:
        """A list read with the track before: read the sites again once that job is done."""
        self._dirty = True

    def _on_job_finished(self) -> None:
        if self._dirty:
            self.rebuild()

    def _on_failed(self, exc: Exception) -> None:
        _log.warning("sites not read: %s", exc)
        self._show_message(f"No sites: {exc}")

    def _show_message(self, text: str) -> None:
        self.review = None
        self.document.set_sites({})
        self._thumb_queue.clear()
        self._grid_queue.clear()
        self._ahead_queue.clear()
        self.site_list.clear()
        self._rows = []
        self.grid.clear()
        self._grid_key = None
        self.summary.setText(text)
        self._update_threshold_count(filter_rows=False)  # no sites to count ("counting…" stayed for good)
        self._update_buttons()
        self.sites_updated.emit()

    def _on_built(self, built: object, run_id: int | None = None, edits: int | None = None) -> None:
        from core.review import carried_text
        from services.sites import carry_outcome, site_review

        doc = self.document
        if not doc.is_open or doc.run_id is None:
            return
        if run_id is not None and run_id != doc.run_id:  # the run changed meanwhile
            self.schedule_rebuild()
            return
        if edits is not None and edits != self._edits_seen and self.review is not None:
            # read before a decision made since: shown, it would unmark that decision and put
            # the reviewer back on a site they decided (the next key acting on it again); the
            # rows keep their marks until the list read after the decision arrives
            self._dirty = True
            return
        try:
            review = site_review(doc.store, doc.run_id, built=built)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never a crash
            self._on_failed(exc)
            return
        run_key = (str(doc.project_path), review.run_id)
        if run_key not in self._carried_runs:
            self._carried_runs.add(run_key)
            elsewhere = []
            if doc.survey is not None:
                from services.survey import survey_decisions

                elsewhere = survey_decisions(doc.survey, except_project=doc.project_path)
            outcome = carry_outcome(doc.store, review, elsewhere=elsewhere)
            self._disputed[run_key] = [(site.detection_ids[0], d.reason()) for d in outcome.disputed
                                       if (site := review.site(d.site_id)) is not None and site.detection_ids]
            if outcome.edit is not None or outcome.disputed:
                where = "earlier runs or the survey's other flights" if elsewhere else "earlier runs"
                doc.notice.emit(carried_notice(len(outcome.edit.groups) if outcome.edit is not None else 0,
                                               len(outcome.disputed), where))
            if outcome.edit is not None:
                try:
                    doc.apply_edit(outcome.edit, carried_text(outcome.sightings))
                except Exception as exc:  # noqa: BLE001
                    show_error(self, exc, title="Earlier decisions not kept")
                self._show(self._with_disputed(review, run_key))  # as it was: the rebuild the edit asks for
                self._chosen = None  # shows them decided, and selects the first site still to decide then
                self.site_list.blockSignals(True)
                self.site_list.setCurrentRow(-1)
                self.site_list.blockSignals(False)
                return
        self._show(self._with_disputed(review, run_key))

    def _with_disputed(self, review: SiteReview, run_key: tuple[str, int]) -> SiteReview:
        """``review`` with the sites earlier decisions disagree on first in its queue, each
        saying so, while they are undecided."""
        from core.sites import QueueItem

        why = self._disputed_reasons(review, run_key)
        if why:
            first = [QueueItem(item.site, (why[item.site.site_id], *item.reasons))
                     for item in review.queue if item.site.site_id in why]
            review.queue = first + [item for item in review.queue if item.site.site_id not in why]
        return review

    def _disputed_reasons(self, review: SiteReview, run_key: tuple[str, int]) -> dict[int, str]:
        """Site id -> why, for the sites of ``review`` earlier decisions disagree on that
        are still undecided."""
        why: dict[int, str] = {}
        for detection_id, reason in self._disputed.get(run_key, []):
            site = review.site_of_detection(detection_id)
            if site is not None and not site.decided and site.site_id not in review.rejected:
                why[site.site_id] = reason
        return why

    def disputed_sites(self) -> list[SiteSummary]:
        """The sites listed, in queue order, that earlier decisions disagree on (after a new
        run took the earlier runs' decisions over) and that are still to decide."""
        review = self.review
        if review is None or not self.document.is_open:
            return []
        why = self._disputed_reasons(review, (str(self.document.project_path), review.run_id))
        return [item.site for item in review.queue
                if item.site.site_id in why and item.site.site_id not in self._decided]

    def select_first_disputed(self) -> bool:
        """Select the first disputed site still to decide that the list shows (the score
        threshold may hide them all: ``False`` then)."""
        for site in self.disputed_sites():
            row = self._row_of(site.site_id)
            if row is not None and not self.site_list.item(row).isHidden():
                self.site_list.setCurrentRow(row)
                self.site_list.scrollToItem(self.site_list.item(row))
                return True
        return False

    def _show(self, review: SiteReview) -> None:
        current = self.current_site()
        shown_key = _site_key(current)
        place = (self._place_now() if self._placed_anew else None) or self._place
        self._place, self._placed_anew, self._placed_with = None, False, self._placement()
        chosen_meanwhile = False
        if shown_key is None:
            # a detection chosen with no site selected (a map site, a Review Table row or a
            # mask clicked while the sites were read): the list takes its site, or none when
            # it is in no site (rejected, unplaced), and the player stays on it, instead of
            # going back to the first site to decide
            shown_key = self._selected_in_run(review.run_id)
            chosen_meanwhile = shown_key is not None
            if place is not None and chosen_meanwhile:
                if shown_key in place.detection_ids:
                    chosen_meanwhile = False  # the selection the site in view left: no one's choice since
                else:
                    place = None  # a detection chosen while the sites were read: the reviewer's place now
        self.review = review
        # the map's sites (a rejected site's sightings are in none there)
        self.document.set_sites({d: site for d, site in review.site_of.items() if site not in review.rejected},
                                review.unconfirmed)
        self._decided.clear()
        self._thumb_queue.clear()
        self.site_list.blockSignals(True)
        self.site_list.clear()
        self._rows = []
        drawn_now = self._thumbnailed_now(review)
        for item in review.queue:
            survey_text = self._survey_text(item.site)
            row = QListWidgetItem(self._row_text(item.site, item.reason + survey_text))
            row.setData(SITE_ROLE, item.site.site_id)
            _mark_row(row, decided=item.site.decided, rejected=item.site.site_id in review.rejected)
            row.setToolTip(item.reason + survey_text + self._accept_note(item.site))
            thumbnail = self._thumbnail(review.run_id, item.site.best_detection_id, drawn_now)
            # a picture from the start (the one drawn before the rebuild, else a placeholder): a row
            # is as tall before its thumbnail arrives as after, so the rows do not move
            row.setIcon(thumbnail or self._placeholder)
            self.site_list.addItem(row)
            self._rows.append((row, item.site.site_id, item.site.decided))
            if thumbnail is None:
                self._thumb_queue.append(row)
        self._row_delegate.fit_rows()  # before the rows are shown: each as tall as the longest needs
        self._apply_row_filter(adjust_current=False)
        # the site an edit moved to, else the reviewer's place, else the site in view, else the first to decide
        row_index = None
        if self._follow_key is None and place is not None:
            # placed anew: the same site matched by its sightings, else the next one still to decide
            found = place.find(review.site_of, [site_id for row, site_id, _ in self._rows if not row.isHidden()],
                               {item.site.site_id for item in review.queue if not item.site.decided})
            row_index = None if found is None else self._row_of(found)
            if row_index is not None:
                self._chosen = _site_key(review.site(found))
        keys = (self._follow_key,) if place is not None else (self._follow_key, self._chosen, shown_key)
        for key in keys if row_index is None else ():
            target = review.site_of_detection(key) if key is not None else None
            row = self._row_of(target.site_id) if target is not None else None
            if row is not None and not self.site_list.item(row).isHidden():
                row_index = row
                break
        if row_index is None and not chosen_meanwhile and not self._player_moved:
            row_index = self._first_undecided_row()  # not when the reviewer took the player elsewhere
        followed = self._follow_key is not None
        if followed:  # an edit moved the reviewer on: their place from now
            self._chosen = self._follow_key
        elif self._chosen is None and row_index is not None:  # the list's first pick, until they choose
            self._chosen = _site_key(review.site(self._rows[row_index][1]))
        self._follow_key = None
        # selected silently: the player is moved below only when the site differs from the one in view
        self.site_list.setCurrentRow(row_index if row_index is not None else -1)
        if row_index is not None:  # a site selected: the player follows the list from here
            self._player_moved, self._player_rest_frame = False, self.document.current_frame
        if followed and row_index is not None:
            self._select_also(review, self._also_select)
        self._also_select = []
        self.site_list.blockSignals(False)
        if self.site_list.currentItem() is not None:
            self.site_list.scrollToItem(self.site_list.currentItem())
        self._fill_grid(self.current_site())
        self._update_summary()
        shown = self.current_site()
        moved = shown is not None and shown_key is not None and shown_key not in shown.detection_ids
        first = shown is not None and shown_key is None  # the list's first pick (the project just opened)
        if (followed or moved or first) and shown is not None and not self.document.analysis_running:
            # the site an edit left selected (a split's new site, a merge's), another site than the
            # one in view (the reviewer's place shown again), or the first site to decide: the player
            # shows it, so that the next key acts on the site in view
            self._show_site(shown)
        if first and shown is not None:
            self._take_focus_on_opening()
        self._update_threshold_count(filter_rows=False)  # filtered above
        self._update_buttons()
        if self._thumb_queue:
            # in frame order: each batch is one forward pass through the video
            self._thumb_queue.sort(key=lambda r: getattr(review.site(int(r.data(SITE_ROLE))), "best_frame", 0))
            self._start_pictures()
        self.sites_updated.emit()
        self.disputed_changed.emit()
        if self.document.flight_in_survey is not None:  # the rows say it already
            self.survey_context_shown.emit()

    def _selected_in_run(self, run_id: int) -> int | None:
        """The document's selected detection when it is one of run ``run_id`` (a selection
        left from the run shown before is no one's choice among these sites)."""
        selected = self.document.selected_id
        if selected is None or self.document.store is None:
            return None
        try:
            return selected if self.document.store.detection_run_id(selected) == run_id else None
        except StoreError:  # not in the project (any more)
            return None

    def _take_focus_on_opening(self) -> None:
        """The list takes the keyboard focus when a project's sites are first listed, so
        the review keys act on the site it highlights, as the docs say, not on one
        detection of it: unless the panel is hidden, or the reviewer is typing somewhere
        (a field, a dialog)."""
        from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit

        if not self.site_list.isVisible() or self.site_list.visibleRegion().isEmpty():
            return
        focus = QApplication.focusWidget()
        if focus is not None and (focus.window() is not self.window()
                                  or isinstance(focus, (QLineEdit, QAbstractSpinBox, QComboBox, QTextEdit,
                                                        QPlainTextEdit))):
            return
        self.site_list.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ a survey's flight
    def _on_flight_in_survey(self) -> None:
        """A survey flight's rows say what the other flights found at each site (read by the
        survey controller for the open flight, again after each review change); a row
        decided since the list was read keeps saying so."""
        if self.review is None:
            return
        reasons = {item.site.site_id: item.reason for item in self.review.queue}
        for row, site_id, _decided in self._rows:
            site = self.review.site(site_id)
            if site is not None:
                text = reasons.get(site_id, "") + self._survey_text(site)
                decided = self._decided.get(site_id)
                row.setText(self._row_text(site, text if decided is None else f"decided: {decided}"))
                row.setToolTip(text)
        self._row_delegate.fit_rows()
        if self.document.flight_in_survey is not None:
            self.survey_context_shown.emit()

    def _survey_context(self, site: SiteSummary) -> SiteInSurvey | None:
        """What the survey says of ``site`` for a survey's flight (None otherwise, or when
        the survey's view is of another site there: another run shown, a site split since)."""
        view = self.document.flight_in_survey
        if view is None:
            return None
        return view.site_context(site.site_id, site.lon_deg, site.lat_deg)  # type: ignore[attr-defined]

    def _survey_text(self, site: SiteSummary) -> str:
        """" · also found by monday · not found by tuesday (saw the place well)" for a
        survey's flight ("" otherwise, or when the survey's view is of another site there)."""
        context = self._survey_context(site)
        if context is None:
            return ""
        text = ""
        if context.found_by:
            text += f" · also found by {', '.join(context.found_by)}"
        if context.not_found_by:
            text += f" · not found by {', '.join(context.not_found_by)} (saw the place well)"
        return text

    @staticmethod
    def _accept_note(site: SiteSummary) -> str:
        """A row's tooltip on a site still to decide whose sightings disagree: what A does."""
        relabels = accept_relabels(site)
        if site.decided or not relabels:
            return ""
        one = sum(relabels.values()) == 1
        return (f"\nAccept (A) takes it as {site.level.label}: its {relabels_text(relabels)} "
                f"sighting{'' if one else 's'} {'is' if one else 'are'} relabelled {site.level.label}")

    def _row_text(self, site: SiteSummary, reason: str) -> str:
        """The site's line (with, on a survey's flight, the survey site's number beside its
        own: the number a survey lead reads off the survey's map) and its reason below."""
        context = self._survey_context(site)
        line = site_line(site.site_id, site.level, site.best_score, len(site.sightings), site.frame_count,
                         site.first_time_s, site.last_time_s, best_view_apart=site.best_view_apart,
                         survey_site_id=None if context is None else context.survey_site_id)
        return f"{line}\n{reason}"

    def _update_summary(self) -> None:
        review = self.review
        if review is None:
            return
        decided = review.decided_count + sum(
            1 for site_id in self._decided if (s := review.site(site_id)) is not None and not s.decided)
        total = len(review.queue)
        unconfirmed = len(review.unconfirmed)
        text = f"{total} sites" + (f" ({unconfirmed} unconfirmed)" if unconfirmed else "")
        text += f" · {total - decided} to decide · {decided} decided"
        if total and decided == total and not self.show_decided.isChecked():
            text += ": check Show decided sites to list them"
        selected = len(self.selected_sites())
        if selected > 1:  # what the next key will decide
            text += f" · {selected} selected: A, X, 1-3 decide them all"
        self.summary.setText(text)

    def _update_threshold_count(self, *_args: object, filter_rows: bool = True) -> None:
        value = self.document.score_threshold
        self.threshold.blockSignals(True)
        self.threshold.setMinimum(round(self.document.score_floor * 100))
        self.threshold.setValue(round(value * 100))
        self.threshold.blockSignals(False)
        review = self.review
        if review is None:  # the value all the same, and why there is no count
            reason = self._no_sites_reason()
            shown = f"{value:.2f}: {reason}" if reason else f"{value:.2f}"
            self.threshold_label.setText(shown if self.document.is_open else "")
            return
        kept = review.kept_at(value)
        unconfirmed = len(kept & review.unconfirmed)
        text = f"{value:.2f}: {len(kept) - unconfirmed} sites"
        text += f" + {unconfirmed} unconfirmed" if unconfirmed else ""
        if abs(value - review.min_score) > 1e-9:
            # the sites are fused again at the new threshold (once it is saved): under the old one
            # they are not read yet, and over it fewer sightings confirm a site, so the sites
            # the old map keeps there are not the new map's count
            text = f"{value:.2f}: counting…"
        self.threshold_label.setText(text)
        if filter_rows:
            self._apply_row_filter(kept=review.listed_at(value))

    def _no_sites_reason(self) -> str:
        """Why no sites are counted beside the slider ("" when there is nothing to say)."""
        doc = self.document
        if not doc.is_open:
            return ""
        if doc.telemetry_path is None:
            return "no sites without telemetry"
        if doc.run_id is None:
            return "no sites before an analysis"
        if doc.analysis_running:
            return "sites counted when the analysis ends"
        return ""  # being read, or unreadable (the summary above says why)

    def _apply_row_filter(self, *_args: object, adjust_current: bool = True, kept: set[int] | None = None) -> None:
        """Hide the rows of sites below the score threshold, and decided ones unless
        "Show decided sites" is on."""
        review = self.review
        if review is None:
            return
        if kept is None:
            kept = review.listed_at(self.document.score_threshold)
        show_decided = self.show_decided.isChecked()
        for row, site_id, decided in self._rows:
            hidden = site_id not in kept or (not show_decided and (decided or site_id in self._decided))
            if hidden != row.isHidden():  # most rows keep their state: no layout work for them
                row.setHidden(hidden)
        current = self.site_list.currentItem()
        chosen = None if self._chosen is None else review.site_of_detection(self._chosen)
        back = None if chosen is None else self._row_of(chosen.site_id)
        self._moving = True
        try:
            if adjust_current and back is not None and not self.site_list.item(back).isHidden():
                if back != self.site_list.currentRow():  # shown again: the reviewer's place back
                    self.site_list.setCurrentRow(back)
            elif adjust_current and current is not None and current.isHidden():
                following = self._first_undecided_row(self.site_list.currentRow())
                self.site_list.setCurrentRow(following if following is not None else -1)
        finally:
            self._moving = False
        self._update_summary()
        self._update_buttons()

    # ------------------------------------------------------------------ pictures
    def _start_pictures(self) -> None:
        """Ask the job thread for the next batch of crops: the grid's first, then the
        crops of the next site ahead, then the list's thumbnails a few at a time (a map
        build waits at most one batch)."""
        if self._picture_job is not None or not self.document.is_open:
            return
        if self._grid_queue:
            tiles, self._grid_queue = self._grid_queue, []
            batch = [(int(t.data(DETECTION_ROLE)), int(t.data(FRAME_ROLE))) for t in tiles]
            target = ("grid", self._grid_key)
        elif self._ahead_queue:
            batch = [(i, frame) for i, frame in self._ahead_queue.pop(0) if self._kept_crop(i) is None]
            target = ("ahead", None)
        elif self._thumb_queue and self.review is not None:
            rows = self._thumb_queue[: self.THUMBS_PER_JOB]
            del self._thumb_queue[: self.THUMBS_PER_JOB]
            batch = []
            for row in rows:
                site = self.review.site(int(row.data(SITE_ROLE)))
                if site is not None and site.best_detection_id is not None:
                    batch.append((site.best_detection_id, site.best_frame))
            target = ("list", self.review.run_id)
        else:
            return
        wanted = []
        for detection_id, frame_index in batch:
            detection = self.document.detection(detection_id)
            if detection is not None:
                wanted.append((detection_id, frame_index, tuple(detection.box_xyxy_px)))
        if not wanted:  # all kept already
            self._start_pictures_later()
            return
        # each crop kept by the video and the box it was cut around (the crop of another
        # project's detection of the same id, arriving after it closed, is not this one's)
        boxes = {detection_id: (str(self.document.video_path), box) for detection_id, _, box in wanted}
        job = FunctionJob(crops_job, self.document.video_path, wanted, parent=self, lane=VIDEO_LANE)
        job.done.connect(lambda crops, t=target, b=boxes: self._on_crops(t, crops, b))
        job.failed.connect(self._on_crops_failed)
        job.finished.connect(self._on_picture_job_finished)
        self._picture_job = job
        job.start()

    def _on_picture_job_finished(self) -> None:
        self._picture_job = None
        self._start_pictures()

    def _on_crops_failed(self, exc: Exception) -> None:
        _log.warning("no crops: %s", exc)

    def _start_pictures_later(self) -> None:
        """:meth:`_start_pictures` from the event loop (not from within itself)."""
        QTimer.singleShot(0, self._start_pictures)

    def _kept_crop(self, detection_id: int) -> tuple[np.ndarray, int, int] | None:
        """The crop of a detection decoded before, while its box is as it was then."""
        detection = self.document.detection(detection_id)
        if detection is None:
            return None
        found: tuple[np.ndarray, int, int] | None = self._crops.get(
            (detection_id, str(self.document.video_path), tuple(detection.box_xyxy_px)))
        return found

    def _crop_icon(self, crop: tuple[np.ndarray, int, int], detection: Detection, frames: int,
                   side_px: int | None = None) -> QIcon:
        """A crop with the detection's outline, and how many frames its look holds: a grid
        tile's picture (``side_px`` :data:`TILE_PX`), or a list row's."""
        return QIcon(crop_pixmap(*crop, detection, side_px or self.TILE_PX, badge=f"×{frames}" if frames > 1 else "",
                                 pixel_ratio=self.devicePixelRatioF()))

    def _queue_crops_ahead(self) -> None:
        """Ask for the crops of the sites the reviewer goes to next (:data:`SITES_AHEAD`),
        decoded while they look at this one: the next site's crops are there the moment a
        decision moves on to it."""
        self._ahead_queue = []
        row, review = self.site_list.currentRow(), self.review
        if row < 0 or review is None or self.SITES_AHEAD <= 0:
            return
        listed = self.site_list
        rows = [self._first_undecided_row(row + 1),
                next((i for i in range(row + 1, listed.count()) if not listed.item(i).isHidden()), None)]
        for index in dict.fromkeys(i for i in rows if i is not None and i != row):
            site = review.site(int(listed.item(index).data(SITE_ROLE)))
            if site is None or len(self._ahead_queue) >= self.SITES_AHEAD:
                continue
            batch = [(sighting.detection_id, sighting.frame_index)
                     for sighting, _ in crops_to_show(site, self.GRID_SIZE)
                     if self._kept_crop(sighting.detection_id) is None]
            if batch:
                self._ahead_queue.append(batch)

    def _on_crops(self, target: tuple[str, object], crops: dict[int, tuple[np.ndarray, int, int]],
                  boxes: dict[int, tuple[str, tuple[float, float, float, float]]] | None = None) -> None:
        """Crops arrived: draw those whose tile or row is still shown (the grid's and the
        sites ahead's are kept, by the box they were cut around)."""
        kind, key = target
        if kind in ("grid", "ahead") and boxes:
            for detection_id, crop in crops.items():
                if detection_id in boxes:
                    self._crops.put((detection_id, *boxes[detection_id]), crop, weight=crop[0].nbytes)
        if kind == "ahead":  # the site ahead may be shown by now, its tiles waiting for these
            for tile in [t for t in self._grid_queue if int(t.data(DETECTION_ROLE)) in crops]:
                detection_id = int(tile.data(DETECTION_ROLE))
                kept = self._kept_crop(detection_id)  # cut from this video, around its box as it is
                detection = self.document.detection(detection_id)
                if kept is not None and detection is not None:
                    tile.setIcon(self._crop_icon(kept, detection, int(tile.data(LOOK_FRAMES_ROLE) or 1)))
                    self._grid_queue.remove(tile)
            return
        if kind == "grid":
            if key != self._grid_key:
                return  # another site is shown by now
            items = [self.grid.item(i) for i in range(self.grid.count())]
            ids = [int(item.data(DETECTION_ROLE)) for item in items]
            side = self.TILE_PX
        else:
            if self.review is None or key != self.review.run_id:
                return
            items = [self.site_list.item(i) for i in range(self.site_list.count())]
            ids = []
            for item in items:
                site = self.review.site(int(item.data(SITE_ROLE)))
                ids.append(-1 if site is None or site.best_detection_id is None else site.best_detection_id)
            side = self.THUMB_PX
        for item, detection_id in zip(items, ids):
            crop = crops.get(detection_id)
            detection = None if crop is None else self.document.detection(detection_id)
            if crop is not None and detection is not None:
                frames = int(item.data(LOOK_FRAMES_ROLE) or 1) if kind == "grid" else 1
                icon = self._crop_icon(crop, detection, frames, side)
                item.setIcon(icon)
                if kind == "list":  # kept for the rebuilds to come: decoded once, not after every edit
                    self._thumbnails[(int(key), detection_id)] = (detection, icon)  # type: ignore[call-overload]
        if kind == "list" and not self._thumb_queue and self.site_list.currentItem() is not None:
            self.site_list.scrollToItem(self.site_list.currentItem())

    def _thumbnailed_now(self, review: SiteReview) -> dict[int, Detection]:
        """The best sightings of ``review``'s sites that have a thumbnail drawn, as the
        project holds them now, read in one query (one each, a long flight's list took a
        quarter of a second of the GUI thread at every decision)."""
        ids = [site_id for item in review.queue
               if (site_id := item.site.best_detection_id) is not None and (review.run_id, site_id) in self._thumbnails]
        return self.document.store.detections_by_id(ids) if ids else {}

    def _thumbnail(self, run_id: int, detection_id: int | None, now_by_id: Mapping[int, Detection]) -> QIcon | None:
        """The list thumbnail drawn before of a site whose best sighting is ``detection_id``,
        while that detection is as it was drawn (an edit of its level, box or mask draws it
        again; ``now_by_id``: the detections as the project holds them now); ``None`` when
        there is none to keep."""
        if detection_id is None:
            return None
        kept = self._thumbnails.get((run_id, detection_id))
        now = now_by_id.get(detection_id)
        if kept is None or now is None or _drawn_as(now) != _drawn_as(kept[0]):
            return None
        return kept[1]  # (a decision changes no pixel of it: drawn again, every row went black for seconds)

    def _fill_grid(self, site: SiteSummary | None) -> None:
        """The site's best crops, one per distinct look (a hover's frames are one), in
        time order (the pictures arrive from the job thread; placeholders until then)."""
        key = None if site is None else (site.site_id, site.sightings)
        if key is not None and key == self._grid_key and self.grid.count():
            self._queue_crops_ahead()  # the sites after it may be others now (a decision marked them)
            self._start_pictures()
            return  # the same crops: nothing to decode again
        self._grid_key = key
        self._grid_queue = []
        self.grid.blockSignals(True)
        self.grid.clear()
        if site is not None:
            for sighting, frames in crops_to_show(site, self.GRID_SIZE):
                tile = QListWidgetItem(f"{video_time(sighting.t_s)} {sighting.level.label[:3]} {sighting.score:.2f}")
                tile.setData(DETECTION_ROLE, sighting.detection_id)
                tile.setData(FRAME_ROLE, sighting.frame_index)
                tile.setData(LOOK_FRAMES_ROLE, frames)
                kept = self._kept_crop(sighting.detection_id)
                detection = None if kept is None else self.document.detection(sighting.detection_id)
                if kept is not None and detection is not None:  # decoded ahead, or shown before
                    tile.setIcon(self._crop_icon(kept, detection, frames))
                else:
                    tile.setIcon(self._placeholder)
                    self._grid_queue.append(tile)
                tips = [f"the best of {frames} frames filmed from one spot (a hover)"] if frames > 1 else []
                if sighting.review is not ReviewState.PENDING:
                    tips.append(sighting.review.value)
                if tips:
                    tile.setToolTip("; ".join(tips))
                self.grid.addItem(tile)
        self.grid.blockSignals(False)
        self._queue_crops_ahead()
        self._start_pictures()

    # ------------------------------------------------------------------ selection
    def current_site(self) -> SiteSummary | None:
        row = self.site_list.currentItem()
        if row is None or self.review is None:
            return None
        return self.review.site(int(row.data(SITE_ROLE)))

    def selected_sites(self) -> list[SiteSummary]:
        """The sites selected in the list and shown (Ctrl+A selects hidden rows too: the
        ones under the threshold or decided; a key must not decide what is not seen)."""
        if self.review is None:
            return []
        sites = [self.review.site(int(row.data(SITE_ROLE))) for row in self.site_list.selectedItems()
                 if not row.isHidden()]
        return [s for s in sites if s is not None]

    def _row_of(self, site_id: int) -> int | None:
        for index in range(self.site_list.count()):
            if self.site_list.item(index).data(SITE_ROLE) == site_id:
                return index
        return None

    def _first_undecided_row(self, start: int = 0) -> int | None:
        review = self.review
        if review is None or not review.queue:
            return None
        n = self.site_list.count()
        for offset in range(n):
            index = (start + offset) % n
            if self.site_list.item(index).isHidden():
                continue
            site_id = int(self.site_list.item(index).data(SITE_ROLE))
            site = review.site(site_id)
            if site is not None and not site.decided and site_id not in self._decided:
                return index
        return None

    def select_site(self, site_id: int) -> None:
        row = self._row_of(site_id)
        if row is not None:
            self.site_list.setCurrentRow(row)
            self.site_list.scrollToItem(self.site_list.item(row))

    def _on_frame_shown(self, index: int, _pts_s: float) -> None:
        if self.current_site() is None and index != self._player_rest_frame:
            self._player_moved = True  # no site of the list took the player there: the reviewer did

    def _on_current_site(self, *_args: object) -> None:
        site = self.current_site()
        if not self._moving:  # the reviewer's choice (the panel's own moves keep it)
            self._chosen = _site_key(site)
        self._player_moved, self._player_rest_frame = False, self.document.current_frame
        if self.site_list.currentItem() is not None:
            self.site_list.scrollToItem(self.site_list.currentItem())
        self._fill_grid(site)
        self._update_buttons()
        if site is not None:
            self._show_site(site)

    def _show_site(self, site: SiteSummary) -> None:
        """The player goes to the site's best sighting; the next sites' frames are decoded
        ahead meanwhile."""
        self.document.request_detection(site.best_frame, site.best_detection_id)
        self.document.prefetch_frames(self._frames_next())

    def _frames_next(self) -> list[int]:
        """The best frames of the sites a reviewer goes to next: the listed ones below the
        current row, nearest first, then the one above it."""
        row, review = self.site_list.currentRow(), self.review
        if row < 0 or review is None:
            return []
        listed = self.site_list
        # only as far as the rows wanted: a long list is not walked at every site shown
        below = list(itertools.islice((index for index in range(row + 1, listed.count())
                                       if not listed.item(index).isHidden()), self.FRAMES_AHEAD))
        above = list(itertools.islice((index for index in range(row - 1, -1, -1)
                                       if not listed.item(index).isHidden()), 1))
        frames = []
        for index in (*below, *above):
            site = review.site(int(self.site_list.item(index).data(SITE_ROLE)))
            if site is not None:
                frames.append(site.best_frame)
        return frames

    def _on_stepped(self, changes: object, redone: bool = False) -> None:
        """An undo or a redo: the list goes to the site it changed (a reviewer takes back
        what they just did, and sees it), now where its row is shown, else once the list
        is read again; a decision made since the list was read is unmarked at once. A redo
        that decides its sites again goes on to the next site to decide, as the key did
        (left on the site decided, listed last once read again, the next key acted on it
        again)."""
        review = self.review
        ids = getattr(changes, "detection_ids", frozenset())
        if review is None or not ids:
            return
        touched = Counter(site.site_id for i in ids if (site := review.site_of_detection(i)) is not None)
        if not touched:
            return
        # every site the step changed (one decision on several sites is one step), the one
        # with the most sightings changed current
        sites = [s for site_id, _ in touched.most_common() if (s := review.site(site_id)) is not None]
        if not sites:
            return
        if redone and (decided := self._decisions_now(sites)) is not None:
            said, rejected = decided
            self._also_select = []
            self._mark_decided_and_move_on(sites, said, rejected)
            return
        site = sites[0]
        unmarked = False
        for changed in sites:
            at = self._row_of(changed.site_id)
            if at is not None and self._decided.pop(changed.site_id, None) is not None:
                row = self.site_list.item(at)
                reason = next((item.reason for item in review.queue if item.site.site_id == changed.site_id), "")
                row.setText(self._row_text(changed, reason + self._survey_text(changed)))
                _mark_row(row, decided=changed.decided, rejected=changed.site_id in review.rejected)
                unmarked = True
        if unmarked:
            self._apply_row_filter(adjust_current=False)
        index = self._row_of(site.site_id)
        self._follow_key = _site_key(site)
        others = [key for other in sites[1:] if (key := _site_key(other)) is not None]
        self._also_select = others
        if index is not None and not self.site_list.item(index).isHidden():
            if index == self.site_list.currentRow():
                self._show_site(site)
            else:
                self.site_list.setCurrentRow(index)  # the player shows it (_on_current_site)
            self._select_also(review, others)
        self._update_summary()

    def _decisions_now(self, sites: list[SiteSummary]) -> tuple[dict[int, str], set[int]] | None:
        """How each of ``sites`` is decided as the project now stands (the list was read
        before the step), worded as the list words it, and the ones rejected as a whole;
        ``None`` when a sighting of one of them is still to decide."""
        ids = [s.detection_id for site in sites for s in site.sightings]
        now = self.document.store.detections_by_id(ids)
        said: dict[int, str] = {}
        rejected: set[int] = set()
        for site in sites:
            states = [now[s.detection_id] for s in site.sightings if s.detection_id in now]
            if not states or any(d.review is ReviewState.PENDING for d in states):
                return None
            if all(d.review is ReviewState.REJECTED for d in states):
                said[site.site_id] = ReviewState.REJECTED.value
                rejected.add(site.site_id)
            else:
                best = now.get(site.best_detection_id or -1, states[0])
                said[site.site_id] = f"accepted as {best.level.label}"
        return said, rejected

    def _select_also(self, review: SiteReview, keys: list[int]) -> None:
        """Add the shown rows of the sites of ``keys`` (detection ids) to the selection,
        the current row staying as it is: the sites an undone multi-site decision gave back
        are selected together again, for the next key to decide them all."""
        for key in keys:
            target = review.site_of_detection(key)
            at = self._row_of(target.site_id) if target is not None else None
            if at is not None and not self.site_list.item(at).isHidden():
                self.site_list.item(at).setSelected(True)

    def _on_row_clicked(self, row: QListWidgetItem) -> None:
        """A click on the row that was already current shows its site again (the player
        may have moved on since; a click on another row is :meth:`_on_current_site`'s)."""
        site = self.current_site()
        again = row is self._current_at_press is self.site_list.currentItem()
        if again and site is not None and self.document.is_open:
            self._show_site(site)

    def _on_current_tile(self, tile: QListWidgetItem | None, _previous: object = None) -> None:
        if tile is not None and not self.grid.focus_arriving:
            self.document.request_detection(int(tile.data(FRAME_ROLE)), int(tile.data(DETECTION_ROLE)))

    def _on_item_hovered(self, item: QListWidgetItem) -> None:
        """The pointer over a site row or a crop lights its site up on the map."""
        detection_id = item.data(DETECTION_ROLE)
        if detection_id is None and self.review is not None:
            site = self.review.site(int(item.data(SITE_ROLE)))
            detection_id = _site_key(site)
        if detection_id is not None:
            self.document.request_highlight(int(detection_id))
        frame = item.data(FRAME_ROLE)
        if frame is not None and detection_id is not None:  # a crop: the player goes there too
            self._hovered = (int(frame), int(detection_id))
            self._hover_timer.start()

    def _seek_hovered(self) -> None:
        if self._hovered is not None and self.document.is_open:
            frame, detection_id = self._hovered
            self.document.request_detection(frame, detection_id)

    def _on_pointer_left(self) -> None:
        self._hover_timer.stop()
        self._hovered = None
        self.document.request_highlight(None)

    def _on_selection_changed(self, detection_id: object) -> None:
        """A detection selected anywhere (frame view, table, map) selects its site."""
        if self.review is None or not isinstance(detection_id, int):
            return
        site = self.review.site_of_detection(detection_id)
        current = self.current_site()
        if site is not None and (current is None or current.site_id != site.site_id):
            # the reviewer's place from now (unless a view moved the selection as the threshold
            # hid its row): a rebuild after an edit made there, in the table or the frame view,
            # keeps the list on it, and never sends the player back to the site listed before
            if not self.document.following_threshold:
                self._chosen = _site_key(site)
            self.site_list.blockSignals(True)
            self.select_site(site.site_id)
            self.site_list.blockSignals(False)
            self._fill_grid(site)
            self._update_buttons()

    def _update_buttons(self) -> None:
        site = self.current_site()
        has_site = self.document.session is not None and site is not None
        rejected = has_site and self._is_rejected(site)
        for name, button in self.buttons.items():
            if name in ("next", "previous"):
                button.setEnabled(any(not row.isHidden() for row, _, _ in self._rows))
            else:  # a rejected site is on no map: split or merged, it would be nowhere
                button.setEnabled(has_site and not (rejected and name in ("split", "merge")))

        selected = self.selected_sites()
        text, tip = accept_wording(selected if len(selected) > 1 else [site] if site is not None else [])
        accept = self.buttons["accept"]
        assert isinstance(accept, FittingButton)
        accept.set_texts(*accept_wordings(text))
        self.buttons["accept"].setToolTip(tip)

    def _is_rejected(self, site: SiteSummary | None) -> bool:
        """Whether ``site`` is one a reviewer rejected as a whole (listed, on no map)."""
        return site is not None and self.review is not None and site.site_id in self.review.rejected

    # ------------------------------------------------------------------ actions
    def trigger(self, name: str) -> None:
        """Run one of the panel's actions by name (see :data:`KEYS`)."""
        try:
            if name == "next":
                self.step(1)
            elif name == "previous":
                self.step(-1)
            elif name == "accept":
                self.decide(ReviewState.ACCEPTED)
            elif name == "reject":
                self.decide(ReviewState.REJECTED)
            elif name in ("slight", "severe", "debris"):
                self.decide(DamageLevel.parse(name))
            elif name == "split":
                self.split()
            elif name == "merge":
                self.merge()
        except Exception as exc:  # noqa: BLE001 - every refusal is shown, none crashes the window
            show_error(self, exc, title="Edit refused")

    def step(self, delta: int) -> None:
        """Go to the next (``delta`` 1) or previous (-1) site shown."""
        n = self.site_list.count()
        row = self.site_list.currentRow()
        index = row if row >= 0 else (-1 if delta > 0 else n)
        while 0 <= index + delta < n:
            index += delta
            if not self.site_list.item(index).isHidden():
                self.site_list.setCurrentRow(index)
                return

    def decide(self, decision: ReviewState | DamageLevel) -> None:
        """Accept, reject or relabel the current site, or every selected site when
        several are, as one undoable edit; then go on to the next undecided site."""
        current = self.current_site()
        if current is None or self.document.session is None:
            return
        selected = self.selected_sites()
        sites = selected if len(selected) > 1 and current in selected else [current]
        from services.sites import decision_step

        changing = [s for s in sites if not s.holds(decision)]  # deciding a site again: no empty undo step
        sightings = counted(sum(len(s.sightings) for s in changing), "sighting")
        named = f"site #{changing[0].site_id}" if len(changing) == 1 else counted(len(changing), "site")
        if isinstance(decision, DamageLevel):
            verb = f"Relabel {named} as {decision.label}"
        elif decision is ReviewState.ACCEPTED and len(changing) == 1 and len(changing[0].level_votes()) > 1:
            # accepting a site whose sightings disagree relabels them to its level
            # (core.sites.site_decision): named as the reopened history names it
            verb = f"Relabel {named} as {changing[0].level.label}"
        else:
            verb = ("Accept" if decision is ReviewState.ACCEPTED else "Reject") + f" {named}"

        def mark(site: SiteSummary) -> str:  # as the list says it once the map is rebuilt
            if isinstance(decision, DamageLevel):
                return f"accepted as {decision.label}"
            return f"accepted as {site.level.label}" if decision is ReviewState.ACCEPTED else decision.value
        edit = decision_step(sites, decision)  # the step `damagemap review` makes too
        if edit is not None:
            self.document.apply_edit(edit, f"{verb} ({sightings})")
            self.document.notice.emit(decision_notice(changing, decision) + undo_hint())
        else:
            said = f"accepted as {decision.label}" if isinstance(decision, DamageLevel) else decision.value
            self.document.notice.emit(f"Site #{current.site_id} is {said} already" if len(sites) == 1
                                      else f"The {len(sites)} sites are {said} already")
        rejected = {s.site_id for s in sites} if decision is ReviewState.REJECTED else set()
        self._mark_decided_and_move_on(sites, {s.site_id: mark(s) for s in sites}, rejected)

    def _mark_decided_and_move_on(self, sites: list[SiteSummary], said: dict[int, str], rejected: set[int]) -> None:
        """Mark the rows of ``sites`` decided at once (``said``: site id -> the decision as
        the list words it once read again; ``rejected``: the sites rejected as a whole) and
        go on to the next site to decide after them: what a decision does, and its redo."""
        rows = []
        for site in sites:
            self._decided[site.site_id] = said[site.site_id]
            index = self._row_of(site.site_id)
            if index is not None:
                rows.append(index)
                row = self.site_list.item(index)
                row.setText(row.text().split("\n")[0] + f"\ndecided: {said[site.site_id]}")
                _mark_row(row, decided=True, rejected=site.site_id in rejected)
        self._update_summary()
        self.disputed_changed.emit()
        following = self._first_undecided_row(max(rows, default=self.site_list.currentRow()) + 1)
        if following is not None:
            self.site_list.setCurrentRow(following)  # the selection becomes that one site
            nxt = self.current_site()
            self._follow_key = _site_key(nxt)
        if not self.show_decided.isChecked():
            for index in rows:
                self.site_list.item(index).setHidden(True)
            if following is None:  # every site decided and hidden: no key may act on one not shown
                self.site_list.setCurrentRow(-1)
                self._update_summary()
                self._update_buttons()

    def split(self) -> None:
        """The crops selected in the grid become a site of their own."""
        from core.review import RegroupSite

        site = self.current_site()
        if site is None or self.document.run_id is None:
            return
        if self._is_rejected(site):
            self.document.notice.emit(f"Split: site #{site.site_id} is rejected; accept it (A) to split it")
            return
        # a crop stands for its look: the hover's frames and the other boxes on the damage there
        members = crop_sightings(site, crops_to_show(site, self.GRID_SIZE))
        picked = [int(tile.data(DETECTION_ROLE)) for tile in self.grid.selectedItems()]
        chosen = tuple(dict.fromkeys(i for crop in picked for i in members.get(crop, (crop,))))
        if not chosen:
            self.document.notice.emit("Split: select the crops that are another damage (Shift+arrows or Ctrl+click)")
            return
        if len(chosen) >= len(site.sightings):
            self.document.notice.emit("Split: the crops selected are the whole site; leave out the ones that are "
                                      "this damage")
            return
        best = max((s for s in site.sightings if s.detection_id in chosen), key=lambda s: s.score)
        self._follow_key = best.detection_id  # the split-off site's best: the threshold keeps it longest
        self.document.apply_edit(RegroupSite(self.document.run_id, "split", chosen),
                                 f"Split {len(chosen)} sightings off site #{site.site_id}")
        self.document.notice.emit(f"Split {counted(len(chosen), 'sighting')} off site #{site.site_id} into a site "
                                  f"of their own" + undo_hint())

    def merge(self) -> None:
        """Merge the selected sites into one; with one selected, with its nearest site."""
        from core.review import RegroupSite

        sites = self.selected_sites()
        current = self.current_site()
        rejected = [s for s in (*sites, current) if self._is_rejected(s)]
        if rejected:
            self.document.notice.emit(f"Merge: site #{rejected[0].site_id} is rejected; accept it (A) to merge it")
            return
        if len(sites) < 2 and current is not None and self.review is not None:
            others = [s for s in self.review.sites if s.site_id != current.site_id]
            if not others:
                return
            nearest = min(others, key=lambda s: distance_m(current.lon_deg, current.lat_deg, s.lon_deg, s.lat_deg))
            apart = distance_m(current.lon_deg, current.lat_deg, nearest.lon_deg, nearest.lat_deg)
            if apart > MERGE_NEAREST_MAX_M:  # another building: never merged without being chosen
                self.document.notice.emit(
                    f"Merge: no site within {MERGE_NEAREST_MAX_M:g} m of #{current.site_id} (the nearest, "
                    f"#{nearest.site_id}, is {apart:.0f} m away); select the sites to merge in the list "
                    "(Shift+Down) and press M")
                return
            sites = [current, nearest]
        if len(sites) < 2 or self.document.run_id is None:
            return
        ids = tuple(i for s in sites for i in s.detection_ids)
        # its best sighting: one the threshold keeps as long as it keeps the merged site
        self._follow_key = max((g for s in sites for g in s.sightings), key=lambda g: g.score).detection_id
        names = ", ".join(f"#{s.site_id}" for s in sites)
        self.document.apply_edit(RegroupSite(self.document.run_id, "merge", ids), f"Merge sites {names}")
        self.document.notice.emit(f"Merged sites {names} into one ({counted(len(ids), 'sighting')})" + undo_hint())


__all__ = ["KEYS", "MERGE_NEAREST_MAX_M", "SiteReviewPanel", "crop_pixmap"]
