"""engine.analysis.segments: cutting a run into segments, and segments analysed apart
giving exactly the results of one uninterrupted run (tiny MSNet + SRN, CPU)."""

import pytest
import torch

from core.store import ProjectStore
from engine.analysis.segments import Segment, analyse_segment, split_segments
from engine.analyze import analyze_video, load_detector, plan_analysis

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FRAMES = 12


def test_segments_cover_the_todo_frames_once_with_one_frame_of_context_each_side():
    selected = list(range(0, 24, 2))
    segments = split_segments(selected, selected, workers=2, max_frames=4)
    assert [s.frames for s in segments] == [(0, 2, 4, 6), (8, 10, 12, 14), (16, 18, 20, 22)]
    assert [(s.before, s.after) for s in segments] == [((), (8,)), ((6,), (16,)), ((14,), ())]
    assert segments[-1].last_of_run and not segments[0].last_of_run
    assert segments[1].reads == (6, 8, 10, 12, 14, 16)


def test_stored_frames_end_a_segment_and_still_give_context():
    selected = list(range(10))
    segments = split_segments(selected, [0, 1, 2, 5, 6, 9], max_frames=8)
    assert [s.frames for s in segments] == [(0, 1, 2), (5, 6), (9,)]
    assert [(s.before, s.after) for s in segments] == [((), (3,)), ((4,), (7,)), ((8,), ())]


def test_few_frames_are_shared_among_the_workers_and_no_overlap_without_srn():
    segments = split_segments(list(range(6)), list(range(6)), workers=3, max_frames=32, overlap=0)
    assert [s.frames for s in segments] == [(0, 1), (2, 3), (4, 5)]
    assert all(s.before == () and s.after == () for s in segments)
    assert split_segments([1, 2], []) == []


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="not among the selected"):
        split_segments([0, 2], [1])
    with pytest.raises(ValueError, match="max_frames"):
        split_segments([0], [0], max_frames=0)


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    root = tmp_path_factory.mktemp("segments")
    texture_video(root / "flight.mp4", FRAMES)
    return with_tiny_detector(root, srn=True)


def _rows(detections):
    return sorted((d.frame_index, int(d.level), round(d.score, 4), None if d.refined_score is None else round(d.refined_score, 4),
                   tuple(round(v, 2) for v in d.box_xyxy_px)) for d in detections)


def _assert_close(rows, expected):
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        assert row[:2] == want[:2]
        assert row[2] == pytest.approx(want[2], abs=2e-4) and row[3] == pytest.approx(want[3], abs=2e-4)
        assert row[4] == pytest.approx(want[4], abs=0.02)


def test_segments_analysed_apart_in_any_order_equal_one_whole_run(assets, tmp_path):
    model, info = load_detector(assets / "msnet.safetensors", torch.device("cpu"))
    with ProjectStore.create(tmp_path / "whole.dmproj", video_path=assets / "flight.mp4") as store:
        plan = plan_analysis(store, model=model, model_info=info, srn_weights=assets / "srn.safetensors",
                             device="cpu")
        assert plan.refiner is not None
        list(analyze_video(store, plan, batch_size=1))
        whole = _rows(store.detections(plan.run_id))
        measured = store.frame_qualities(plan.run_id)
    assert whole and all(row[3] is not None for row in whole)

    segments = split_segments(plan.selected, plan.todo, max_frames=5)
    assert len(segments) == 3
    pieces = []
    for segment in reversed(segments):
        results = analyse_segment(assets / "flight.mp4", segment, model=plan.model, refiner=plan.refiner,
                                  device=plan.device, score_threshold=0.2, batch_size=2)
        assert [r.frame.index for r in results] == list(segment.frames)
        assert all(r.frame.image is None and r.frame.quality == measured[r.frame.index] for r in results)
        pieces += [d for r in results for d in r.detections]
    _assert_close(_rows(pieces), whole)


def test_a_segment_without_its_neighbour_gets_other_scores(assets):
    """The overlap matters: without the frame after it, a segment's last frame is refined
    against one neighbour only."""
    model, _ = load_detector(assets / "msnet.safetensors", torch.device("cpu"))
    from engine.analysis.plan import load_refiner

    refiner, _ = load_refiner(model, torch.device("cpu"), assets / "srn.safetensors")
    common = dict(model=model, refiner=refiner, device=torch.device("cpu"), score_threshold=0.2)
    with_context = analyse_segment(assets / "flight.mp4", Segment(0, (3, 4), (2,), (5,)), **common)
    without = analyse_segment(assets / "flight.mp4", Segment(0, (3, 4)), **common)
    refined = lambda results: [d.refined_score for r in results for d in r.detections]  # noqa: E731
    assert [d.score for r in with_context for d in r.detections] == [d.score for r in without for d in r.detections]
    assert refined(with_context) != refined(without)
