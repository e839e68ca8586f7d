"""The strip under the video: damage per frame by level, analysed range, review state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.overlay import OverlayStyle, level_colour
from core.types import DamageLevel, Detection, ReviewState


@dataclass(slots=True)
class FrameSummary:
    """What the timeline shows for one analysed frame."""

    per_level: dict[DamageLevel, int] = field(default_factory=dict)
    pending: int = 0
    accepted: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return sum(self.per_level.values())


def summarise(detections: Iterable[Detection], style: OverlayStyle) -> FrameSummary:
    """Count one frame's visible detections by level and review state."""
    summary = FrameSummary()
    for det in detections:
        if det.review is ReviewState.ACCEPTED:
            summary.accepted += 1
        elif det.review is ReviewState.REJECTED:
            summary.rejected += 1
        else:
            summary.pending += 1
        if style.visible(det):
            summary.per_level[det.level] = summary.per_level.get(det.level, 0) + 1
    return summary


_ANALYSED = QColor(70, 110, 160)
#: an analysed frame too dark, uniform or blurred to count as a look (core.frame_quality)
_UNUSABLE = QColor(190, 140, 40)
_NOT_ANALYSED = QColor(45, 45, 45)
_REVIEW_COLOURS = {
    "accepted": QColor(60, 180, 90),
    "rejected": QColor(200, 60, 60),
    "pending": QColor(150, 150, 150),
}


