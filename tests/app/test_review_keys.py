"""Reviewing with the keyboard on a project with hand-made detections (no model)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.panels.review_panel import ReviewPanel
from core.masks import RleMask
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame, ReviewState
from engine.video import VideoReader

W, H = 160, 96


def _det(frame, x, level=DamageLevel.SEVERE, score=0.9):
    mask = np.zeros((H, W), bool)
    mask[30:60, x : x + 30] = True
    return Detection(frame, level, score, (float(x), 30.0, float(x + 30), 60.0), RleMask.from_array(mask))


@pytest.fixture
def project(flyover):
    video = flyover / "flight.mp4"
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={})
        for index in (0, 2, 4):
            store.write_frame(run, Frame(index, reader.pts_s[index], W, H), [_det(index, 10), _det(index, 90)])
        store.finish_run(run)
    return path


def test_review_with_keys_and_undo(qtbot, window, project, errors):
    assert window.open_path(project)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    view = window.frame_view
    view.setFocus()
    doc = window.document
    assert window.panel(ReviewPanel).view.pending_label.text() == "6 left to review of 6"

    qtbot.keyClick(view, Qt.Key.Key_N)  # first pending: frame 0, left box
    first = window.selected_id
    assert doc.detection(first).frame_index == 0
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert doc.detection(first).review is ReviewState.ACCEPTED
    qtbot.keyClick(view, Qt.Key.Key_N)
    second = window.selected_id
    assert second != first and doc.detection(second).frame_index == 0
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert doc.detection(second).level is DamageLevel.SLIGHT
    qtbot.keyClick(view, Qt.Key.Key_N)
    third = window.selected_id
    assert doc.detection(third).frame_index == 2 and window.current_frame == 2
    qtbot.keyClick(view, Qt.Key.Key_X)
    assert doc.detection(third).review is ReviewState.REJECTED
    assert window.panel(ReviewPanel).view.pending_label.text() == "3 left to review of 6"

    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.detection(third).review is ReviewState.PENDING
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.detection(third).review is ReviewState.REJECTED

    window.select_detection(third)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert window.selected_id is None and doc.store.is_deleted(third)
    assert window.panel(ReviewPanel).view.pending_label.text() == "3 left to review of 5"
    assert errors == []


def test_clicking_a_mask_selects_it_and_rejected_ones_hide(qtbot, window, project, errors):
    assert window.open_path(project)
    view = window.frame_view
    qtbot.waitExposed(view)
    left = next(d for d in window.document.detections(0) if d.box_xyxy_px[0] == 10.0)
    from PySide6.QtCore import QPointF

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(25, 45)))
    assert window.selected_id == left.id
    before = view.render_to_image().pixelColor(25, 45)
    window.set_review(ReviewState.REJECTED)
    window.select_detection(None)
    after = view.render_to_image().pixelColor(25, 45)
    assert before != after  # the rejected mask is no longer painted
    window.layer_checks["show_rejected"].setChecked(True)
    assert view.render_to_image().pixelColor(25, 45) != after
    assert errors == []
