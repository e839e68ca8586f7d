"""``damagemap export P --training``: the reviewed frames as training data that
``damagemap train`` reads as the review left them."""

from __future__ import annotations

import json

from app.cli import main


def test_pending_detections_are_written_as_unreviewed_regions_that_train_ignores(reviewed_project, tmp_path,
                                                                                  capsys):
    """Frame 0 has an accepted detection, frame 5 a rejected one; the others of those
    frames are pending: `unreviewed`, which the data set gives as regions to ignore (not
    left out, which trained them as background), and the rejected one `negatives`."""
    from core.store import ProjectStore
    from core.types import ReviewState
    from engine.data import ISBDADataset

    out = tmp_path / "out"
    assert main(["export", str(reviewed_project), "--to", str(out), "--training"]) == 0
    assert "training data: 2 reviewed frames, 1 annotations" in capsys.readouterr().out
    with ProjectStore.open(reviewed_project) as store:
        on_frames = {frame: store.detections(store.latest_run_id(), frame_index=frame) for frame in (0, 5)}
    pending = {frame: [d for d in dets if d.review is ReviewState.PENDING] for frame, dets in on_frames.items()}
    assert all(pending.values())
    data = json.loads((out / "training" / "annotations" / "instances_train.json").read_text())
    assert len(data["negatives"]) == 1 and len(data["unreviewed"]) == sum(map(len, pending.values()))

    dataset = ISBDADataset(out / "training", "train")
    by_frame = {image["frame_index"]: index for index, image in enumerate(dataset.images)}
    for frame, dets in pending.items():
        _, target = dataset[by_frame[frame]]
        assert sorted(target["ignore_boxes"].tolist()) == sorted([list(d.box_xyxy_px) for d in dets])
    assert dataset[by_frame[5]][1]["negative_boxes"].shape == (1, 4)
