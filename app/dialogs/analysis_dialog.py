"""Settings for a run: device, model, analysis frame rate, SRN, time offset, field of view."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.dialogs.bounded_spin import BoundedSpinBox, RangeGuard
from app.dialogs.geo_dialog import hfov_box
from app.dialogs.offset_box import OffsetSpinBox
from app.workers import AnalysisOptions, available_devices
from core.settings import HOVER_EVERY_S

#: The largest batch the box takes: more frames at once than a GPU of 24 GB holds at the largest input size.
MAX_BATCH = 32
#: The longest interval between the frames analysed while the drone hovers (seconds).
MAX_HOVER_EVERY_S = 60.0
#: Detector input sizes offered (short side, pixels); None: the weights' own.
INPUT_SIZES: tuple[int | None, ...] = (None, 480, 600, 720)
#: Building gates offered (S); None: the weights' own.
BUILDING_GATES: tuple[float | None, ...] = (None, 0.5, 0.8)
GATE_LABELS = {
    None: "the model's own (0.1 for the shipped model)",
    0.5: "0.5: fewer false alarms off buildings",
    0.8: "0.8: fewer still, misses some damage at roof edges",
}
#: The score refinement (SRN): None, the weights' own; on; off.
SRN: tuple[bool | None, ...] = (None, True, False)
SRN_LABELS = {
    None: "the model's own (off for the shipped model)",
    True: "on: scores steadied by the frames before and after",
    False: "off",
}
#: The close look: None, the weights' own; on; off.
CLOSE_LOOK: tuple[bool | None, ...] = (None, True, False)
CLOSE_LOOK_LABELS = {
    None: "the model's own (on for the shipped model)",
    True: "on: fewer false alarms on real footage, no slower on a CPU",
    False: "off: more damage kept, small damage above all; for soft or hazy footage",
}

#: The tiled look's grid (N x N tiles): None, the weights' own; 1, off. (3 x 3 found no
#: more than 2 x 2 on the flights measured, in 2.4x its time: the command line has it.)
TILES: tuple[int | None, ...] = (None, 1, 2)
TILES_LABELS = {
    None: "the model's own (off for the shipped model)",
    1: "off: each frame whole",
    2: "2 x 2 tiles: more small, far damage; about 4x the analysis time",
}

#: Crisp footage softened first: None, the weights' own ceiling; 0, frames as they come.
SHARPNESS_CEILINGS: tuple[float | None, ...] = (None, 0.0)
SHARPNESS_LABELS = {
    None: "the model's own (crisp frames softened for the shipped model)",
    0.0: "frames as they come: some more small debris, twice the false alarms",
}


def _choice_combo(choices: Sequence[Any], current: Any, label: Callable[[Any], str], tip: str) -> QComboBox:
    """A combo box of ``choices`` (each item's data the choice) with ``current`` selected;
    a ``current`` not among them (from an earlier run) is added, so it stays selectable."""
    items = list(choices) if current in choices else [*choices, current]
    combo = QComboBox()
    for choice in items:
        combo.addItem(label(choice), choice)
    combo.setCurrentIndex(items.index(current))
    combo.setToolTip(tip)
    return combo


class AnalysisDialog(QDialog):
    """Ask for :class:`AnalysisOptions`; starts from ``initial``.

    With ``suggest_cpu_rate`` (the first run of a session) and no GPU, "every frame" is
    replaced by 2 frames per second, which a CPU can keep up with.

    ``devices``: the devices to offer (``None``: :func:`available_devices`, which imports
    torch the first time). The window gives the ones it knows and :meth:`set_devices` once
    torch, imported off the GUI thread, has said.
    """

    def __init__(
        self, initial: AnalysisOptions, video_fps: float, parent: QWidget | None = None, *, suggest_cpu_rate: bool = True,
        frame_times_s: Sequence[float] = (), devices: Sequence[str] | None = None,
        stored: Collection[int] = (),
    ) -> None:
        super().__init__(parent)
        self._frame_times_s = list(frame_times_s)
        #: the frames an unfinished run holds already (a resume analyses the others only)
        self._stored = set(stored)
        self._initial_device = initial.device
        self.setWindowTitle("Analyse video")
        devices = list(available_devices() if devices is None else devices)
        self.device_combo = QComboBox()
        for device in devices:
            self.device_combo.addItem(device)
        self.device_combo.setCurrentText(initial.device if initial.device in devices else "auto")

        self.weights_edit = QLineEdit(initial.weights or "")
        self.weights_edit.setPlaceholderText("shipped default model")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_weights)
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights_edit, 1)
        weights_row.addWidget(browse)

        self.fps_spin = BoundedSpinBox(
            "Analysis frame rate", 0.0, max(1.0, video_fps), decimals=2, suffix=" fps", unset=0.0,
            unset_text=f"every frame ({video_fps:g} fps)",
            why=f"frames per second; the video has {video_fps:g}, and 0 analyses every one",
            tip="Fewer is faster on a CPU.")
        suggested = initial.fps
        #: the rate suggested for a CPU, taken back by :meth:`set_devices` if a GPU is found after all
        self._cpu_rate: float | None = None
        if suggested is None and suggest_cpu_rate and "cuda" not in devices:
            suggested = self._cpu_rate = min(2.0, video_fps)  # a CPU manages a frame or two per second
        self.fps_spin.setValue(suggested or 0.0)
        #: how many of the video's frames that rate analyses (the analysis picks them the same way)
        self.frames_label = QLabel()
        self.fps_spin.valueChanged.connect(self._update_frames_label)
        self._update_frames_label()

        self.hover_spin = BoundedSpinBox(
            "While hovering", 0.0, MAX_HOVER_EVERY_S, prefix="one frame every ", suffix=" s", unset=0.0,
            unset_text="every frame the rate selects", why="seconds between the frames analysed; 0 analyses "
            "every frame the rate selects",
            tip="While the drone hovers, the video shows one view again and again, and the map counts it as one look "
            "at the ground. Analysing one frame every few seconds of it, not every frame the rate selects, "
            "saves that time. It needs telemetry that shows the drone still; where the telemetry gives no "
            "heading, a frame is left out only when its image repeats the view's first (on the CPU, for "
            "footage of up to 1080 lines, where reading the images costs less than the frames saved). Analysing "
            "again with a shorter interval adds the frames left out to the same run.")
        self.hover_spin.setSingleStep(0.5)
        self.hover_spin.setValue(HOVER_EVERY_S if initial.hover_every_s is None else initial.hover_every_s)

        self.srn_combo = _choice_combo(
            SRN, initial.srn, SRN_LABELS.__getitem__,
            "Refine each detection's score with the Score Refinement Network, from the same damage in the "
            "frames before and after. It helps a detector whose scores flicker from frame to frame; with the "
            "shipped model's close look it added more wrong sites than right ones, so that model leaves it off.",
        )

        self.batch_spin = BoundedSpinBox(
            "Batch size", 0.0, MAX_BATCH, decimals=0, unset=0.0, unset_text="automatic (4 on a GPU, 1 on a CPU)",
            why="frames the detector takes at once; 0 picks by device")
        self.batch_spin.setValue(initial.batch_size or 0)

        self.input_size_combo = _choice_combo(
            INPUT_SIZES, initial.input_size,
            lambda size: "the model's own (360 px for the shipped model)" if size is None else f"{size} px",
            "Short side each frame is resized to for the detector. Larger finds smaller, farther damage "
            "(footage flown high) but raises more false alarms, misses some large damage, and costs about "
            "(size / 360)^2 the time.",
        )
        self.building_gate_combo = _choice_combo(
            BUILDING_GATES, initial.building_gate,
            lambda gate: GATE_LABELS[gate] if gate in GATE_LABELS else f"{gate:g}",
            "Share of a damage candidate that must lie inside a building the detector found. Stricter drops "
            "candidates off buildings (fallen trees, bright ground) and false alarms on real footage, but misses "
            "some damage at roof edges and debris beside houses.",
        )

        self.flip_check = QCheckBox("Mirror check (about twice the time)")
        self.flip_check.setChecked(initial.flip_check)
        self.flip_check.setToolTip(
            "Also run each frame mirrored left to right and average a detection's score over the two views. "
            "Damage is found in both; many false alarms on real footage are not, and fall to half their score.")

        self.tiles_combo = _choice_combo(
            TILES, initial.tiles, lambda grid: TILES_LABELS.get(grid, f"{grid} x {grid} tiles"),
            "Also look at each frame in a grid of overlapping tiles, each shown to the detector at its input size, "
            "and add the small damage the tiles find to what the whole frame gives. Damage only a few pixels "
            "across (footage flown high or wide) is then seen larger: more of it is found, with some more false "
            "alarms to review. The detector's time grows with the number of tiles, plus one.",
        )

        self.close_look_combo = _choice_combo(
            CLOSE_LOOK, initial.close_look, CLOSE_LOOK_LABELS.__getitem__,
            "Look at each detection again in a crop of the full-resolution frame, and lower the scores of those "
            "that do not look like damage there (intact tan or tile roofs, bright patches). Only models with a "
            "close-look head have it; it adds to the analysis time. On soft-focus, overcast or hazy footage it "
            "doubts real damage too: turn it off there, and expect more false alarms to review.",
        )

        self.sharpness_combo = _choice_combo(
            SHARPNESS_CEILINGS, initial.sharpness_ceiling,
            lambda ceiling: SHARPNESS_LABELS[ceiling] if ceiling in SHARPNESS_LABELS else f"softened to {ceiling:g}",
            "The shipped model learned from soft rendered flights. Frames sharper than the sharpest of them are "
            "blurred down to that sharpness before the model looks: half the false alarms on crisp real footage, "
            "some small debris missed. Frames no sharper are left as they are.",
        )

        self.offset_spin = OffsetSpinBox(initial.time_offset_s or 0.0)

        self.hfov_spin = hfov_box(initial.hfov_deg or 0.0)

        form = QFormLayout(self)
        form.addRow("Device", self.device_combo)
        form.addRow("Model weights", weights_row)
        fps_row = QHBoxLayout()
        fps_row.addWidget(self.fps_spin, 1)
        fps_row.addWidget(self.frames_label)
        form.addRow("Analysis frame rate", fps_row)
        form.addRow("While hovering", self.hover_spin)
        form.addRow("Score refinement (SRN)", self.srn_combo)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Detector input size", self.input_size_combo)
        form.addRow("Building gate", self.building_gate_combo)
        form.addRow("", self.flip_check)
        form.addRow("Tiled look", self.tiles_combo)
        form.addRow("Close look", self.close_look_combo)
        form.addRow("Crisp footage", self.sharpness_combo)
        form.addRow("Time offset", self.offset_spin)
        form.addRow("Horizontal field of view", self.hfov_spin)
        #: the boxes' problems (a value out of range), Analyse off while there is one
        self.problems_label = QLabel()
        form.addRow(self.problems_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Analyse")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.range_guard = RangeGuard([self.fps_spin, self.hover_spin, self.batch_spin, self.offset_spin,
                                       self.hfov_spin], self.ok_button, self.problems_label)

    def accept(self) -> None:
        """Closed with Analyse only while every box holds a value it takes (Enter too)."""
        if self.range_guard.check():
            super().accept()

    def set_devices(self, devices: Sequence[str]) -> None:
        """The devices torch found (asked after the dialog opened): the list follows, the
        device chosen stays, and a GPU takes back the rate suggested for a CPU unless it
        was changed."""
        current = self.device_combo.currentText()
        if current == "auto" and self._initial_device in devices:
            current = self._initial_device
        self.device_combo.clear()
        self.device_combo.addItems(list(devices))
        self.device_combo.setCurrentText(current if current in devices else "auto")
        if "cuda" in devices and self._cpu_rate is not None and self.fps_spin.value() == self._cpu_rate:
            self.fps_spin.setValue(0.0)  # every frame
        self._cpu_rate = None

    def frames_to_analyse(self) -> int | None:
        """How many frames the chosen rate analyses (None: the video's frame times are not known)."""
        picked = self._picked()
        return None if picked is None else len(picked)

    def _picked(self) -> list[int] | None:
        if not self._frame_times_s:
            return None
        from engine.video import select_frame_indices

        fps = self.fps_spin.value() or None
        return select_frame_indices(self._frame_times_s, fps=fps)

    def _update_frames_label(self) -> None:
        picked = self._picked()
        self.frames_label.setVisible(picked is not None)
        if picked is not None:
            text = f"{len(picked):,} of {len(self._frame_times_s):,} frames"
            done = len(self._stored.intersection(picked))
            if done:  # a resume: "60 of 60 frames" read as all of them to analyse again
                text += f" ({done:,} stored already, {len(picked) - done:,} to analyse)"
            self.frames_label.setText(text)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model weights", "", "safetensors (*.safetensors)")
        if path:
            self.weights_edit.setText(path)

    def options(self) -> AnalysisOptions:
        weights = self.weights_edit.text().strip() or None
        return AnalysisOptions(
            device=self.device_combo.currentText(),
            weights=str(Path(weights)) if weights else None,
            fps=self.fps_spin.value() or None,
            srn=self.srn_combo.currentData(),
            batch_size=int(self.batch_spin.value()) or None,
            input_size=self.input_size_combo.currentData(),
            building_gate=self.building_gate_combo.currentData(),
            flip_check=self.flip_check.isChecked(),
            tiles=self.tiles_combo.currentData(),
            close_look=self.close_look_combo.currentData(),
            sharpness_ceiling=self.sharpness_combo.currentData(),
            hover_every_s=None if self.hover_spin.value() == HOVER_EVERY_S else self.hover_spin.value(),
            time_offset_s=None if self.offset_spin.untouched() else self.offset_spin.value(),  # None: the project's
            hfov_deg=self.hfov_spin.given(),
        )
