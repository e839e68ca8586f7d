"""Fixtures for the GUI tests: a tiny synthetic flyover, isolated settings, an error sink.

Everything runs under ``QT_QPA_PLATFORM=offscreen``; the flyover is 160x96 px, 1.5 s at
10 fps (15 frames) and rendered once per session.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FLYOVER_SIZE = (160, 96)
FLYOVER_SECONDS = 1.5
FLYOVER_FPS = 10.0


@pytest.fixture(scope="session")
def flyover_template(tmp_path_factory) -> Path:
    """A rendered flyover folder (video, GPX, SRT, ground truth), shared read-only."""
    from engine.synth import render_flyover

    out = tmp_path_factory.mktemp("flyover")
    render_flyover(out, seconds=FLYOVER_SECONDS, fps=FLYOVER_FPS, size=FLYOVER_SIZE, seed=3)
    return out


@pytest.fixture
def flyover(flyover_template, tmp_path) -> Path:
    """A private copy of the flyover's flight files (the project is created beside them)."""
    target = tmp_path / "flight"
    target.mkdir()
    for name in ("flight.mp4", "flight.gpx", "flight.SRT"):
        shutil.copy2(flyover_template / name, target / name)
    return target


@pytest.fixture
def errors():
    """Errors shown to the user, collected instead of opening modal boxes."""
    import app.errors

    app.errors.error_sink = []
    yield app.errors.error_sink
    app.errors.error_sink = None


@pytest.fixture
def app_settings(tmp_path, qapp):
    from PySide6.QtCore import QSettings

    from app.settings import AppSettings

    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, app_settings, errors):
    from app.main_window import MainWindow

    win = MainWindow(settings=app_settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.analysis_job is not None and win.analysis_job.is_running:
        win.cancel_analysis()
        qtbot.waitUntil(lambda: not win.analysis_job.is_running, timeout=30_000)
    win.document.close()


@pytest.fixture
def map_panel(qtbot, flyover):
    """A map panel of its own (no window) on a document with the flyover open."""
    from app.document import ProjectDocument
    from app.panels.map_panel import MapPanel

    doc = ProjectDocument()
    panel = MapPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.open_path(flyover / "flight.mp4")
    yield panel
    doc.close()


@pytest.fixture(scope="session")
def tiny_model():
    """A randomly initialised CPU MSNet that yields three full-box masks per frame.

    Random weights give near-uniform class scores (about 0.26); the mask logits' bias
    is raised so every mask covers its box, which makes overlays easy to find.
    """
    import torch

    from engine.msnet import build_msnet

    torch.manual_seed(0)
    model = build_msnet(backbone="mobilenet_v3", heads="light", min_size=96, max_size=160,
                        anchor_sizes=(16, 32, 64, 128, 256))
    model.roi_heads.detections_per_img = 3
    with torch.no_grad():
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.fill_(4.0)
    return model.eval()


@pytest.fixture(autouse=True)
def _video_opened_at_once(monkeypatch):
    """A project's video is opened before ``open_path`` returns, as most tests act on the
    player at once; the tests of its opening off the GUI thread turn that back on."""
    from app.document import ProjectDocument

    monkeypatch.setattr(ProjectDocument, "VIDEO_OFF_GUI_THREAD", False)


@pytest.fixture(autouse=True)
def _wait_for_workers(qapp):
    """No test leaves a worker running into the next one (or into a deleted tmp dir)."""
    yield
    from PySide6.QtCore import QThreadPool

    from app.workers import wait_for_jobs

    QThreadPool.globalInstance().waitForDone(30_000)
    wait_for_jobs()


@pytest.fixture
def reviewed_project(flyover_template, flyover, tmp_path) -> Path:
    """The flyover's ground truth as a run of a tiny saved model; frames 0 and 5 reviewed
    (the fine-tune dialog's tests)."""
    import torch

    from core.review import ReviewSession, SetReview
    from core.store import ProjectStore
    from core.types import Frame, ReviewState
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


@pytest.fixture
def two_detections_project(flyover) -> Path:
    """A project of one run with two Severe detections on frame 2, left to review."""
    import numpy as np

    from core.masks import RleMask
    from core.store import ProjectStore
    from core.types import DamageLevel, Detection, Frame
    from engine.video import probe_video

    video = flyover / "flight.mp4"
    info = probe_video(video)
    w, h = info.width_px, info.height_px
    mask = np.zeros((h, w), bool)
    mask[10:30, 10:40] = True
    detections = [Detection(2, DamageLevel.SEVERE, s, (10.0, 10.0, 40.0, 30.0), RleMask.from_array(mask))
                  for s in (0.9, 0.6)]
    with ProjectStore.create(flyover / "flight.dmproj", video_path=video) as store:
        run = store.start_run(model={"weights": None}, settings={})
        store.write_frame(run, Frame(2, info.pts_s[2], w, h), detections)
        store.finish_run(run)
    return flyover / "flight.dmproj"


@pytest.fixture
def truth_run_project(sites_truth, tmp_path) -> Path:
    """The sites flyover's ground truth as one analysis run: three damaged places."""
    from core.store import ProjectStore
    from tests.truth_runs import write_run

    path = tmp_path / "flight.dmproj"
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    return path


@pytest.fixture
def open_sites(qtbot, window):
    """``open_sites(project)``: the window's Sites panel once ``project`` is open, its sites
    read and the site list holding the keys, as a reviewer finds it."""
    from PySide6.QtWidgets import QApplication

    from app.panels.site_review_panel import SiteReviewPanel

    def opened(project: Path) -> SiteReviewPanel:
        window.activateWindow()
        panel = window.panel(SiteReviewPanel)
        with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
            assert window.open_path(project)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.site_list, timeout=5_000)
        return panel

    return opened