class TimelineWidget(QWidget):
    """Damage bars per frame; click or drag to seek.

    Signals
    -------
    seek_requested(int)
        The frame index under the mouse.
    """

    seek_requested = Signal(int)

    BAR_HEIGHT = 34
    ANALYSED_HEIGHT = 5
    REVIEW_HEIGHT = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame_count = 0
        self._current = 0
        self._summaries: dict[int, FrameSummary] = {}
        #: the style every summary was made in (:meth:`summarise_frames`), None when unknown
        self._summarised_in: OverlayStyle | None = None
        self._unusable: dict[int, str] = {}
        self._bars: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.BAR_HEIGHT + self.ANALYSED_HEIGHT + self.REVIEW_HEIGHT + 4)
        self.setToolTip("Damage per frame (by level), analysed range (blue; amber: too dark, uniform or blurred to "
                        "count as a look at the ground) and review state; click to seek")
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(600, self.minimumHeight())

    @property
    def frame_count(self) -> int:
        return self._frame_count

    def set_frame_count(self, frame_count: int) -> None:
        self._frame_count = max(0, frame_count)
        self._bars = None
        self.update()

    def set_current_frame(self, index: int) -> None:
        if index != self._current:
            self._current = index
            self.update()

    def set_summaries(self, summaries: Mapping[int, FrameSummary]) -> None:
        self._summaries = dict(summaries)
        self._summarised_in = None
        self._bars = None
        self.update()

    def update_summaries(self, summaries: Mapping[int, FrameSummary]) -> None:
        self._summaries.update(summaries)
        self._summarised_in = None
        self._bars = None
        self.update()

    def summarise_frames(self, frames: Mapping[int, Sequence[Detection]], style: OverlayStyle) -> None:
        """Every analysed frame's bar, from its detections (``frames``) in ``style``.

        When the bars are of these frames, made in a style that differs from ``style``
        only in the detections it hides (a decision changes which box of a site is its
        second), only the frames holding those are summarised again: on a long flight,
        summarising every frame at every decision held the GUI thread a tenth of a second."""
        before = self._summarised_in
        if (before is None or frames.keys() != self._summaries.keys()
                or replace(before, hidden_ids=style.hidden_ids) != style):
            self.set_summaries({index: summarise(detections, style) for index, detections in frames.items()})
        else:
            flipped = before.hidden_ids ^ style.hidden_ids
            again = {index: summarise(detections, style) for index, detections in frames.items()
                     if flipped and any(d.id in flipped for d in detections)}
            if again:
                self.update_summaries(again)
        self._summarised_in = style

    def summarise_some(self, frames: Mapping[int, Sequence[Detection]], style: OverlayStyle) -> None:
        """The bars of ``frames`` (changed detections, or newly analysed frames) in ``style``."""
        kept = self._summarised_in if self._summarised_in == style else None
        self.update_summaries({index: summarise(detections, style) for index, detections in frames.items()})
        self._summarised_in = kept

    def set_unusable(self, frames: Mapping[int, str]) -> None:
        """Analysed frames that did not count as a look at the ground (index -> why):
        their stretch of the analysed band is drawn amber."""
        if dict(frames) != self._unusable:
            self._unusable = dict(frames)
            self._bars = None
            self.update()

    def unusable_reason(self, index: int) -> str | None:
        """Why frame ``index`` did not count as a look (``"blurred"``, ...), or ``None``."""
        return self._unusable.get(index)

    def summary(self, index: int) -> FrameSummary | None:
        return self._summaries.get(index)

    def frame_at_x(self, x: float) -> int:
        if self._frame_count <= 0:
            return 0
        fraction = min(max(x / max(1, self.width()), 0.0), 1.0)
        return min(self._frame_count - 1, int(fraction * self._frame_count))

    def x_of_frame(self, index: int) -> float:
        if self._frame_count <= 0:
            return 0.0
        return (index + 0.5) * self.width() / self._frame_count

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        if self._bars is None or self._bars.size() != self.size():
            self._bars = self._render_bars()
        painter.drawPixmap(0, 0, self._bars)
        if self._frame_count > 0:
            cursor_x = self.x_of_frame(self._current)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(int(cursor_x), 0, int(cursor_x), self.height())

    def _render_bars(self) -> QPixmap:
        """Bars, analysed band and review band, cached until data or size change.

        The cursor moves every frame during playback; the bars do not, so they are
        drawn once into a pixmap. With more frames than pixels each column shows the
        busiest frame under it.
        """
        pixmap = QPixmap(self.size())
        pixmap.fill(QColor(32, 32, 32))
        if self._frame_count <= 0 or self.width() <= 0:
            return pixmap
        painter = QPainter(pixmap)
        width = self.width()
        per_frame = width / self._frame_count
        bar_w = max(1.0, per_frame)
        top_analysed = self.BAR_HEIGHT + 1
        top_review = top_analysed + self.ANALYSED_HEIGHT + 1
        painter.fillRect(QRectF(0, top_analysed, width, self.ANALYSED_HEIGHT), _NOT_ANALYSED)
        peak = max((s.total for s in self._summaries.values()), default=0) or 1
        # one summary per pixel column: the busiest frame there
        columns: dict[int, tuple[int, FrameSummary]] = {}
        for index, summary in self._summaries.items():
            column = int(index * per_frame)
            held = columns.get(column)
            if held is None or summary.total > held[1].total or (summary.pending and not held[1].pending):
                columns[column] = (index, summary)
        for index, summary in columns.values():
            x = index * per_frame
            painter.fillRect(QRectF(x, top_analysed, bar_w, self.ANALYSED_HEIGHT),
                             _UNUSABLE if index in self._unusable else _ANALYSED)
            y = float(self.BAR_HEIGHT)
            for level in DamageLevel:
                count = summary.per_level.get(level, 0)
                if count:
                    h = self.BAR_HEIGHT * count / peak
                    y -= h
                    painter.fillRect(QRectF(x, y, bar_w, h), level_colour(level))
            if summary.accepted + summary.rejected + summary.pending:
                key = "pending" if summary.pending else ("rejected" if summary.rejected > summary.accepted else "accepted")
                painter.fillRect(QRectF(x, top_review, bar_w, self.REVIEW_HEIGHT), _REVIEW_COLOURS[key])
        painter.end()
        return pixmap

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self.seek_requested.emit(self.frame_at_x(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.seek_requested.emit(self.frame_at_x(event.position().x()))
