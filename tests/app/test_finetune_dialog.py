"""The fine-tune dialog on a tiny model: it says what was reviewed, runs the service in a
worker with progress and the time left, cancels, resumes and reports the new model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.review import ReviewSession, SetReview
from core.store import ProjectStore
from core.types import ReviewState


@pytest.fixture
def project(reviewed_project) -> Path:
    return reviewed_project


class _Document:
    def __init__(self, path: Path) -> None:
        self.project_path = path


def _dialog(qtbot, project, flyover_template, steps: int):
    from app.dialogs.finetune_dialog import FinetuneDialog

    torch.set_num_threads(1)
    dialog = FinetuneDialog(_Document(project))
    qtbot.addWidget(dialog)
    dialog.minutes_spin.setValue(0.0)
    dialog.steps_spin.setValue(steps)
    dialog.holdout_spin.setValue(0)
    dialog.device_combo.setCurrentText("cpu")
    dialog.replay_edit.setText(str(flyover_template))
    return dialog


def test_the_dialog_runs_a_finetune_and_reports_the_new_model(qtbot, project, flyover_template, errors):
    dialog = _dialog(qtbot, project, flyover_template, steps=2)
    assert "2 reviewed frame(s)" in dialog.summary_label.text()
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert not dialog.resume_button.isEnabled()
    steps, said = [], []
    with qtbot.waitSignal(dialog.model_ready, timeout=120_000) as ready:
        job = dialog.start()
        job.progress.connect(lambda p: steps.append(p.step))
        job.progress.connect(lambda p: said.append(dialog.eta_label.text()))  # after the dialog's own slot
        assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    assert not errors
    # before the first step: why the first steps are slow (on a CPU each frame's features are computed once)
    assert said[0].startswith("computing each frame's features once (0 of "), said
    assert ready.args[0] == project.with_name("flight.models") / "ft-001" / "model.safetensors"
    assert Path(ready.args[0]).is_file()
    assert steps[0] == 0 and steps[-1] == 2 and dialog.progress_bar.value() == 1000
    assert "ft-001" in dialog.result_label.text()
    assert "slider lower" in dialog.result_label.text()  # a fine-tuned model's scores often run lower
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_cancel_then_resume_in_the_dialog(qtbot, project, flyover_template, errors):
    dialog = _dialog(qtbot, project, flyover_template, steps=3)
    job = dialog.start()
    job.progress.connect(lambda p: dialog.cancel() if p.step == 1 else None)
    qtbot.waitUntil(lambda: not job.is_running, timeout=120_000)
    assert job.last.state == "cancelled" and not errors
    assert "Resume" in dialog.result_label.text()
    assert dialog.resume_button.isEnabled()
    # the worker may finish a step more before the cancel reaches it
    assert dialog.resume_label.text().startswith(f"ft-001 stopped at step {job.last.step} of 3: Resume goes on from")
    assert dialog.resume_button.isChecked() and dialog.start_button.text() == "Resume"  # the next thing to do
    stopped_at = job.last.step
    with qtbot.waitSignal(dialog.model_ready, timeout=120_000):
        dialog.start_button.click()
        # the bar starts where it goes on from, not at 0 of its steps
        assert dialog.progress_bar.value() == round(1000 * stopped_at / 3)
        assert dialog.result_label.text() == f"Going on from step {stopped_at} of 3..."
    qtbot.waitUntil(lambda: not dialog.job.is_running, timeout=10_000)
    assert dialog.job.last.step == 3 and not dialog.resume_button.isEnabled()
    # the time said is the resumed part's, with the whole beside it (not the whole as if it were this part)
    last = dialog.job.last
    assert 0 < last.resumed_s <= job.last.elapsed_s + 0.1 and last.resumed_s < last.elapsed_s
    assert dialog.eta_label.text() == (f"Done in {last.elapsed_s - last.resumed_s:.0f} s ({last.elapsed_s:.0f} s "
                                       "with the part before it stopped).")


def test_resume_is_offered_only_for_a_fine_tune_it_can_continue(qtbot, project, flyover_template):
    """A version that stopped before its first checkpoint (a killed process) cannot be
    resumed: Resume stays off rather than failing when clicked, and says nothing."""
    import json

    stopped = project.with_name("flight.models") / "ft-001"
    stopped.mkdir(parents=True)
    (stopped / "plan.json").write_text(json.dumps({"run_id": 1, "train_frames": [0], "heldout_frames": [],
                                                   "config": {"steps": 3}}))
    dialog = _dialog(qtbot, project, flyover_template, steps=3)
    assert not dialog.resume_button.isEnabled() and dialog.resume_label.text() == ""
    assert dialog.start_button.isEnabled()


def test_done_in_says_a_resumed_finetunes_own_time_and_the_whole():
    from app.dialogs.finetune_dialog import done_in

    assert done_in(33.2) == "Done in 33 s."
    assert done_in(33.2, 19.0) == "Done in 14 s (33 s with the part before it stopped)."


def test_a_project_without_reviews_cannot_start(qtbot, project, flyover_template):
    from app.dialogs.finetune_dialog import FinetuneDialog, format_eta

    with ProjectStore.open(project) as store:
        session = ReviewSession(store, store.latest_run_id())
        for det in store.detections(store.latest_run_id()):
            if det.reviewed:
                session.apply(SetReview(det.id, ReviewState.PENDING))
    dialog = FinetuneDialog(_Document(project))
    qtbot.addWidget(dialog)
    assert "no run has reviewed" in dialog.summary_label.text()
    assert not dialog.start_button.isEnabled()
    assert format_eta(75) == "about 1 min 15 s left" and format_eta(None).startswith("estimating")


def test_the_split_follows_the_hold_out_box(qtbot, project, flyover_template):
    """It said "2 to train on, 0 held out" whatever the box was set to after it opened."""
    dialog = _dialog(qtbot, project, flyover_template, steps=2)
    assert "2 to train on, 0 held out" in dialog.summary_label.text()
    dialog.holdout_spin.setValue(2)
    assert "1 to train on, 1 held out" in dialog.summary_label.text()


def test_the_finished_report_leaves_every_field_whole(qtbot, tmp_path):
    """The new model's long report (its path, the advice on the slider) wraps onto many
    lines: the dialog grows for them instead of squeezing the fields above to half height."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit

    from app.dialogs.finetune_dialog import FinetuneDialog

    dialog = FinetuneDialog(_Document(None))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    weights = tmp_path / "a folder with a long name" / "flight.models" / "ft-001" / "model.safetensors"
    with qtbot.waitSignal(dialog.model_ready):
        dialog._on_finished(SimpleNamespace(state="finished", weights=weights, elapsed_s=33.0, step=3,
                                                resumed_s=0.0))
    assert "ft-001" in dialog.result_label.text()
    fields = [*dialog.findChildren(QAbstractSpinBox), *dialog.findChildren(QComboBox), *dialog.findChildren(QLineEdit)]
    fields = [field for field in fields if field.parent() is dialog]  # not a spin box's own line edit
    assert len(fields) == 5
    for field in fields:
        assert field.height() >= field.minimumSizeHint().height(), field
    label = dialog.result_label
    assert label.height() >= label.heightForWidth(label.width())


