"""The video frame with its damage overlays, zoom and pan, and mask editing.

:class:`FrameView` is a :class:`QGraphicsView` whose scene is in image pixels: the frame
item sits at the origin with scale 1, so a scene point *is* a pixel coordinate and
polygons edited on screen go to the store without conversion.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np
from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.overlay import MaskLayer, MaskLayerCache, OverlayStyle, level_colour, render_mask_layer
from core.types import DamageLevel, Detection, ReviewState, frame_number

_MAX_EDIT_VERTICES = 24


def image_to_qimage(image: np.ndarray) -> QImage:
    """An ``uint8[H, W, 3]`` RGB array as an RGB32 QImage that owns its pixels.

    RGB32 is what QPainter scales fastest (about five times faster than RGB888).
    """
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    return QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888).convertToFormat(
        QImage.Format.Format_RGB32
    )


class EditMode(enum.Enum):
    SELECT = "select"
    DRAW = "draw"


class FrameItem(QGraphicsItem):
    """Paints the frame, the cached mask layer, boxes and labels of one frame."""

    def __init__(self) -> None:
        super().__init__()
        self._image = QImage()
        self._mask_layer: MaskLayer | None = None
        self._detections: list[Detection] = []
        self._style = OverlayStyle()
        self._selected_id: int | None = None
        self._font = QFont()
        self._font.setPixelSize(12)
        self._font.setBold(True)

    def set_content(
        self,
        image: QImage,
        detections: Sequence[Detection],
        mask_layer: MaskLayer | None,
        style: OverlayStyle,
        selected_id: int | None,
    ) -> None:
        if image.size() != self._image.size():
            self.prepareGeometryChange()
        self._image = image
        self._detections = list(detections)
        self._mask_layer = mask_layer
        self._style = style
        self._selected_id = selected_id
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, max(1, self._image.width()), max(1, self._image.height()))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        painter.drawImage(0, 0, self._image)
        style = self._style
        if style.show_masks and self._mask_layer is not None:
            painter.drawImage(self._mask_layer.x_px, self._mask_layer.y_px, self._mask_layer.image)
        scale = painter.worldTransform().m11() or 1.0
        line = max(1.0, 1.5 / scale)  # about 1.5 screen pixels whatever the zoom
        font = QFont(self._font)
        font.setPixelSize(max(4, round(12 / scale)))
        painter.setFont(font)
        placed: list[QRectF] = []
        chosen = next((d for d in self._detections if d.id is not None and d.id == self._selected_id
                       and style.visible(d)), None)
        if chosen is not None and style.show_labels:  # its vertex handles: no other label goes under them
            reach = (_VertexHandle.RADIUS + 1) / scale
            placed.append(_rect(chosen.box_xyxy_px).adjusted(-reach, -reach, reach, reach))
        # Labels of the most confident first, so crowding hides the least useful ones' place;
        # every box is drawn before any label, so that no box's line runs through a label's text.
        shown = [det for det in sorted(self._detections, key=lambda d: -d.final_score) if style.visible(det)]
        for det in shown:
            colour = level_colour(det.level)
            selected = det.id is not None and det.id == self._selected_id
            if style.show_building_boxes and det.building_box_xyxy_px is not None:
                pen = QPen(QColor(120, 180, 255), line, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(_rect(det.building_box_xyxy_px))
            if style.show_boxes or selected:
                pen = QPen(QColor(255, 255, 255) if selected else colour, line * (2 if selected else 1))
                if det.review is ReviewState.REJECTED:
                    pen.setStyle(Qt.PenStyle.DotLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                # the selection's white frame goes round the box, not over its edges: on a small
                # damage at a laptop's zoom (12 screen pixels) its 3-pixel lines covered half of it
                margin = 2 * line if selected else 0.0
                painter.drawRect(_rect(det.box_xyxy_px).adjusted(-margin, -margin, margin, margin))
        if style.show_labels:
            for det in shown:
                selected = det.id is not None and det.id == self._selected_id
                self._paint_label(painter, det, level_colour(det.level), scale, placed, clear_of_handles=selected)

    def _paint_label(self, painter: QPainter, det: Detection, colour: QColor, scale: float, placed: list[QRectF],
                     *, clear_of_handles: bool = False) -> None:
        """A ``Level score`` tag above the box (below it, or stacked, where that is taken);
        ``clear_of_handles``: the selected outline's vertex handles sit on the box's edges,
        so its tag keeps a handle's width away from them."""
        mark = {ReviewState.ACCEPTED: " ✓", ReviewState.REJECTED: " ✗", ReviewState.PENDING: ""}[det.review]
        text = f"{det.level.label} {det.final_score:.2f}{mark}"
        metrics = painter.fontMetrics()
        pad = 2 / scale
        width = metrics.horizontalAdvance(text) + 2 * pad
        height = metrics.height() + 2 * pad
        gap = (_VertexHandle.RADIUS + 1) / scale if clear_of_handles else 0.0
        rect = label_rect(det.box_xyxy_px, width, height, self._image.width(), self._image.height(), placed, gap=gap)
        if rect is None:
            return  # no free place near the box: the box and the table still show it
        placed.append(rect)
        painter.fillRect(rect, QColor(colour.red(), colour.green(), colour.blue(), 210))
        painter.setPen(QColor(0, 0, 0))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def label_rect(box: Sequence[float], width: float, height: float, frame_width: float, frame_height: float,
               placed: Sequence[QRectF], *, gap: float = 0.0) -> QRectF | None:
    """Where a box's label goes: above it, else below it or stacked below, ``gap`` away
    from it, on the frame (a box at the frame's right edge has its label moved left, not
    cut) and clear of the labels ``placed``; ``None`` when no such place is free."""
    left = max(0.0, min(float(box[0]), frame_width - width))
    for top in [box[1] - height - gap, box[3] + gap] + [box[3] + gap + k * height for k in range(1, 4)]:
        if top < 0 or top + height > frame_height:
            continue  # labels stay on the frame
        trial = QRectF(left, top, width, height)
        if not any(trial.intersects(other) for other in placed):
            return trial
    return None


