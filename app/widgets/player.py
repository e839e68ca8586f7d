"""Transport controls and playback clock for the frame view.

Playback follows the wall clock, not the timer: each tick shows the frame that is due
at ``start_frame + elapsed * fps * speed``, so a slow paint drops frames instead of
slowing the video down.
"""

from __future__ import annotations

import math

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QElapsedTimer, QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.status_bar import ElidedLabel
from app.widgets.keyboard_reach import reach_by_tab
from core.types import frame_number

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


def format_time(seconds: float) -> str:
    """``mm:ss.ss`` (or ``h:mm:ss.ss`` past an hour)."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"
    return f"{int(minutes):02d}:{secs:05.2f}"


def short_time(seconds: float, decimals: int) -> str:
    """``m:ss`` with ``decimals`` (0 or more) digits of the second, cut, not rounded (a
    time shown never passes the video's length): ``0:19.0``, ``0:19``; ``h:mm:ss.s`` past
    an hour."""
    seconds = max(0.0, seconds)
    scale = 10 ** decimals
    hours, rest = divmod(math.floor(seconds * scale + 1e-6) / scale, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs:0{3 + decimals if decimals else 2}.{decimals}f}"
    return f"{int(hours)}:{int(minutes):02d}:{secs_text}" if hours else f"{int(minutes)}:{secs_text}"


def parse_time(text: str) -> float:
    """Seconds from ``"12.5"``, ``"1:02.5"`` or ``"1:00:02"``; ValueError otherwise."""
    parts = text.strip().split(":")
    if not parts or len(parts) > 3 or any(not p.strip() for p in parts):
        raise ValueError(f"expected seconds, m:ss or h:mm:ss; got {text!r}")
    total = 0.0
    try:
        for part in parts:
            total = total * 60 + float(part)
    except ValueError:
        raise ValueError(f"expected seconds, m:ss or h:mm:ss; got {text!r}") from None
    if not math.isfinite(total) or total < 0:
        raise ValueError(f"expected a time >= 0; got {text!r}")
    return total


class TimeReadout(ElidedLabel):
    """The frame's time and the video's length, "00:19.00 / 00:20.00", in the longest form
    its width holds: "0:19.0 / 0:20.0", then "0:19 / 0:20" (its least width: both always
    read whole), the tooltip saying it whole. Cut to "00:19.00 / 00:2…" on a small or
    scaled laptop screen, the video's length could not be read. :meth:`text` is the whole.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        self._forms: tuple[str, ...] = ("",)
        super().__init__("", parent)
        self.set_times(0.0, 0.0)

    def set_times(self, pts_s: float, duration_s: float) -> None:
        self._forms = (f"{format_time(pts_s)} / {format_time(duration_s)}",
                       *(f"{short_time(pts_s, d)} / {short_time(duration_s, d)}" for d in (1, 0)))
        # the least width holds the shortest form of any time up to the length
        self._min_text = f"{short_time(duration_s, 0)} / {short_time(duration_s, 0)}"
        self.setToolTip(f"{self._forms[0]}: the frame's time / the video's length")
        self.setText(self._forms[0])

    def clear(self) -> None:
        self._forms, self._min_text = ("",), None
        self.setToolTip("")
        self.setText("")

    @property
    def shown(self) -> str:
        """The form shown now."""
        return QLabel.text(self)

    def _elide(self) -> None:
        forms = self._forms if self._forms[0] == self.text() else (self.text(),)
        room = self.width() - self._overhead()
        exact = QFontMetricsF(self.font())
        shown = next((form for form in forms if math.ceil(exact.horizontalAdvance(form)) + 1 <= room), None)
        if shown is None:
            shown = self.fontMetrics().elidedText(forms[-1], Qt.TextElideMode.ElideRight, max(0, room))
        if shown != QLabel.text(self):
            QLabel.setText(self, shown)


class TransportBar(QWidget):
    """Play/pause, frame step, slider, time, go-to-time and speed, on one row, or two
    where the width does not hold one (the readouts under the buttons and the slider).

    It owns the playback clock and emits ``seek_requested`` with the frame to show;
    whoever shows frames calls :meth:`set_position` back. A seek while playing holds the
    clock until that frame is shown (it may be decoded off the GUI thread, for a while):
    playback goes on from it then, rather than asking for later frames meanwhile, each
    a seek of its own that would never be shown in time.
    """

    #: The seek slider's least width (pixels): on a narrow window the frame's note is cut first,
    #: then the slider gives way to here (the timeline above it seeks too), then the time label's
    #: hundredths and tenths of a second, so that the window fits a 1024-pixel screen beside the Sites panel;
    #: narrower still, the readouts go on a second row (:meth:`_fit`).
    SLIDER_MIN_PX = 64

    seek_requested = Signal(int)
    time_requested = Signal(float)
    #: a time typed in the go-to box that cannot be read, said (for the status bar)
    time_refused = Signal(str)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame_count = 0
        self._fps = 25.0
        self._position = 0
        self._duration_s = 0.0
        self._pts_s = 0.0
        self._direction = 1
        self._speed = 1.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._clock_start_frame = 0
        #: the frame a seek while playing asked for, until it is shown (the clock waits for it)
        self._seeking_to: int | None = None

        style = self.style()
        self.play_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play/pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.first_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward), "First frame (Home)")
        self.first_button.clicked.connect(lambda: self.request(0))
        self.back_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward), "Previous frame (Left)")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), "Next frame (Right)")
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.last_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward), "Last frame (End)")
        self.last_button.clicked.connect(lambda: self.request(self._frame_count - 1))

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(self.SLIDER_MIN_PX)  # a narrow window shortens the labels, not the slider
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.setToolTip("Seek")

        # At their least, the labels keep "0:19 / 0:20" and "frame 1234 / 5678" whole, however many
        # digits are shown now (the window's least width changed as the video played, past a
        # 1024-pixel screen's edge once the frame had three digits)
        self.time_label = TimeReadout()
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frame_label = ElidedLabel("frame 0 / 0", min_text="frame 0000 / 0000 …")  # its note gives way
        self.goto_edit = QLineEdit()
        self.goto_edit.setPlaceholderText("go to m:ss")
        self.goto_edit.setMinimumWidth(self.goto_edit.fontMetrics().horizontalAdvance("go to m:ss") + 16)
        self.goto_edit.setMaximumWidth(90)
        self.goto_edit.setToolTip("Seek to a time: seconds, m:ss.s or h:mm:ss")
        self.goto_edit.returnPressed.connect(self._goto_time)
        self.speed_combo = QComboBox()
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.setToolTip("Playback speed (J/K/L)")
        self.speed_combo.currentIndexChanged.connect(lambda _: self.set_speed(self.speed_combo.currentData()))

        self._controls = (self.first_button, self.back_button, self.play_button, self.forward_button,
                          self.last_button, self.slider)
        #: what goes on a second row where one row does not fit (:meth:`_fit`)
        self._readouts = (self.time_label, self.frame_label, self.goto_edit, self.speed_combo)
        self._top_row = QHBoxLayout()
        self._bottom_row = QHBoxLayout()
        for row in (self._top_row, self._bottom_row):
            row.setContentsMargins(0, 0, 0, 0)
        for w in self._controls + self._readouts:
            self._top_row.addWidget(w, 1 if w is self.slider else 0)
        self._bottom_row.addStretch(1)  # the readouts, wrapped, stand at the right as on one row
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(self._top_row)
        layout.addLayout(self._bottom_row)
        self._wrapped = False
        self._loading = False
        self._lost = False
        self._tips = {control: control.toolTip() for control in (*self._controls, self.goto_edit)}

    # -- layout ---------------------------------------------------------------------
    @property
    def wrapped(self) -> bool:
        """Whether the time, frame, go-to box and speed stand on a second row."""
        return self._wrapped

    def _row_least_width(self, widgets: tuple[QWidget, ...]) -> int:
        """The least width of ``widgets`` side by side on one row, with the row's spacing."""
        spacing = max(0, self._top_row.spacing())
        widths = [w.minimumSizeHint().expandedTo(w.minimumSize()).width() for w in widgets]
        return sum(widths) + spacing * (len(widgets) - 1)

    def _one_row_least_width(self) -> int:
        margins = self.layout().contentsMargins()
        return self._row_least_width(self._controls + self._readouts) + margins.left() + margins.right()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """As narrow as the controls wrapped on two rows: on a small or scaled laptop screen
        (1280x800 at 150%: 853 logical pixels) one row of them, 550 px, beside the Sites
        panel did not fit, and the panel's Debris and Merge buttons fell off the screen."""
        margins = self.layout().contentsMargins()
        least = max(self._row_least_width(self._controls), self._row_least_width(self._readouts))
        return QSize(least + margins.left() + margins.right(), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self._fit()  # a label's least width grew with its numbers
        return super().event(event)

    def _fit(self) -> None:
        """One row where the width holds it, else the readouts on a second row."""
        wrap = self.width() < self._one_row_least_width()
        if wrap == self._wrapped:
            return
        self._wrapped = wrap
        for w in self._readouts:
            self._top_row.removeWidget(w)
            self._bottom_row.removeWidget(w)
        target = self._bottom_row if wrap else self._top_row
        for w in self._readouts:
            target.addWidget(w)
        self.updateGeometry()  # one row's height more or less

    @staticmethod
    def _button(icon, tip: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        reach_by_tab(button)  # Tab reaches it; a click leaves the focus where it was
        return button

    #: what the frame label and the controls say while the video is being opened
    LOADING_TEXT = "opening the video…"

    # -- state ----------------------------------------------------------------------
    #: what the frame label says once the video's frames cannot be shown any more
    LOST_TEXT = "the video changed"

    def set_loading(self) -> None:
        """No video yet: it is being opened (off the GUI thread). The controls are off and
        say why until :meth:`set_video`."""
        self.set_video(0, self._fps, 0.0)
        self.frame_label.setText(self.LOADING_TEXT)
        self._loading = True
        self._turn_off(f"not yet: {self.LOADING_TEXT}")

    def set_lost(self, why: str) -> None:
        """The video's frames cannot be shown any more (it was moved away or replaced since
        it was opened): the controls are off and their tooltips say ``why``, the frame label
        :attr:`LOST_TEXT`, until :meth:`set_video`."""
        self.pause()
        self._lost = True
        self.frame_label.setText(self.LOST_TEXT)
        self.frame_label.setToolTip(why)
        self._turn_off(f"not now: {why}")

    def _turn_off(self, why: str) -> None:
        for control in (*self._controls, self.goto_edit):
            control.setEnabled(False)
            control.setToolTip(f"{self._tips[control]} — {why}")

    @property
    def lost(self) -> bool:
        """Whether the video's frames cannot be shown any more (:meth:`set_lost`)."""
        return self._lost

    def set_video(self, frame_count: int, fps: float, duration_s: float) -> None:
        if self._loading or self._lost:
            self._loading = self._lost = False
            self.frame_label.setToolTip("")
            for control in (*self._controls, self.goto_edit):
                control.setEnabled(True)
                control.setToolTip(self._tips[control])
        self.pause()
        self._frame_count = max(0, frame_count)
        self._fps = fps if fps and math.isfinite(fps) and fps > 0 else 25.0
        self._duration_s = duration_s
        with _blocked(self.slider):
            self.slider.setRange(0, max(0, self._frame_count - 1))
        self.set_position(0, 0.0)

    def set_position(self, index: int, pts_s: float, note: str = "") -> None:
        """Show where the view is (called after a frame has been shown); ``note`` is
        said after the frame number (e.g. that the frame was not analysed)."""
        self._position = index
        if self._seeking_to is not None:  # the seek's frame (or one shown instead) is here: on from it
            self._seeking_to = None
            if self.is_playing:
                self._restart_clock(index)
        self._pts_s = pts_s
        with _blocked(self.slider):
            self.slider.setValue(index)
        if self._frame_count <= 0:
            self.time_label.clear()
            self.frame_label.setText("no video")
            return
        self.time_label.set_times(pts_s, self._duration_s)
        self.frame_label.setText(f"frame {frame_number(index)} / {self._frame_count}" + (f" · {note}" if note else ""))

    @property
    def position(self) -> int:
        return self._position

    @property
    def frame_count(self) -> int:
        return self._frame_count

    @property
    def loading(self) -> bool:
        """Whether the video is being opened (:meth:`set_loading`)."""
        return self._loading

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def direction(self) -> int:
        return self._direction

    @property
    def is_playing(self) -> bool:
        return self._timer.isActive()

    # -- commands ---------------------------------------------------------------------
    def request(self, index: int) -> None:
        """Seek to frame ``index``; while playing, playback goes on from there."""
        if self._frame_count <= 0:
            return
        index = min(max(0, index), self._frame_count - 1)
        if self.is_playing:
            self._seeking_to = None if index == self._position else index
            self._restart_clock(index)  # not from :attr:`position`: that moves once the frame is shown
        self.seek_requested.emit(index)

    def step(self, delta: int) -> None:
        self.pause()
        self.request(self._position + delta)

    def set_speed(self, speed: float) -> None:
        self._speed = float(speed)
        with _blocked(self.speed_combo):
            nearest = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self._speed))
            self.speed_combo.setCurrentIndex(nearest)
        if self.is_playing:
            self._restart_clock()

    def play(self, direction: int = 1) -> None:
        if self._frame_count <= 1:
            return
        self._direction = 1 if direction >= 0 else -1
        at_end = self._position >= self._frame_count - 1 if self._direction > 0 else self._position <= 0
        self._restart_clock(self._position)
        self._timer.start(max(1, int(1000 / (self._fps * self._speed) / 2)))
        if at_end:  # from the other end: a seek, which the clock waits for
            self.request(0 if self._direction > 0 else self._frame_count - 1)
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.playing_changed.emit(True)

    def pause(self) -> None:
        self._seeking_to = None
        if self._timer.isActive():
            self._timer.stop()
            self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
            self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        if self.is_playing:
            self.pause()
        else:
            self.play(1)

    def shuttle(self, direction: int) -> None:
        """J/L: start playing that way, or speed up if already playing that way."""
        if self.is_playing and self._direction == direction:
            faster = [s for s in SPEEDS if s > self._speed]
            if faster:
                self.set_speed(faster[0])
            return
        if self.is_playing:
            self.pause()
        self.set_speed(1.0)
        self.play(direction)

    # -- clock ------------------------------------------------------------------------
    def _restart_clock(self, start_frame: int | None = None) -> None:
        """Count playback time from now at ``start_frame`` (default: the frame shown)."""
        self._clock.start()
        self._clock_start_frame = self._position if start_frame is None else start_frame

    def _tick(self) -> None:
        if self._seeking_to is not None:  # the seek's frame is not shown yet
            return
        elapsed_s = self._clock.nsecsElapsed() / 1e9
        due = self._clock_start_frame + self._direction * int(elapsed_s * self._fps * self._speed)
        if due >= self._frame_count or due < 0:
            self.seek_requested.emit(self._frame_count - 1 if due >= self._frame_count else 0)
            self.pause()
            return
        if due != self._position:
            self.seek_requested.emit(due)

    def _slider_moved(self, value: int) -> None:
        self.request(value)

    def _goto_time(self) -> None:
        try:
            seconds = parse_time(self.goto_edit.text())
        except ValueError as exc:
            self.goto_edit.selectAll()
            self.time_refused.emit(f"Go to: {exc}")  # it was only selected, and nothing said why
            return
        self.goto_edit.clear()
        self.time_requested.emit(seconds)  # the owner maps time to a frame by true PTS


class _blocked:  # noqa: N801 - reads like QSignalBlocker
    def __init__(self, widget: QWidget) -> None:
        self._widget = widget

    def __enter__(self) -> None:
        self._old = self._widget.blockSignals(True)

    def __exit__(self, *exc: object) -> None:
        self._widget.blockSignals(self._old)
