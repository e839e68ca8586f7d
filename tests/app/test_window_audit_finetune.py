"""Model > Improve the Model from My Reviews… in the window (the GUI audit's findings): Esc
stops a fine-tune as closing does, the menu shows the same dialog until it has stopped
(no second run on top of it, no model quietly used), and the entry waits for a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def project(reviewed_project) -> Path:
    return reviewed_project


def test_escape_stops_the_finetune_and_the_menu_shows_it_until_it_has(qtbot, window, project, flyover_template,
                                                                         errors, monkeypatch):
    import torch
    from PySide6.QtTest import QTest

    from app.dialogs.finetune_dialog import FinetuneDialog

    torch.set_num_threads(1)
    seen: list[dict] = []

    def exec_(dialog: FinetuneDialog) -> int:
        """What the user sees each time the menu opens the dialog (instead of its modal loop)."""
        seen.append({"dialog": dialog, "start": dialog.start_button.isEnabled(),
                     "resume": dialog.resume_button.isEnabled(), "cancel": dialog.cancel_button.isEnabled(),
                     "progress": dialog.progress_bar.value(), "eta": dialog.eta_label.text()})
        if len(seen) == 1:  # the first time: start a long run, and press Esc once it is under way
            dialog.minutes_spin.setValue(0.0)
            dialog.steps_spin.setValue(200)
            dialog.holdout_spin.setValue(0)
            dialog.device_combo.setCurrentText("cpu")
            dialog.replay_edit.setText(str(flyover_template))
            job = dialog.start()
            qtbot.waitUntil(lambda: job.last is not None and job.last.step > 0, timeout=120_000)  # a step done
            dialog.show()
            QTest.keyClick(dialog, Qt.Key.Key_Escape)
            assert not dialog.isVisible()
        return 0

    monkeypatch.setattr(FinetuneDialog, "exec", exec_)
    assert window.open_path(project)
    window.finetune_action.trigger()
    job = seen[0]["dialog"].job
    assert job.is_running and window.finetune_action.isEnabled()
    window.finetune_action.trigger()  # the menu again, while it stops after its step
    again = seen[1]
    assert again["dialog"] is seen[0]["dialog"]  # the run's own dialog, not a blank one offering Start
    assert not again["start"] and not again["resume"] and not again["cancel"]  # Cancel: asked for already
    assert again["progress"] > 0 and again["eta"].startswith("Stopping")
    assert job.cancel_requested  # Esc stops it, as closing the dialog does (was: it trained on, unseen)

    qtbot.waitUntil(lambda: not job.is_running, timeout=120_000)
    assert job.last.state == "cancelled" and not errors
    assert window._analysis_options.weights is None  # no model from it for the next analysis
    window.finetune_action.trigger()  # stopped: a fresh dialog, which offers to resume
    assert seen[2]["dialog"] is not seen[0]["dialog"] and seen[2]["resume"] and seen[2]["start"]


def test_improve_the_model_waits_for_a_project_with_a_run(qtbot, window, project, flyover, tmp_path, errors):
    import shutil

    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy2(flyover / "flight.mp4", plain / "other.mp4")
    assert not window.finetune_action.isEnabled()  # nothing open: the dialog could only say so
    assert window.open_path(plain / "other.mp4")  # a project, but no run yet
    assert not window.finetune_action.isEnabled()
    window.close_project()
    assert window.open_path(project)
    assert window.finetune_action.isEnabled()
    window.close_project()
    assert not window.finetune_action.isEnabled()
