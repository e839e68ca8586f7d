"""A whole review session driven through the real window (issue 7).

Open a tiny synthetic flyover, analyse it with a tiny random model in the worker, see
the overlays on the frame, accept / reject / relabel / reshape / draw / delete, undo and
redo, export, close, reopen the project and find every edit.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QTimer

from app.panels.map_panel import MapPanel
from app.panels.review_panel import ReviewPanel
from app.workers import AnalysisOptions
from core.store import ProjectStore
from core.types import DamageLevel, Origin, ReviewState

OPTIONS = AnalysisOptions(device="cpu", fps=5.0, srn=False, batch_size=4)


def _analyse(qtbot, window, model):
    """Run the analysis; returns (table rows, still running) seen at each progress."""
    seen: list[tuple[int, bool]] = []
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000) as finished:
        job = window.start_analysis(OPTIONS, model=model)
        # connected after the window's own handler, so the table is already updated
        job.progress.connect(lambda _p: seen.append((window.panel(ReviewPanel).view.model.rowCount(), job.is_running)))
    assert finished.args == [False]
    return seen


def test_open_analyse_review_export_reopen(qtbot, window, flyover, tiny_model, errors, tmp_path):
    video = flyover / "flight.mp4"
    assert window.open_path(video)
    doc = window.document
    assert doc.project_path == flyover / "flight.dmproj"
    assert doc.telemetry_path is not None and doc.telemetry_path.parent == flyover  # found beside the video
    assert window.settings.recent_files()[0] == video.resolve()
    window.threshold_spin.setValue(0.2)  # random weights score about 0.26

    # -- before any analysis the map's drone and camera view follow the video too (the
    # track alone was drawn: nothing to check the telemetry against the video with)
    map_widget = window.panel(MapPanel).map_widget
    qtbot.waitUntil(lambda: map_widget.drone_item is not None and map_widget.drone_item.isVisible(), timeout=30_000)
    window.show_frame(0)
    start = map_widget.drone_item.pos()
    window.show_frame(doc.frame_count - 1)
    assert map_widget.drone_item.pos() != start and map_widget.footprint_item.isVisible()

    seen = _analyse(qtbot, window, tiny_model)
    # Results appeared in the table while the worker was still running.
    assert len(seen) == 8 and any(rows > 0 and running for rows, running in seen)
    table = window.panel(ReviewPanel).view.model
    assert table.rowCount() == len(doc.all_detections()) > 0
    assert "left to review" in window.panel(ReviewPanel).view.pending_label.text()

    # -- the map follows the video: drone and footprint move with the frame
    from geo.mapping import DamageMap

    qtbot.waitUntil(lambda: isinstance(window.panel(MapPanel).map_widget.content, DamageMap), timeout=30_000)
    window.show_frame(0)
    drone_start = window.panel(MapPanel).map_widget.drone_item.pos()
    window.show_frame(doc.frame_count - 1)
    assert window.panel(MapPanel).map_widget.drone_item.pos() != drone_start
    assert window.panel(MapPanel).map_widget.footprint_item.isVisible()

    # -- overlays change the pixels where a mask is
    first = table.detection(0)
    window.select_detection(first.id)
    assert window.current_frame == first.frame_index
    window.select_detection(None)
    with_overlay = window.frame_view.render_to_image()
    for check in window.layer_checks.values():
        check.setChecked(False)
    bare = window.frame_view.render_to_image()
    window.layer_checks["show_masks"].setChecked(True)
    window.layer_checks["show_boxes"].setChecked(True)
    ys, xs = np.nonzero(window.document.detection(first.id).mask.to_array())  # the table's rows carry no mask
    y, x = int(ys.mean()), int(xs.mean())
    assert with_overlay.pixelColor(x, y) != bare.pixelColor(x, y)

    # -- the table and the video follow each other; a map site seeks to its best frame
    last_row = table.rowCount() - 1
    window.panel(ReviewPanel).view.table.selectRow(window.panel(ReviewPanel).view.proxy.mapFromSource(table.index(last_row, 0)).row())
    target = table.detection(last_row)
    assert window.selected_id == target.id and window.current_frame == target.frame_index
    window.select_detection(first.id)
    current = window.panel(ReviewPanel).view.table.currentIndex()
    assert window.panel(ReviewPanel).view.proxy.mapToSource(current).row() == table.row_of(first.id)
    window.panel(MapPanel).map_widget.site_clicked.emit(target.frame_index, target.id)
    assert window.selected_id == target.id and window.current_frame == target.frame_index

    # -- review: accept, reject, relabel, reshape, draw, delete
    ids = [table.detection(r).id for r in range(table.rowCount())]
    a, b, c, d, e = ids[:5]
    window.select_detection(a)
    window.accept_action.trigger()
    window.select_detection(b)
    window.reject_action.trigger()
    window.select_detection(c)
    window.relabel_actions[DamageLevel.DEBRIS - 1].trigger()
    assert doc.detection(a).review is ReviewState.ACCEPTED
    assert doc.detection(b).review is ReviewState.REJECTED
    assert doc.detection(c).level is DamageLevel.DEBRIS

    window.select_detection(d)
    editor = window.frame_view.editor
    assert editor is not None
    before = doc.detection(d).mask
    editor.setPos(editor.pos() + QPointF(6, 4))  # drag the whole outline
    with qtbot.waitSignal(window.frame_view.mask_edited):
        editor.commit()
    moved = doc.detection(d)
    assert moved.mask != before and moved.origin is Origin.EDITED

    window.toggle_draw_mode(True)
    for px, py in [(10, 10), (40, 10), (40, 30), (10, 30)]:
        window.frame_view.add_draft_point(QPointF(px, py))
    window.frame_view.finish_draft()
    added = doc.detection(window.selected_id)
    assert added.origin is Origin.ADDED and added.review is ReviewState.ACCEPTED
    assert added.mask.area_px == pytest.approx(30 * 20, rel=0.2)

    window.select_detection(e)
    window.delete_action.trigger()
    assert doc.detection(e) is None or doc.store.is_deleted(e)
    assert table.row_of(e) is None

    # -- undo and redo walk back through the edits, views follow
    stack = doc.undo_stack
    assert stack.count() == 6
    window.undo_action.trigger()  # the delete
    assert not doc.store.is_deleted(e) and table.row_of(e) is not None
    window.undo_action.trigger()  # the drawn outline
    assert table.row_of(added.id) is None
    window.undo_action.trigger()  # the move
    assert doc.detection(d).mask == before
    window.redo_action.trigger()
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert doc.detection(d).mask == moved.mask
    assert doc.store.is_deleted(e) and table.row_of(added.id) is not None

    # -- next unreviewed skips what is decided
    window.select_detection(a)
    window.next_action.trigger()
    assert doc.detection(window.selected_id).review is ReviewState.PENDING

    # -- export: GeoJSON + offline HTML map, and the reviewed frames as training data
    from app.dialogs.export_dialog import ExportChoice

    out_dir = tmp_path / "export"
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as exported:
        window.start_export(ExportChoice(out_dir=out_dir, formats=("geojson", "html"), coco=True))
    written = {p.name for p in exported.args[0]}
    assert {"damage_sites.geojson", "track.geojson", "damage_map.html", "instances_train.json"} <= written
    coco_json = out_dir / "training" / "annotations" / "instances_train.json"
    assert json.loads(coco_json.read_text())["annotations"]
    assert "no training data" not in window.statusBar().currentMessage()
    # asked for and none came (nothing reviewed): said, not "Exported 9 files" alone
    window._on_export_done(ExportChoice(out_dir=out_dir, formats=("geojson",), coco=True), [out_dir / "a.geojson"])
    assert window.statusBar().currentMessage().endswith(
        "no training data: no frame of this run is reviewed yet (review its sites, then export the training data)")

    # -- close, reopen the project file, every edit is there
    project = doc.project_path
    window.close_project()
    assert not doc.is_open and window.panel(ReviewPanel).view.model.rowCount() == 0
    assert window.open_path(project)
    assert doc.detection(a).review is ReviewState.ACCEPTED
    assert doc.detection(b).review is ReviewState.REJECTED
    assert doc.detection(c).level is DamageLevel.DEBRIS
    assert doc.detection(d).mask == moved.mask
    assert doc.store.is_deleted(e)
    assert doc.detection(added.id).origin is Origin.ADDED
    assert errors == []


def test_gui_stays_responsive_during_analysis(qtbot, window, flyover, tiny_model, errors):
    assert window.open_path(flyover / "flight.mp4")
    ticks_while_running: list[int] = []
    ticks_at_progress: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        job = window.start_analysis(AnalysisOptions(device="cpu", fps=2.5, srn=False, batch_size=2), model=tiny_model)
        timer.timeout.connect(lambda: job.is_running and ticks_while_running.append(1))
        job.progress.connect(lambda _p: ticks_at_progress.append(len(ticks_while_running)))
        timer.start()
    timer.stop()
    # A GUI-thread timer kept firing while the worker ran the model (about a second
    # per batch of two here); a blocked event loop would fire it at most once per batch.
    assert len(ticks_while_running) >= 10
    assert len(ticks_at_progress) == 4 and ticks_at_progress[0] >= 3
    assert errors == []


def test_cancel_keeps_what_was_done_and_is_not_an_error(qtbot, window, flyover, tiny_model, errors):
    assert window.open_path(flyover / "flight.mp4")
    enabled_while_running = []
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000) as finished:
        job = window.start_analysis(AnalysisOptions(device="cpu", fps=5.0, srn=False, batch_size=1), model=tiny_model)
        job.progress.connect(lambda _p: enabled_while_running.append(
            (window.analyse_action.isEnabled(), window.finetune_action.isEnabled())))
        job.progress.connect(lambda _p: window.cancel_analysis())
    assert finished.args == [True]
    # a fine-tune is not started on the run being written (nor beside it, on the same cores)
    assert enabled_while_running and set(enabled_while_running) == {(False, False)}
    done = len(window.document.analysed_frames())
    assert 1 <= done < 8
    assert errors == []
    with ProjectStore.open(window.document.project_path) as store:
        assert not store.run(store.latest_run_id()).finished
    # Analysing again with the same settings resumes the run: every frame once.
    run_id = window.document.run_id
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000) as finished:
        window.start_analysis(AnalysisOptions(device="cpu", fps=5.0, srn=False, batch_size=4), model=tiny_model)
    assert finished.args == [False] and window.document.run_id == run_id
    assert len(window.document.analysed_frames()) == 8  # 1.5 s at 5 frames/s
    assert window.panel(ReviewPanel).view.model.rowCount() == len(window.document.all_detections())


def test_bad_files_are_reported_once_and_the_window_survives(qtbot, window, tmp_path, errors):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    assert not window.open_path(broken)
    assert not window.open_path(tmp_path / "missing.dmproj")
    assert len(errors) == 2 and "broken.mp4" in str(errors[0])
    assert not window.document.is_open


def test_a_failing_model_is_reported_once(qtbot, window, flyover, errors):
    import torch

    class Broken(torch.nn.Module):
        def forward(self, images):
            raise RuntimeError("boom: the model broke")

    assert window.open_path(flyover / "flight.mp4")
    with qtbot.waitSignal(window.analysis_finished, timeout=30_000):
        window.start_analysis(OPTIONS, model=Broken())
    assert len(errors) == 1 and "boom" in str(errors[0])
    assert window.eta_label.text() == "analysis failed"
    assert window.analyse_action.isEnabled()  # the window is usable again


def test_an_analysis_another_damagemap_runs_is_said_before_the_model_loads(qtbot, window, flyover, tiny_model,
                                                                           errors):
    """`damagemap analyze` beside the window: Analyse loaded the model, then failed at the
    first frame the other had stored."""
    import datetime as dt
    import socket

    assert window.open_path(flyover / "flight.mp4")
    store = window.document.store
    run = store.start_run(model={}, settings={})
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    writer = {"pid": 1, "host": socket.gethostname(), "user": "analyst", "since_utc": now, "last_utc": now}
    with store._transaction() as cur:  # as the other process records itself, frame by frame
        cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"run_{run}_writer", json.dumps(writer)))
    assert window.start_analysis(AnalysisOptions(device="cpu", fps=5.0, srn=False), model=tiny_model) is None
    assert errors and f"This project's run {run} is being analysed by" in str(errors[-1])
    clock = dt.datetime.fromisoformat(now.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"since {clock})" in str(errors[-1]) and f"stored a frame at {clock};" in str(errors[-1])  # not ISO text
