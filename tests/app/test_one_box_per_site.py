""""One per site" in the overlay toolbar: where the detector boxed one damage twice in a
frame, the frame view draws the site's best box only; the other stays in the project and
is drawn once selected; turned off, every box is drawn."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.panels.site_review_panel import SiteReviewPanel
from core.masks import RleMask
from core.store import ProjectStore
from tests.truth_runs import write_run


def _patch_inside(detection, next_id: int):
    """A smaller, lower-scoring box on the centre of ``detection``'s mask: the detector's
    second box on one damage."""
    mask = detection.mask.to_array()
    rows, cols = np.nonzero(mask)
    cy, cx = int(np.median(rows)), int(np.median(cols))
    patch = np.zeros_like(mask)
    patch[max(0, cy - 2):cy + 3, max(0, cx - 2):cx + 3] = True
    patch &= mask
    if patch.sum() < 4:
        return None
    ys, xs = np.nonzero(patch)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    return replace(detection, score=0.7, box_xyxy_px=box, mask=RleMask.from_array(patch), id=next_id)


@pytest.fixture
def project(sites_truth, tmp_path):
    doubled = list(sites_truth.detections)
    for k, detection in enumerate(sites_truth.detections):
        patch = _patch_inside(detection, 10_000 + k)
        if patch is not None:
            doubled.append(patch)
    assert len(doubled) > len(sites_truth.detections)
    path = tmp_path / "boxed-twice.dmproj"
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, doubled, sites_truth.times)
    return path


def test_one_box_per_site_is_drawn_and_a_selected_second_box_too(qtbot, window, project):
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    review = panel.review
    second = review.second_sightings()
    assert second  # the patches share their damage's site and frame
    doc = window.document
    by_id = {d.id: d for frame in {s.frame_index for site in review.sites for s in site.sightings}
             for d in doc.detections(frame)}
    assert all(by_id[i].score == pytest.approx(0.7) for i in second)  # the lower-scoring patches
    style = window.frame_view.style
    assert style.one_per_site and style.hidden_ids == second
    assert not any(style.visible(by_id[i]) for i in second)

    hidden = next(iter(second))
    window.select_detection(hidden)
    assert window.frame_view.style.visible(by_id[hidden])  # drawn while selected
    window.select_detection(None)
    assert not window.frame_view.style.visible(by_id[hidden])

    window.layer_checks["one_per_site"].setChecked(False)
    assert all(window.frame_view.style.visible(by_id[i]) for i in second)