def test_hold_out_never_shows_every_1(qtbot):
    """"every 1" would hold out every frame, so the dialog held out every 2nd while the box
    said every 1: the box skips it, up from none to every 2 and down from 2 to none."""
    from app.dialogs.finetune_dialog import FinetuneDialog

    dialog = FinetuneDialog(_Document(None))
    qtbot.addWidget(dialog)
    box = dialog.holdout_spin
    box.setValue(0)
    box.stepUp()
    assert box.value() == 2 and box.text() == "every 2" and dialog.request().holdout_every == 2
    box.stepDown()
    assert box.value() == 0 and box.text() == "none"


def test_resume_turns_off_the_settings_a_resumed_fine_tune_keeps(qtbot, project, flyover_template):
    """Hold out, Device and Replay data were left editable with Resume chosen and then
    ignored (a resume goes on with its plan): they are off for it, saying why, and on
    again for a new fine-tune; the time limit and steps apply to both."""
    import json

    from app.dialogs.finetune_dialog import KEPT_ON_RESUME

    stopped = project.with_name("flight.models") / "ft-001"
    stopped.mkdir(parents=True)
    (stopped / "plan.json").write_text(json.dumps({"run_id": 1, "train_frames": [0], "heldout_frames": [],
                                                   "config": {"steps": 3}}))
    (stopped / "checkpoint.pt").write_bytes(b"")  # resumable as far as the dialog can tell
    dialog = _dialog(qtbot, project, flyover_template, steps=3)
    kept = (dialog.holdout_spin, dialog.device_combo, dialog.replay_edit)
    assert dialog.resume_button.isEnabled() and dialog.resume_button.text() == "Resume ft-001"
    assert dialog.new_choice.isChecked() and all(widget.isEnabled() for widget in kept)
    assert dialog.start_button.text() == "Start"

    dialog.resume_button.click()
    assert not any(widget.isEnabled() for widget in kept)
    assert all(widget.toolTip() == KEPT_ON_RESUME for widget in kept)
    assert dialog.minutes_spin.isEnabled() and dialog.steps_spin.isEnabled()
    assert dialog.start_button.text() == "Resume" and dialog.start_button.isEnabled()

    dialog.new_choice.click()
    assert all(widget.isEnabled() for widget in kept) and dialog.start_button.text() == "Start"
    assert dialog.holdout_spin.toolTip().startswith("These reviewed frames are not trained on")
    assert dialog.device_combo.toolTip() == ""
