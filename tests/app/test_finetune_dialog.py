"""The fine-tune dialog on a tiny model: it says what was reviewed, runs the service in a
worker with progress and the time left, cancels, resumes and reports the new model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core.review import ReviewSession, SetReview
from core.store import ProjectStore
from core.types import Frame, ReviewState


@pytest.fixture
def project(flyover_template, flyover, tmp_path) -> Path:
    """The flyover's ground truth as a run of a tiny saved model; frames 0 and 5 reviewed."""
    from engine.msnet import build_msnet
    from engine.weights import save_model
    from geo.evaluation import detections_from_coco

    torch.manual_seed(0)
    model = build_msnet(backbone="mobilenet_v3", heads="light", min_size=96, max_size=160,
                        anchor_sizes=(16, 32, 64, 128, 256), box_batch_size_per_image=32)
    weights = save_model(model, tmp_path / "tiny.safetensors")
    detections, times = detections_from_coco(flyover_template / "annotations" / "instances_train.json", score=0.6)
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=flyover / "flight.mp4", telemetry_path=flyover / "flight.SRT") as store:
        run = store.start_run(model={"weights": str(weights)}, settings={})
        mask = next(d.mask for d in detections if d.mask is not None)
        for index in sorted(times):
            store.write_frame(run, Frame(index, times[index], mask.width_px, mask.height_px),
                              [replace(d, id=None) for d in detections if d.frame_index == index])
        store.finish_run(run)
        session = ReviewSession(store, run, author="tester")
        for frame, state in ((0, ReviewState.ACCEPTED), (5, ReviewState.REJECTED)):
            session.apply(SetReview(store.detections(run, frame_index=frame)[0].id, state))
    return path


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
    steps = []
    with qtbot.waitSignal(dialog.model_ready, timeout=120_000) as ready:
        job = dialog.start()
        job.progress.connect(lambda p: steps.append(p.step))
        assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    assert not errors
    assert ready.args[0] == project.with_name("flight.models") / "ft-001" / "model.safetensors"
    assert Path(ready.args[0]).is_file()
    assert steps[-1] == 2 and dialog.progress_bar.value() == 1000
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
    with qtbot.waitSignal(dialog.model_ready, timeout=120_000):
        dialog.resume_button.click()
    qtbot.waitUntil(lambda: not dialog.job.is_running, timeout=10_000)
    assert dialog.job.last.step == 3 and not dialog.resume_button.isEnabled()


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
