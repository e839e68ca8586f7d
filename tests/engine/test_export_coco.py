"""Reviewed frames become ISBDA/COCO training data that pycocotools reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ExportError
from core.masks import RleMask
from core.review import AddDetection, Relabel, ReviewSession, SetReview
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame, ReviewState
from engine.export_coco import export_reviewed_frames
from engine.video import write_video

W, H = 64, 48


def _det(frame, box, level=DamageLevel.SEVERE, score=0.8):
    mask = np.zeros((H, W), bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return Detection(frame, level, score, tuple(map(float, box)), RleMask.from_array(mask),
                     building_box_xyxy_px=(0.0, 0.0, 40.0, 40.0))


@pytest.fixture
def project(tmp_path):
    video = tmp_path / "clip.mp4"
    frames = [np.full((H, W, 3), 20 * i, np.uint8) for i in range(4)]
    write_video(video, frames, fps=4.0)
    store = ProjectStore.create(tmp_path / "clip.dmproj", video_path=video)
    run = store.start_run(model={"arch": "test"}, settings={})
    ids = {}
    for i in range(4):
        dets = [_det(i, (5, 5, 20, 20)), _det(i, (30, 10, 50, 30), DamageLevel.DEBRIS)]
        ids[i] = store.write_frame(run, Frame(i, i / 4, W, H), dets)
    yield store, run, ids
    store.close()


def test_only_reviewed_frames_and_kept_detections_are_exported(project, tmp_path):
    from pycocotools.coco import COCO

    store, run, ids = project
    session = ReviewSession(store, run)
    session.apply(SetReview(ids[1][0], ReviewState.ACCEPTED))
    session.apply(SetReview(ids[1][1], ReviewState.REJECTED))
    session.apply(Relabel(ids[3][0], DamageLevel.SLIGHT))  # a correction accepts too
    session.apply(AddDetection(run, _det(3, (2, 30, 12, 44), DamageLevel.SEVERE)))

    result = export_reviewed_frames(store, tmp_path / "data", split="val")

    assert result.annotations_path == tmp_path / "data" / "annotations" / "instances_val.json"
    coco = COCO(str(result.annotations_path))
    frames = sorted(img["frame_index"] for img in coco.dataset["images"])
    assert frames == [1, 3]
    for img in coco.dataset["images"]:
        assert (tmp_path / "data" / "val" / img["file_name"]).is_file()
    anns = coco.dataset["annotations"]
    assert result.annotation_count == len(anns) == 3  # rejected #2 and pending debris on f3 left out
    assert sorted(a["category_id"] for a in anns) == [1, 2, 2]
    for ann in anns:
        assert ann["bbox"] == ann["damage_bbox"] and len(ann["house_bbox"]) == 4
        assert ann["area"] > 0 and ann["segmentation"] and ann["iscrowd"] == 0
        assert coco.annToMask(ann).sum() > 0
    names = {c["id"]: c["name"] for c in json.loads(result.annotations_path.read_text())["categories"]}
    assert names == {1: "Slight", 2: "Severe", 3: "Debris"}


def test_pending_detections_can_be_included(project, tmp_path):
    store, run, ids = project
    ReviewSession(store, run).apply(SetReview(ids[2][0], ReviewState.ACCEPTED))
    result = export_reviewed_frames(store, tmp_path / "data", include_pending=True)
    assert (result.image_count, result.annotation_count) == (1, 2)


def test_a_project_without_runs_is_refused(tmp_path):
    video = tmp_path / "clip.mp4"
    write_video(video, [np.zeros((H, W, 3), np.uint8)] * 2, fps=2.0)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=video) as store:
        with pytest.raises(ExportError, match="no analysis run"):
            export_reviewed_frames(store, tmp_path / "out")