def _rect(box: Sequence[float]) -> QRectF:
    x1, y1, x2, y2 = box
    return QRectF(x1, y1, x2 - x1, y2 - y1)


class _VertexHandle(QGraphicsEllipseItem):
    """A draggable vertex; it keeps its size on screen whatever the zoom. Drawn only while
    the pointer is over the outline (:meth:`EditablePolygonItem.show_handles`): on a small
    mask, a frame shown at half size on a laptop, the handles would hide the damage the
    reviewer is judging. Undrawn, it still takes a press on its vertex."""

    RADIUS = 4.0

    def __init__(self, editor: EditablePolygonItem, index: int, pos: QPointF) -> None:
        r = self.RADIUS
        super().__init__(-r, -r, 2 * r, 2 * r, editor)
        self._editor = editor
        self.index = index
        self.setPos(pos)
        self.setBrush(QBrush(QColor(255, 255, 255, 200)))
        self.setPen(QPen(QColor(0, 0, 0), 1))
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
            | QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
        )
        self.setCursor(Qt.CursorShape.SizeAllCursor)
        self.setZValue(2)
        self.setOpacity(0.0)
        self.setAcceptHoverEvents(True)

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._editor.show_handles(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._editor.show_handles(self._editor.isUnderMouse())
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._editor.show_handles(True)  # a press with no move before it (a tablet) shows them too
        super().mousePressEvent(event)

    def itemChange(self, change, value):  # noqa: N802 (Qt API)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._editor.move_vertex(self.index, self.pos())
        return super().itemChange(change, value)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().mouseReleaseEvent(event)
        self._editor.commit()


class EditablePolygonItem(QGraphicsPolygonItem):
    """The outline of the selected mask: drag a vertex to reshape, the inside to move."""

    def __init__(self, view: FrameView, detection_id: int, points_xy: np.ndarray, colour: QColor) -> None:
        super().__init__(QPolygonF([QPointF(float(x), float(y)) for x, y in points_xy]))
        self._view = view
        self.detection_id = detection_id
        self._start_points = np.asarray(points_xy, dtype=np.float64)
        self._outline_pen = QPen(QColor(255, 255, 255), 2)
        self._outline_pen.setCosmetic(True)
        self.setPen(QPen(Qt.PenStyle.NoPen))  # drawn with the handles (show_handles)
        self.setBrush(QBrush(QColor(colour.red(), colour.green(), colour.blue(), 40)))
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
        )
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setZValue(1)
        self.setAcceptHoverEvents(True)
        self.handles = [_VertexHandle(self, i, QPointF(float(x), float(y))) for i, (x, y) in enumerate(points_xy)]

    @property
    def handles_shown(self) -> bool:
        return bool(self.handles) and self.handles[0].opacity() > 0.0

    def show_handles(self, shown: bool) -> None:
        """Draw the vertex handles and the white outline (the pointer is over the outline)
        or not: the selected box's white frame says which detection is selected, and the
        outline's white line over a small mask hid the damage being judged."""
        for handle in self.handles:
            handle.setOpacity(1.0 if shown else 0.0)
        self.setPen(self._outline_pen if shown else QPen(Qt.PenStyle.NoPen))

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.show_handles(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.show_handles(any(handle.isUnderMouse() for handle in self.handles))
        super().hoverLeaveEvent(event)

    def move_vertex(self, index: int, pos: QPointF) -> None:
        polygon = self.polygon()
        polygon[index] = pos
        self.setPolygon(polygon)

    def scene_points(self) -> np.ndarray:
        """Vertices in image pixels, ``float[N, 2]`` ``(x, y)``."""
        polygon = self.mapToScene(self.polygon())
        return np.array([[p.x(), p.y()] for p in polygon], dtype=np.float64)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().mouseReleaseEvent(event)
        self.commit()

    def commit(self) -> None:
        """Announce the new outline, after the mouse event that ended the drag.

        The edit makes the view rebuild this very item; doing that inside the item's own
        mouse handler would delete it while Qt still dispatches to it.
        """
        points = self.scene_points()
        if points.shape == self._start_points.shape and np.allclose(points, self._start_points, atol=0.25):
            return
        self._start_points = points
        view, detection_id = self._view, self.detection_id
        QTimer.singleShot(0, view, lambda: view.mask_edited.emit(detection_id, points))


def editable_outline(detection: Detection) -> np.ndarray | None:
    """The largest outer contour of a detection's mask, thinned for hand editing."""
    if detection.mask is None:
        x1, y1, x2, y2 = detection.box_xyxy_px
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)
    polygons = detection.mask.to_polygons()
    if not polygons:
        return None
    outline = max(polygons, key=lambda p: _polygon_area(p))
    if len(outline) <= 4:
        return outline
    import cv2  # lazy: only editing needs it

    # Douglas-Peucker from 1 % of the perimeter (a pixel staircase becomes a straight
    # edge), coarser until few enough handles to grab one by one.
    contour = outline.astype(np.float32).reshape(-1, 1, 2)
    epsilon = max(1.0, 0.01 * cv2.arcLength(contour, True))
    simplified = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2)
    while len(simplified) > _MAX_EDIT_VERTICES:
        epsilon *= 1.5
        simplified = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2)
    return simplified.astype(np.float64) if len(simplified) >= 3 else outline


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


