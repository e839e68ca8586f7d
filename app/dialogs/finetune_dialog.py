"""Improve the model from my reviews: fine-tune the project's detector in a worker.

The dialog says how many frames have been reviewed, asks for a time limit (or a number
of steps), the share of frames held out to measure with and where the replay data
comes from, then runs :func:`services.finetune.finetune_project` (what ``damagemap
finetune`` runs) in a worker thread with a progress bar and the time left. Cancel stops
it after the current step with a checkpoint; Resume continues an unfinished one (the
dialog says which, and from which step; chosen, it turns off Hold out, Device and Replay
data, which a resumed fine-tune keeps from its start). When
it finishes, :attr:`FinetuneDialog.model_ready` carries the new weights, which the
window can offer to analyse the video with. Closing the dialog while it runs (its
window's button, Esc, Close) cancels it the same way; the window shows the same dialog
again until the run has stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import GeneratorWorker

from app.errors import show_error


def iter_finetune(project_path: Path, request: Any, cancel: threading.Event) -> Iterator[Any]:
    """:func:`services.finetune.finetune_project` on the worker's own connection."""
    from services.finetune import finetune_project

    try:
        yield from finetune_project(Path(project_path), request, cancel=cancel)
    except RuntimeError as exc:  # superqt would swallow a RuntimeError (see app.workers)
        raise _Carried(exc) from exc


class _Carried(Exception):
    def __init__(self, original: RuntimeError) -> None:
        super().__init__(str(original))
        self.original = original


