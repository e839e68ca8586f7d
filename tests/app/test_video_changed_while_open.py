"""A project's video moved away, or another file copied over it, while the window has it
open: said once, naming the file and what to do; the review goes on without its frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.document import ProjectDocument
from core.types import ReviewState


def _short_video(tmp_path: Path) -> Path:
    """A 4-frame video of the flyover's size (another flight's start)."""
    from engine.synth import render_flyover

    out = tmp_path / "short"
    render_flyover(out, seconds=0.4, fps=10.0, size=(160, 96), seed=5)
    return out / "flight.mp4"


@pytest.mark.parametrize("change", ["moved away", "replaced by a 4-frame video"])
@pytest.mark.parametrize("off_gui_thread", [False, True])
def test_a_video_changed_while_open_is_said_once_and_the_review_goes_on(
        qtbot, window, two_detections_project, tmp_path, errors, monkeypatch, change, off_gui_thread):
    monkeypatch.setattr(ProjectDocument, "VIDEO_OFF_GUI_THREAD", off_gui_thread)
    if off_gui_thread:  # every frame not at hand is decoded on the frames-ahead thread
        monkeypatch.setattr(ProjectDocument, "GUI_DECODE_PIXELS", 0)
        monkeypatch.setattr(ProjectDocument, "GUI_DECODE_LEAST_FRAMES", 0)
    assert window.open_path(two_detections_project)
    doc = window.document
    qtbot.waitUntil(lambda: not doc.video_loading and doc.awaited_frame is None, timeout=10_000)
    video = doc.video_path
    with qtbot.waitSignal(window.frame_shown, timeout=10_000):
        window.show_frame(2)
    assert errors == []

    if change == "moved away":
        video.rename(tmp_path / "elsewhere.mp4")
    else:
        shutil.copyfile(_short_video(tmp_path), video)  # written over it: the same file, other frames

    for index in (12, 9, 13, 1, 14):  # seeks, as the slider, the timeline and the keys make them
        window.show_frame(index)
    window.transport.step(1)
    window.transport.request(10)
    qtbot.waitUntil(lambda: window.transport.lost, timeout=5_000)

    assert len(errors) == 1, errors  # one message, not one dialog per seek
    said = str(errors[0])
    assert str(video) in said and "since the project opened it" in said
    assert "File > Open Recent" in said
    assert "asked for" not in said  # not the decoder's words
    assert ("moved" in said) if change == "moved away" else ("replaced" in said)
    # the project stays open, its frame on screen and its review at hand
    assert doc.is_open and window.frame_view.frame_index == 2 and window.frame_view.loading_frame is None
    assert not window.transport.play_button.isEnabled()
    assert "since the project opened it" in window.transport.play_button.toolTip()
    detection = doc.detections(2)[0]
    window.select_detection(detection.id)
    window.accept_action.trigger()
    assert doc.detection(detection.id).review == ReviewState.ACCEPTED
    window.show_frame(5)
    assert len(errors) == 1
    # a copy of the project goes on without the frames too, and says why again
    assert window.save_project_as(tmp_path / "copy.dmproj")
    assert window.transport.lost and len(errors) == 2 and str(errors[1]) == said
    assert doc.detection(detection.id).review == ReviewState.ACCEPTED