class FrameView(QGraphicsView):
    """Shows one frame with overlays; zoom with the wheel, pan by dragging.

    Signals
    -------
    detection_clicked(int)
        A visible detection was clicked (``-1`` for empty space).
    mask_edited(int, object)
        The selected mask's outline was reshaped or moved: detection id and the new
        ``float[N, 2]`` vertices in image pixels.
    polygon_drawn(object)
        A new outline was drawn in draw mode: ``float[N, 2]`` vertices.
    """

    detection_clicked = Signal(int)
    mask_edited = Signal(int, object)
    polygon_drawn = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(24, 24, 24))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setMinimumSize(320, 180)
        self._frame_item = FrameItem()
        self.scene().addItem(self._frame_item)
        self._mask_cache = MaskLayerCache()
        self._style = OverlayStyle()
        self._frame_index = -1
        self._image = QImage()
        self._detections: list[Detection] = []
        self._selected_id: int | None = None
        self._editor: EditablePolygonItem | None = None
        self._mode = EditMode.SELECT
        self._draft: list[QPointF] = []
        self._draft_item: QGraphicsPathItem | None = None
        self._draw_level = DamageLevel.SEVERE
        self._fit = True
        self._press_pos: QPointF | None = None
        self._loading_frame: int | None = None
        #: said over the frame, dimmed, while the next one is decoded (:meth:`set_loading`)
        self.loading_label = QLabel(self.viewport())
        self.loading_label.setStyleSheet("QLabel { background: rgba(0, 0, 0, 170); color: white; padding: 3px 6px; }")
        self.loading_label.move(6, 6)
        self.loading_label.hide()

    # -- content ------------------------------------------------------------------
    @property
    def frame_index(self) -> int:
        return self._frame_index

    @property
    def style(self) -> OverlayStyle:
        return self._style

    @property
    def detections(self) -> list[Detection]:
        return list(self._detections)

    @property
    def selected_id(self) -> int | None:
        return self._selected_id

    @property
    def loading_frame(self) -> int | None:
        """The frame being decoded to show next (the one shown is dimmed), or ``None``."""
        return self._loading_frame

    def set_loading(self, frame_index: int | None, *, opening_video: bool = False) -> None:
        """Say that ``frame_index`` is being decoded (``opening_video``: that its video is
        being opened first): the frame shown stays, with its own overlays, dimmed under a
        "loading" note, until :meth:`show_frame` shows the next."""
        self._loading_frame = frame_index
        loading = frame_index is not None
        self._frame_item.setOpacity(0.45 if loading else 1.0)
        if loading:
            self.loading_label.setText("opening the video…" if opening_video
                                       else f"loading frame {frame_number(frame_index)}…")
            self.loading_label.adjustSize()
        self.loading_label.setVisible(loading)
        self.viewport().update()  # the empty view's invitation to open a video goes or comes back

    def show_frame(self, frame_index: int, image: QImage, detections: Sequence[Detection]) -> None:
        """Display a frame and its detections (the mask layer comes from the cache)."""
        if self._loading_frame is not None:
            self.set_loading(None)
        size_changed = image.size() != self._image.size()
        self._frame_index = frame_index
        self._image = image
        self._detections = list(detections)
        if self._selected_id is not None and not any(d.id == self._selected_id for d in self._detections):
            self._selected_id = None
        self._refresh()
        if size_changed:
            self.scene().setSceneRect(self._frame_item.boundingRect())
            if self._fit:
                self.fit_to_window()

    def set_detections(self, detections: Sequence[Detection]) -> None:
        """Replace the current frame's detections after an edit (mask layer rebuilt)."""
        self._detections = list(detections)
        self._mask_cache.discard(self._frame_index)
        self._refresh()

    def invalidate_frames(self, frame_indices: Sequence[int] | None = None) -> None:
        """Forget cached mask layers (all of them when ``None``)."""
        if frame_indices is None:
            self._mask_cache.clear()
        else:
            for index in frame_indices:
                self._mask_cache.discard(index)

    def set_style(self, style: OverlayStyle) -> None:
        if style != self._style:
            self._style = style
            self._mask_cache.clear()
            self._refresh()

    def select_detection(self, detection_id: int | None) -> None:
        if detection_id == self._selected_id:
            return
        self._selected_id = detection_id
        self._mask_cache.discard(self._frame_index)
        self._refresh()

    def _mask_layer(self) -> MaskLayer | None:
        hit, layer = self._mask_cache.get(self._frame_index)
        if not hit:
            layer = render_mask_layer(
                self._detections, self._image.width(), self._image.height(), self._style, self._selected_id
            )
            self._mask_cache.put(self._frame_index, layer)
        return layer

    def _refresh(self) -> None:
        layer = self._mask_layer() if self._style.show_masks and not self._image.isNull() else None
        self._frame_item.set_content(self._image, self._detections, layer, self._style, self._selected_id)
        self._rebuild_editor()

    def _rebuild_editor(self) -> None:
        selected = next((d for d in self._detections if d.id == self._selected_id), None)
        if self._editor is not None:
            dragging = QApplication.mouseButtons() != Qt.MouseButton.NoButton
            if selected is not None and self._editor.detection_id == selected.id and dragging:
                return  # do not yank the outline away mid-drag
            self.scene().removeItem(self._editor)
            self._editor = None
        if selected is None or self._mode is EditMode.DRAW:
            return
        outline = editable_outline(selected)
        if outline is None or len(outline) < 3:
            return
        self._editor = EditablePolygonItem(self, int(selected.id), outline, level_colour(selected.level))
        self.scene().addItem(self._editor)

    @property
    def editor(self) -> EditablePolygonItem | None:
        return self._editor

    def render_to_image(self) -> QImage:
        """The frame with overlays at the frame's own resolution (for tests and export)."""
        image = QImage(self._image.size(), QImage.Format.Format_RGB32)
        image.fill(QColor(0, 0, 0))
        painter = QPainter(image)
        self.scene().render(painter, QRectF(image.rect()), self._frame_item.boundingRect())
        painter.end()
        return image

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt API)
        if self._frame_index >= 0 or self._loading_frame is not None:  # a frame, or a project's on its way
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(170, 170, 170))
        font = QFont()
        font.setPixelSize(16)
        painter.setFont(font)
        painter.drawText(
            self.viewport().rect(),
            Qt.AlignmentFlag.AlignCenter,
            "Open a drone video or a project (Ctrl+O), or drop one here",
        )
        painter.restore()

    # -- zoom and pan ----------------------------------------------------------------
    def fit_to_window(self) -> None:
        self._fit = True
        self.fitInView(self._frame_item.boundingRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float) -> None:
        self._fit = False
        self.scale(factor, factor)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._fit:
            self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps)
        event.accept()

    # -- drawing and picking -----------------------------------------------------------
    def set_mode(self, mode: EditMode, level: DamageLevel | None = None) -> None:
        self._mode = mode
        if level is not None:
            self._draw_level = level
        self._clear_draft()
        self.setDragMode(
            QGraphicsView.DragMode.NoDrag if mode is EditMode.DRAW else QGraphicsView.DragMode.ScrollHandDrag
        )
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if mode is EditMode.DRAW else Qt.CursorShape.ArrowCursor)
        self._rebuild_editor()

    @property
    def mode(self) -> EditMode:
        return self._mode

    @property
    def draw_level(self) -> DamageLevel:
        return self._draw_level

    def add_draft_point(self, point: QPointF) -> None:
        """Add a vertex to the outline being drawn (image pixels)."""
        self._draft.append(point)
        path = QPainterPath(self._draft[0])
        for p in self._draft[1:]:
            path.lineTo(p)
        if self._draft_item is None:
            self._draft_item = QGraphicsPathItem()
            pen = QPen(level_colour(self._draw_level), 2)
            pen.setCosmetic(True)
            self._draft_item.setPen(pen)
            self._draft_item.setZValue(3)
            self.scene().addItem(self._draft_item)
        self._draft_item.setPath(path)

    def finish_draft(self) -> None:
        """Close the outline being drawn and announce it (needs three vertices)."""
        points = np.array([[p.x(), p.y()] for p in self._draft], dtype=np.float64)
        self._clear_draft()
        if len(points) >= 3:
            self.polygon_drawn.emit(points)

    def _clear_draft(self) -> None:
        self._draft = []
        if self._draft_item is not None:
            self.scene().removeItem(self._draft_item)
            self._draft_item = None

    def detection_at(self, point: QPointF) -> Detection | None:
        """The smallest visible detection under an image point."""
        x, y = int(point.x()), int(point.y())
        hits = []
        for det in self._detections:
            if not self._style.visible(det):
                continue
            x1, y1, x2, y2 = det.box_xyxy_px
            if not (x1 <= x < x2 and y1 <= y < y2):
                continue
            if det.mask is not None and self._style.show_masks:
                if not det.mask.to_array()[min(y, det.mask.height_px - 1), min(x, det.mask.width_px - 1)]:
                    continue
            hits.append(det)
        if not hits:
            return None
        return min(hits, key=lambda d: (d.box_xyxy_px[2] - d.box_xyxy_px[0]) * (d.box_xyxy_px[3] - d.box_xyxy_px[1]))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._mode is EditMode.DRAW and event.button() == Qt.MouseButton.LeftButton:
            self.add_draft_point(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        self._press_pos = event.position()
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._mode is EditMode.DRAW:
            self.finish_draft()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        super().mouseReleaseEvent(event)
        if self._mode is not EditMode.SELECT or self._press_pos is None:
            return
        moved = (event.position() - self._press_pos).manhattanLength()
        self._press_pos = None
        if moved > 4 or event.button() != Qt.MouseButton.LeftButton:
            return
        under = self.itemAt(event.position().toPoint())
        if self._editor is not None and (under is self._editor or (under is not None and under.parentItem() is self._editor)):
            return  # a click on the outline being edited keeps the selection
        hit = self.detection_at(self.mapToScene(event.position().toPoint()))
        self.detection_clicked.emit(-1 if hit is None or hit.id is None else int(hit.id))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if self._mode is EditMode.DRAW and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_draft()
            return
        if self._mode is EditMode.DRAW and event.key() == Qt.Key.Key_Escape:
            self._clear_draft()
            return
        super().keyPressEvent(event)