class FinetuneJob(QObject):
    """One fine-tune in a worker thread: ``progress(FinetuneProgress)`` after every step,
    ``failed(exception)``, then ``finished(last progress or None)``."""

    progress = Signal(object)
    failed = Signal(object)
    finished = Signal(object)

    def __init__(self, project_path: Path, request: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self.last: Any = None
        self.error: BaseException | None = None
        self._running = False
        self._worker = GeneratorWorker(iter_finetune, Path(project_path), request, self._cancel)
        self._worker.yielded.connect(self._on_progress)
        self._worker.errored.connect(self._on_errored)
        self._worker.finished.connect(self._on_finished)

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def start(self) -> None:
        self._running = True
        self._worker.start()

    def cancel(self) -> None:
        """Stop after the current step (a checkpoint is written)."""
        self._cancel.set()

    def _on_progress(self, progress: Any) -> None:
        self.last = progress
        self.progress.emit(progress)

    def _on_errored(self, exc: BaseException) -> None:
        self.error = exc.original if isinstance(exc, _Carried) else exc
        self.failed.emit(self.error)

    def _on_finished(self) -> None:
        self._running = False
        self.finished.emit(self.last)


#: the tooltip of Hold out, Device and Replay data while Resume is chosen
KEPT_ON_RESUME = ("A resumed fine-tune keeps the settings it was started with; only the time limit (and the "
                  "steps in all) apply")


def resume_text(point: Any) -> str:
    """What Resume does, for a :class:`services.finetune.ResumePoint`: the version and
    the step it goes on from, with the settings it was started with (the time limit
    and steps above apply)."""
    at = "its last checkpoint" if point.step is None else f"step {point.step}"
    of = f" of {point.steps}" if point.steps is not None and point.step is not None else ""
    return (f"{point.version.name} stopped at {at}{of}: Resume goes on from there with the settings it was started "
            "with, for at most the time limit above (a number of steps above: the steps in all).")


def missing_base_text(run_id: int, weights: Path) -> str:
    """What the summary says where the run's model is gone: Start cannot improve it further."""
    from services.models import describe_weights

    return (f"Run {run_id} was analysed with {describe_weights(weights)}, whose weights ({weights}) are no longer "
            "there (deleted or moved): a new fine-tune starts from the shipped model instead. To improve that model "
            "further, put the file back and open this dialog again.")


def format_eta(seconds: float | None) -> str:
    """``about 1 min 15 s left`` (:func:`services.finetune.format_time_left`)."""
    from services.finetune import format_time_left

    return format_time_left(seconds)


def done_in(elapsed_s: float, resumed_s: float = 0.0) -> str:
    """How long the fine-tune took: a resumed one's own time, with the whole (the
    engine's ``elapsed_s`` counts the part before it stopped too)."""
    if resumed_s <= 0:
        return f"Done in {elapsed_s:.0f} s."
    return f"Done in {elapsed_s - resumed_s:.0f} s ({elapsed_s:.0f} s with the part before it stopped)."


class FinetuneDialog(QDialog):
    """Fine-tune the detector of ``document``'s project on its reviewed frames.

    Signals
    -------
    model_ready(object)
        The ``Path`` of the new weights, when a fine-tune finished.
    """

    model_ready = Signal(object)

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Improve the model from my reviews")
        self.document = document
        self.job: FinetuneJob | None = None
        self.weights: Path | None = None

        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.minutes_spin = QDoubleSpinBox()
        self.minutes_spin.setRange(0.0, 24 * 60.0)
        self.minutes_spin.setDecimals(1)
        self.minutes_spin.setValue(10.0)
        self.minutes_spin.setSpecialValueText("no limit")
        self.minutes_spin.setSuffix(" min")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(0, 1_000_000)
        self.steps_spin.setValue(0)
        self.steps_spin.setSpecialValueText("as many as fit")
        self.holdout_spin = QSpinBox()
        self.holdout_spin.setRange(0, 100)
        self.holdout_spin.setValue(5)
        self.holdout_spin.setSpecialValueText("none")
        self.holdout_spin.setPrefix("every ")
        self.holdout_spin.setToolTip("These reviewed frames are not trained on: comparing runs measures AP on them")
        self.holdout_spin.setKeyboardTracking(False)  # typing "10" passes through no "every 1"
        #: the box's value before its last change: "every 1" (all held out, none to train on) is skipped
        self._holdout_before = self.holdout_spin.value()
        self.holdout_spin.valueChanged.connect(self._skip_holdout_one)
        self.device_combo = QComboBox()
        from app.workers import available_devices, known_devices

        # known once the window's probe has imported torch off the GUI thread (else asked now)
        self.device_combo.addItems(known_devices() or available_devices())
        self.replay_edit = QLineEdit()
        self.replay_edit.setPlaceholderText("a small synthetic flyover")
        self.replay_edit.setToolTip("An ISBDA folder mixed into training so the model keeps what it knew")

        #: a new fine-tune, or Resume (offered when a stopped one can be continued): a resumed
        #: fine-tune keeps the settings it was started with, so Hold out, Device and Replay
        #: are off for it
        self.new_choice = QRadioButton("New")
        self.new_choice.setChecked(True)
        self.resume_button = QRadioButton("Resume")
        self.resume_button.toggled.connect(self._show_choice)
        choice = QHBoxLayout()
        choice.addWidget(self.new_choice)
        choice.addWidget(self.resume_button)
        choice.addStretch(1)
        self._plan_tooltips = {widget: widget.toolTip()
                               for widget in (self.holdout_spin, self.device_combo, self.replay_edit)}

        form = QFormLayout()
        form.addRow("Fine-tune", choice)
        form.addRow("Time limit", self.minutes_spin)
        form.addRow("Steps", self.steps_spin)
        self._reviewed: tuple[int, list[int]] | None = None  # the run trained on and its reviewed frames
        #: the run's weights where that file is gone (Start then fine-tunes the shipped model)
        self._missing_base: Path | None = None
        self._resume_point: Any = None  # the services.finetune.ResumePoint Resume goes on from
        self.holdout_spin.valueChanged.connect(self._show_split)
        form.addRow("Hold out", self.holdout_spin)
        form.addRow("Device", self.device_combo)
        form.addRow("Replay data", self.replay_edit)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.eta_label = QLabel("")
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        #: what Resume continues (a stopped fine-tune, its step), empty when nothing can be
        self.resume_label = QLabel("")
        self.resume_label.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(lambda: self.start(resume=self.resume_button.isChecked()))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.result_label)
        layout.addWidget(self.resume_label)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)
        self.refresh()

    def _fit_height(self) -> None:
        """Grow the dialog to the height its wrapped texts now need: a long result (the
        new model's path and advice) would otherwise squeeze the fields above it, their
        values cut in half."""
        layout = self.layout()
        layout.activate()
        needed = max(layout.totalHeightForWidth(self.width()), layout.totalMinimumSize().height())
        if needed > self.height():
            self.resize(self.width(), needed)

    # -- state -----------------------------------------------------------------------

    @property
    def project_path(self) -> Path | None:
        path = getattr(self.document, "project_path", None)
        return None if path is None else Path(path)

    def refresh(self) -> None:
        """What the project holds: reviewed frames, unfinished fine-tunes; the buttons."""
        from core.errors import DamagemapError
        from core.store import ProjectStore
        from services.finetune import missing_run_weights, resume_point, review_run, reviewed_frames

        running = self.job is not None and self.job.is_running
        path = self.project_path
        self.reviewed_count = 0
        self._reviewed = None
        self._missing_base = None
        text = "No project is open."
        if path is not None:
            try:
                with ProjectStore.open(path) as store:
                    run_id = review_run(store)
                    frames = reviewed_frames(store, run_id)
                    self._missing_base = missing_run_weights(store, run_id)
                self._reviewed = (run_id, frames)
                self.reviewed_count = len(frames)
            except DamagemapError as exc:
                text = str(exc)
        if self._reviewed is not None:
            self._show_split()
        else:
            self.summary_label.setText(text)
        point = resume_point(path) if path is not None and not running else None
        self._resume_point = point
        self.resume_label.setText("" if point is None else resume_text(point))
        self._fit_height()
        self.resume_button.setText("Resume" if point is None else f"Resume {point.version.name}")
        self.resume_button.setEnabled(point is not None)
        if point is None and self.resume_button.isChecked() and not running:
            self.new_choice.setChecked(True)
        self.new_choice.setEnabled(not running)
        self.cancel_button.setEnabled(running and not self.job.cancel_requested)  # type: ignore[union-attr]
        self._show_choice()

    def _show_choice(self) -> None:
        """The fields and Start as New or Resume says: a resumed fine-tune goes on with the
        hold-out, device and replay it was started with (its plan), so those are off for it,
        saying why; the time limit and steps apply to both."""
        running = self.job is not None and self.job.is_running
        resume = self.resume_button.isChecked()
        self.start_button.setText("Resume" if resume else "Start")
        self.start_button.setEnabled(not running and (self._resume_point is not None if resume
                                                      else self.reviewed_count > 0))
        for widget in (self.minutes_spin, self.steps_spin):
            widget.setEnabled(not running)
        for widget, tooltip in self._plan_tooltips.items():
            widget.setEnabled(not running and not resume)
            widget.setToolTip(KEPT_ON_RESUME if resume else tooltip)

    def _show_split(self) -> None:
        """The reviewed frames split as "Hold out" says now (it followed the box only when
        the dialog opened)."""
        from services.finetune import split_frames

        if self._reviewed is None:
            return
        run_id, frames = self._reviewed
        train, held = split_frames(frames, self._holdout())
        text = (f"Run {run_id}: {len(frames)} reviewed frame(s); {len(train)} to train on, "
                f"{len(held)} held out to measure with. Frames nobody reviewed are not used.")
        if self._missing_base is not None:
            text += "\n" + missing_base_text(run_id, self._missing_base)
        self.summary_label.setText(text)
        self._fit_height()

    def _skip_holdout_one(self, value: int) -> None:
        """The box never shows "every 1", which would hold out every frame and so means 2:
        stepping up from none gives 2, stepping down from 2 gives none."""
        if value == 1:
            self.holdout_spin.setValue(2 if self._holdout_before < 1 else 0)
            return
        self._holdout_before = value

    def _holdout(self) -> int:
        """Every k-th reviewed frame held out; 1 would hold out all, so it means 2."""
        value = self.holdout_spin.value()
        return 2 if value == 1 else value

    def request(self, *, resume: bool = False) -> Any:
        """The :class:`services.finetune.FinetuneRequest` the dialog's fields describe."""
        from services.finetune import FinetuneRequest, shipped_weights

        replay = self.replay_edit.text().strip()
        # the run's model is gone: the summary said Start goes on from the shipped one
        base = shipped_weights() if self._missing_base is not None and not resume else None
        return FinetuneRequest(
            minutes=self.minutes_spin.value() or None, steps=self.steps_spin.value() or None,
            holdout_every=self._holdout(), device=self.device_combo.currentText(),
            replay=Path(replay) if replay else None, base_weights=base, resume=resume,
        )

    # -- running ---------------------------------------------------------------------

    def start(self, *, resume: bool = False) -> FinetuneJob | None:
        if self.project_path is None or (self.job is not None and self.job.is_running):
            return None
        from core.errors import DamagemapError

        try:
            request = self.request(resume=resume)
        except DamagemapError as exc:
            show_error(self, exc, title="Cannot fine-tune")
            return None
        self.weights = None
        self.result_label.setText("Preparing the reviewed frames...")
        self.progress_bar.setValue(0)
        point = self._resume_point if resume else None
        if point is not None and point.step is not None:  # the bar starts where the fine-tune goes on from
            steps = request.steps or point.steps
            if steps:
                self.progress_bar.setValue(int(round(1000 * min(1.0, point.step / steps))))
            self.result_label.setText(f"Going on from step {point.step}" + (f" of {steps}" if steps else "") + "...")
        self.eta_label.setText(format_eta(None))
        job = FinetuneJob(self.project_path, request, parent=self)
        job.progress.connect(self._on_progress)
        job.failed.connect(lambda exc: show_error(self, exc, title="Fine-tuning failed"))
        job.finished.connect(self._on_finished)
        self.job = job
        job.start()
        self.refresh()
        return job

    def cancel(self) -> None:
        if self.job is not None and self.job.is_running:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.eta_label.setText("Stopping after this step...")

    def _on_progress(self, progress: Any) -> None:
        from services.finetune import time_left_text

        budget = progress.steps if progress.steps < 1_000_000 else None
        fraction: float | None = progress.fraction
        if budget is None:  # a time limit: the share of the time
            known = progress.eta_s is not None and progress.elapsed_s + progress.eta_s > 0
            fraction = progress.elapsed_s / (progress.elapsed_s + progress.eta_s) if known else None
        if fraction is not None:
            self.progress_bar.setValue(int(round(1000 * min(1.0, fraction))))
        loss = progress.losses.get("loss")
        steps = f"step {progress.step}" + (f" of {budget}" if budget else "")
        if progress.state == "starting" and progress.start_step:
            steps = f"Going on from {steps}"
        self.result_label.setText(f"{steps}, loss {loss:.3f}" if loss is not None else steps)
        self._fit_height()
        if progress.state in ("starting", "running") and not (self.job is not None and self.job.cancel_requested):
            self.eta_label.setText(time_left_text(progress))

    def _on_finished(self, last: Any) -> None:
        if last is not None and last.state == "finished" and last.weights is not None:
            self.weights = Path(last.weights)
            self.progress_bar.setValue(1000)
            self.eta_label.setText(done_in(last.elapsed_s, last.resumed_s))
            self.result_label.setText(
                f"New model {self.weights.parent.name}: {self.weights}. Analyse the video with it to compare the runs. "
                "A fine-tuned model is often more cautious than the one it started from: look at its sites with "
                "the score slider lower too (0.3) before relying on it.")
            self.model_ready.emit(self.weights)
        elif last is not None and last.state == "cancelled":
            self.eta_label.setText("Cancelled.")
            self.result_label.setText(f"Stopped at step {last.step}; Resume continues from there.")
            self.refresh()
            if self.resume_button.isEnabled():  # the next thing to do, most likely
                self.resume_button.setChecked(True)
        elif self.job is not None and self.job.error is not None:
            self.eta_label.setText("Failed.")
            self.result_label.setText(str(self.job.error))
        self.refresh()

    def reject(self) -> None:
        """Closing while it runs cancels it (the checkpoint keeps the work; Resume goes on
        from it): Esc and Close come here, the window's close button through
        :meth:`closeEvent`. Hidden and running on, a fine-tune could not be seen or
        stopped, and its model would quietly become the next analysis's."""
        self.cancel()
        super().reject()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        """The window's close button: as :meth:`reject` (also when the dialog is not shown)."""
        self.cancel()
        super().closeEvent(event)
