"""``damagemap export P --training``: the reviewed frames as training data that
``damagemap train`` reads as the review left them."""

from __future__ import annotations

import json

import pytest

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
    assert "training data: 2 reviewed frames, 1 annotation (ISBDA/COCO)" in capsys.readouterr().out
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


def _reanalyse(project) -> int:  # noqa: ANN001
    """A second run of the same frames with nothing reviewed (a re-analysis with a fine-tuned model)."""
    from dataclasses import replace

    from core.store import ProjectStore
    from core.types import Frame, ReviewState

    with ProjectStore.open(project) as store:
        first = store.latest_run_id()
        times = store.analysed_frames(first)
        detections = store.detections(first)
        run = store.start_run(model={"name": "fine-tuned"}, settings={})
        mask = next(d.mask for d in detections if d.mask is not None)
        for index, time_s in sorted(times.items()):
            store.write_frame(run, Frame(index, time_s, mask.width_px, mask.height_px),
                              [replace(d, id=None, review=ReviewState.PENDING) for d in detections
                               if d.frame_index == index])
        store.finish_run(run)
    return run


def test_nothing_reviewed_in_the_latest_run_names_the_run_that_has_reviews(reviewed_project, tmp_path, capsys):
    """The reviews stay on the run they were made on: after a re-analysis, `--training`
    names that run and its `--run N` instead of sending the reviewer back to review
    (and names `survey decide` only for a survey's flight)."""
    run = _reanalyse(reviewed_project)
    assert main(["export", str(reviewed_project), "--to", str(tmp_path / "a"), "--training"]) == 0
    printed = capsys.readouterr().out
    assert (f"training data: none: no frame of run {run} (the latest) is reviewed; run 1 has 2 reviewed frame(s): "
            "export them with --run 1") in printed
    assert "survey decide" not in printed
    assert main(["export", str(reviewed_project), "--to", str(tmp_path / "b"), "--training", "--run", "1"]) == 0
    assert "training data: 2 reviewed frames" in capsys.readouterr().out

    from core.review import ReviewSession, SetReview
    from core.store import ProjectStore
    from core.types import ReviewState

    with ProjectStore.open(reviewed_project) as store:  # reviews undone: nothing reviewed anywhere
        session = ReviewSession(store, 1, author="tester")
        for detection in store.detections(1):
            if detection.reviewed:
                session.apply(SetReview(detection.id, ReviewState.PENDING))
    assert main(["export", str(reviewed_project), "--to", str(tmp_path / "c"), "--training"]) == 0
    printed = capsys.readouterr().out
    assert ("training data: none: no frame of this run is reviewed yet (review its sites in the app, then export "
            "again)") in printed


def test_evaluate_on_video_frames_reads_the_video_each_exported_image_names(reviewed_project, tiny_detector, tmp_path,
                                                                             capsys):
    """`--frames video` takes each image's frame from the video its `video` field names
    (the project's; a relative one from the data set's folder), and where that is gone
    names where it looked."""
    import shutil

    import numpy as np

    from core.errors import InputError
    from engine.data import ISBDADataset
    from engine.video import VideoReader

    out = tmp_path / "out"
    assert main(["export", str(reviewed_project), "--to", str(out), "--training"]) == 0
    data = out / "training"
    assert main(["evaluate", "--data", str(data), "--weights", str(tiny_detector / "msnet.safetensors"),
                 "--split", "train", "--frames", "video", "--device", "cpu"]) == 0
    assert "video frames" in capsys.readouterr().out

    annotations = data / "annotations" / "instances_train.json"
    document = json.loads(annotations.read_text())
    video = tmp_path / "moved" / "flight.mp4"
    video.parent.mkdir()
    shutil.move(document["images"][0]["video"], video)
    with pytest.raises(InputError, match=rf"names .*flight\.mp4.*{video.parent.parent.name}.*is not there"):
        ISBDADataset(data, "train", video_frames=1.0)
    for image in document["images"]:
        image["video"] = "../../moved/flight.mp4"  # from the data set's folder
    annotations.write_text(json.dumps(document))
    dataset = ISBDADataset(data, "train", video_frames=1.0)
    assert dataset.video_of(0) == data / "../../moved/flight.mp4"
    with VideoReader(video) as reader:
        frame = reader.frame_at(dataset.images[0]["frame_index"]).image
    assert np.array_equal(dataset.read_video_frame(0), frame)
