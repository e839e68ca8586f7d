"""Fine-tuning a project's detector from its reviews, on a tiny flyover and a tiny model:
the fine-tune sees exactly the reviewed frames (rejected detections as negatives,
unreviewed frames never), the model versions live beside the project, a re-analysis
with the improved model keeps every review decision, and two runs compare."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core.errors import InputError, ModelError
from core.masks import RleMask
from core.review import Relabel, ReviewSession, SetMask, SetReview
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from services.analysis import AnalysisRequest, analyse
from services.finetune import (
    FinetuneRequest,
    compare_runs,
    finetune,
    finetune_project,
    model_output,
    plan_finetune,
    split_frames,
)
from services.models import describe_weights, export_model, find_model, list_models, models_dir, run_weights


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def flyover(tmp_path_factory):
    from engine.synth import render_flyover

    out = tmp_path_factory.mktemp("flyover")
    return render_flyover(out, seconds=1.5, fps=10.0, size=(160, 96), seed=3, annotate_every=1)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    """A random MobileNetV3 MSNet that keeps 3 detections a frame, with full-box masks."""
    from engine.msnet import build_msnet
    from engine.weights import save_model

    torch.manual_seed(0)
    model = build_msnet(backbone="mobilenet_v3", heads="light", min_size=96, max_size=160,
                        anchor_sizes=(16, 32, 64, 128, 256), box_batch_size_per_image=32,
                        rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=64, box_detections_per_img=3)
    with torch.no_grad():
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.fill_(4.0)
    return save_model(model, tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


def _analyse(store: ProjectStore, weights: Path, *, new_run: bool = False) -> int:
    request = AnalysisRequest(device="cpu", weights=weights, stride=2, srn=False, new_run=new_run)
    last = None
    for last in analyse(store, request):
        pass
    assert last is not None
    return store.latest_run_id()


@pytest.fixture(scope="module")
def analysed_project(flyover, tiny_weights, tmp_path_factory) -> Path:
    """A project analysed once with the tiny model (every 2nd frame: 0, 2, ..., 14)."""
    path = tmp_path_factory.mktemp("template") / "flight.dmproj"
    with ProjectStore.create(path, video_path=flyover.video, telemetry_path=flyover.srt) as store:
        # the random model scores about 0.26: map every detection
        store.set_project_settings(replace(store.project_settings(), min_score=0.2))
        _analyse(store, tiny_weights)
    return path


@pytest.fixture
def project(analysed_project, tmp_path) -> Path:
    """A private copy of the analysed project."""
    import shutil

    return Path(shutil.copy2(analysed_project, tmp_path / "flight.dmproj"))


def _review(store: ProjectStore, run_id: int) -> dict[str, set[int]]:
    """Accept on frame 0, reject on 0 and 12, relabel on 4, redraw on 8; 2, 6, 10, 14 untouched."""
    session = ReviewSession(store, run_id, author="tester")
    on = {f: store.detections(run_id, frame_index=f) for f in (0, 4, 8, 12)}
    assert all(len(dets) >= 2 for dets in on.values())
    session.apply(SetReview(on[0][0].id, ReviewState.ACCEPTED))
    session.apply(SetReview(on[0][1].id, ReviewState.REJECTED))
    session.apply(Relabel(on[4][0].id, DamageLevel.DEBRIS))
    mask = on[8][0].mask
    square = torch.zeros(mask.height_px, mask.width_px, dtype=torch.uint8)
    square[10:30, 20:50] = 1
    session.apply(SetMask(on[8][0].id, RleMask.from_array(square.numpy().astype(bool))))
    session.apply(SetReview(on[12][0].id, ReviewState.REJECTED))
    return {"positive": {on[0][0].id, on[4][0].id, on[8][0].id}, "negative": {on[0][1].id, on[12][0].id}}


def _snapshot(store: ProjectStore, run_id: int) -> dict[int, tuple]:
    return {d.id: (d.review, d.origin, d.level, d.box_xyxy_px, d.mask) for d in store.detections(run_id)}


def test_split_frames_holds_out_every_kth():
    assert split_frames([8, 0, 4, 12, 16], 2) == ([0, 8, 16], [4, 12])
    assert split_frames([0, 4], 0) == ([0, 4], [])
    with pytest.raises(InputError, match="k >= 2"):
        FinetuneRequest(holdout_every=1)


def test_the_finetune_uses_exactly_the_reviewed_frames(project, flyover):
    with ProjectStore.open(project) as store:
        run_id = store.latest_run_id()
        untouched = store.detections(run_id)
        ids = _review(store, run_id)
        assert model_output(store, run_id) == untouched  # the reviews taken back: what the model gave
        plan = plan_finetune(store, FinetuneRequest(steps=4, holdout_every=0, replay=flyover.out_dir, batch_size=2,
                                                    replay_fraction=0.5, device="cpu"))
        pending_on_reviewed = [d for d in store.detections(run_id) if d.frame_index in (0, 4, 8, 12) and not d.reviewed]
    assert plan.train_frames == [0, 4, 8, 12] and plan.heldout_frames == []
    data = json.loads((Path(plan.config.data) / "annotations" / "instances_train.json").read_text())
    assert sorted(image["frame_index"] for image in data["images"]) == [0, 4, 8, 12]
    assert len(data["annotations"]) == len(ids["positive"])
    assert {a["category_id"] for a in data["annotations"]} >= {int(DamageLevel.DEBRIS)}
    assert len(data["negatives"]) == len(ids["negative"])  # rejected: negatives, never targets
    assert len(data["unreviewed"]) == len(pending_on_reviewed)

    last = None
    with ProjectStore.open(project) as store:
        for last in finetune(store, FinetuneRequest(), plan=plan):
            pass
    assert last.state == "finished"
    seen = {label for label in last.summary["frames_seen_this_session"] if label.startswith("review:")}
    assert seen == {f"review:frame{f}" for f in (0, 4, 8, 12)}  # 2, 6, 10, 14 never
    card = json.loads(last.weights.with_suffix(".json").read_text())
    assert card["fine_tuned_on"]["reviewed_frames"] == [0, 4, 8, 12]
    assert card["fine_tuned_on"]["negatives"] == 2 and card["fine_tuned_on"]["run_id"] == run_id
    assert last.weights.parent.parent == models_dir(project)
    assert [v.name for v in list_models(project)] == ["ft-001"]


def test_a_project_without_reviews_is_refused(project):
    with ProjectStore.open(project) as store, pytest.raises(InputError, match="no run has reviewed"):
        plan_finetune(store, FinetuneRequest(device="cpu"))


def test_a_fine_tune_refused_as_it_is_planned_leaves_no_version_behind(project, flyover, monkeypatch):
    """A GPU asked of a machine without one, or a failure while its data is exported: no
    version is left to be listed as a fine-tune that stopped and cannot be resumed."""
    import services.finetune as service

    with ProjectStore.open(project) as store:
        _review(store, store.latest_run_id())
        monkeypatch.setattr(service, "_device", lambda name: (_ for _ in ()).throw(InputError("no CUDA GPU here")))
        with pytest.raises(InputError, match="no CUDA GPU"):
            plan_finetune(store, FinetuneRequest(steps=1, replay=flyover.out_dir, device="cuda"))
        monkeypatch.undo()

        def fails(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(service, "synthetic_replay", fails)  # the replay data made after the version folder
        with pytest.raises(OSError, match="No space"):
            plan_finetune(store, FinetuneRequest(steps=1, device="cpu"))
    assert list_models(project) == [] and not any(models_dir(project).glob("ft-*"))


def test_reanalysis_with_the_improved_model_keeps_every_review_decision(project, analysed_project, flyover):
    from core.sites import distance_m, site_decision
    from services.sites import keep_earlier_decisions, site_review

    with ProjectStore.open(analysed_project) as store:  # the sites before any edit
        unedited = [(s.lon_deg, s.lat_deg) for s in site_review(store).sites]
    with ProjectStore.open(project) as store:
        run1 = store.latest_run_id()
        _review(store, run1)
        review = site_review(store, run1)
        # a site the edits did not move (a rejected or redrawn sighting regroups the sites
        # around it): the new run, with next to the same weights, finds it where it was
        site = next(item.site for item in review.queue if not item.site.decided and any(
            distance_m(item.site.lon_deg, item.site.lat_deg, lon, lat) < 0.5 for lon, lat in unedited))
        ReviewSession(store, run1, author="tester").apply(site_decision(site, ReviewState.ACCEPTED))
        before = _snapshot(store, run1)
        edits = len(store.edit_history(run1))

    # a tiny learning rate: the random model must go on finding the same places
    request = FinetuneRequest(steps=2, holdout_every=2, replay=flyover.out_dir, device="cpu", lr=1e-6)
    states = [p.state for p in finetune_project(project, request)]
    assert states[-1] == "finished"
    version = find_model(project)

    with ProjectStore.open(project) as store:
        run2 = _analyse(store, version.weights, new_run=True)
        assert run2 != run1
        assert run_weights(store, run2) == version.weights.resolve()
        assert describe_weights(run_weights(store, run2)) == "ft-001"
        kept = keep_earlier_decisions(store, run2)
        assert _snapshot(store, run1) == before  # every decision of the first run as it was
        assert len(store.edit_history(run1)) == edits
        assert kept > 0  # the site decision reached the new run
        assert any(d.review is ReviewState.ACCEPTED for d in store.detections(run2))

        comparison = compare_runs(store, run1, run2)
        held = version.card()["fine_tuned_on"]["heldout_frames"]
        assert comparison.held_out and comparison.frames == held and comparison.truth_run == run1
        assert [r.run_id for r in comparison.runs] == [run1, run2]
        assert all(r.mask_ap is not None and 0.0 <= r.mask_ap <= 1.0 for r in comparison.runs)
        table = comparison.table()
        assert "mask AP (%)" in table and "ft-001" in table and "held out" in table
        # the run whose reviews are the truth is scored against itself: said, beside its AP
        notes = {r.run_id: " ".join(r.notes) for r in comparison.runs}
        assert "against its own reviewed detections" in notes[run1] and "against its own" not in notes[run2]
        assert "against its own reviewed detections" in table


def test_a_fine_tune_that_fails_before_its_first_checkpoint_leaves_no_version_behind(project, flyover, tmp_path):
    """A replay folder with an image missing stops the fine-tune as it opens its data:
    the version it made cannot be resumed, so it is not left behind to be listed as an
    unfinished fine-tune (nor offered to --export as one to resume first)."""
    import shutil

    replay = Path(shutil.copytree(flyover.out_dir, tmp_path / "replay"))
    missing = sorted((replay / "train").glob("*.jpg"))[0]
    missing.unlink()
    with ProjectStore.open(project) as store:
        _review(store, store.latest_run_id())
    request = FinetuneRequest(steps=1, holdout_every=0, replay=replay, device="cpu")
    with pytest.raises(InputError, match=missing.name):
        list(finetune_project(project, request))
    assert list_models(project) == [] and not any(models_dir(project).glob("ft-*"))


def test_cancel_then_resume_finishes_the_same_version(project, flyover):
    import threading

    with ProjectStore.open(project) as store:
        _review(store, store.latest_run_id())
    cancel = threading.Event()
    request = FinetuneRequest(steps=3, holdout_every=0, replay=flyover.out_dir, device="cpu")
    for progress in finetune_project(project, request, cancel=cancel):
        if progress.step == 1:
            cancel.set()
    assert progress.state == "cancelled"
    assert not list_models(project)[0].finished
    with pytest.raises(InputError, match="not finished"):
        find_model(project, "ft-001")
    last = list(finetune_project(project, FinetuneRequest(resume=True)))[-1]
    assert last.state == "finished" and last.step == 3
    assert [v.name for v in list_models(project)] == ["ft-001"] and find_model(project).finished
    card = find_model(project, "ft-001").weights.with_suffix(".json").read_bytes()
    with pytest.raises(InputError, match="ft-001 is finished; nothing to resume"):  # not trained again, its card kept
        list(finetune_project(project, FinetuneRequest(resume=True, name="ft-001")))
    assert find_model(project, "ft-001").weights.with_suffix(".json").read_bytes() == card


def test_a_resumed_fine_tune_takes_new_steps_and_a_time_limit_and_refuses_the_rest(project, flyover, capsys):
    """--resume goes on as the fine-tune was planned, but for --steps (the steps in all,
    kept in its plan) and --minutes (at most that much more time); the plan's other
    options are refused by name rather than silently ignored."""
    import threading

    from app.cli import main

    with ProjectStore.open(project) as store:
        _review(store, store.latest_run_id())
    cancel = threading.Event()
    request = FinetuneRequest(steps=5, holdout_every=0, replay=flyover.out_dir, device="cpu")
    for progress in finetune_project(project, request, cancel=cancel):
        if progress.step == 1:
            cancel.set()
    assert progress.state == "cancelled" and progress.step == 1
    for flags in (["--lr", "0.01"], ["--replay", str(flyover.out_dir), "--seed", "3"]):
        assert main(["finetune", str(project), "--resume", *flags]) == 2
        assert f"{flags[0]}" in capsys.readouterr().err
    with ProjectStore.open(project) as store:  # two more minutes than the checkpoint's time
        plan = plan_finetune(store, FinetuneRequest(resume=True, minutes=2.0))
    assert plan.resumed and plan.config.time_budget_s == pytest.approx(progress.elapsed_s + 120.0, abs=0.5)
    assert plan.start_step == 1  # a progress bar starts there, not at 0
    last = list(finetune_project(project, FinetuneRequest(resume=True, steps=1)))[-1]  # done: the weights now
    assert last.state == "finished" and last.step == 1

    cancel = threading.Event()
    for progress in finetune_project(project, request, cancel=cancel):
        if progress.step == 1:
            cancel.set()
    plan = json.loads((find_model(project, "ft-002", finished=False).folder / "plan.json").read_text())
    assert plan["config"]["steps"] == 5
    last = list(finetune_project(project, FinetuneRequest(resume=True, steps=2)))[-1]
    assert last.state == "finished" and last.step == 2


def test_compare_scores_a_detection_on_undecided_damage_neither_right_nor_wrong(project):
    """On the frames --compare measures on, a detection nobody decided on is "don't
    know" (as the fine-tune treats it): the other run's detection there, however high its
    score, is not a false alarm; a rejected one's place stays no damage."""
    import numpy as np

    from core.types import Detection, Frame

    def found(score: float, x: int, level: DamageLevel = DamageLevel.SLIGHT) -> Detection:
        mask = np.zeros((96, 160), dtype=bool)
        mask[20:40, x:x + 20] = True
        return Detection(0, level, score, (x, 20, x + 20, 40), mask=RleMask.from_array(mask))

    with ProjectStore.open(project) as store:
        reviewed = store.start_run(model={"weights": None}, settings={})
        store.write_frame(reviewed, Frame(0, 0.0, 160, 96), [found(0.8, 10), found(0.7, 60), found(0.6, 120)])
        store.finish_run(reviewed)
        kept, undecided, rejected = sorted(store.detections(reviewed), key=lambda d: d.box_xyxy_px[0])
        session = ReviewSession(store, reviewed, author="tester")
        session.apply(SetReview(kept.id, ReviewState.ACCEPTED))
        session.apply(SetReview(rejected.id, ReviewState.REJECTED))
        other = store.start_run(model={"weights": None}, settings={})
        store.write_frame(other, Frame(0, 0.0, 160, 96), [found(0.5, 10), found(0.9, 60)])
        store.finish_run(other)
        comparison = compare_runs(store, reviewed, other, sites=False)
        assert comparison.runs[1].mask_ap == pytest.approx(1.0) and comparison.runs[1].box_ap == pytest.approx(1.0)
        third = store.start_run(model={"weights": None}, settings={})  # also where the reviewer said no damage
        store.write_frame(third, Frame(0, 0.0, 160, 96), [found(0.5, 10), found(0.95, 120)])
        store.finish_run(third)
        comparison = compare_runs(store, reviewed, third, sites=False)
    assert comparison.runs[1].mask_ap < 0.9


def test_export_writes_a_standalone_model_usable_with_weights(project, flyover, tmp_path):
    from engine.weights import load_model

    with ProjectStore.open(project) as store:
        _review(store, store.latest_run_id())
    list(finetune_project(project, FinetuneRequest(steps=1, holdout_every=0, replay=flyover.out_dir, device="cpu")))
    target = export_model(find_model(project).weights, tmp_path / "improved.safetensors")
    model, card = load_model(target)
    assert card["fine_tuned_on"]["project"] == str(project)
    assert card["exported_from"].endswith("model.safetensors")
    with pytest.raises(InputError, match=".safetensors"):
        export_model(find_model(project).weights, tmp_path / "improved.pt")
    with pytest.raises(ModelError, match="not found"):
        export_model(tmp_path / "missing.safetensors", tmp_path / "x.safetensors")


def test_the_command_line_finetunes_lists_compares_and_exports(project, flyover, tmp_path, capsys):
    from app.cli import main

    with ProjectStore.open(project) as store:
        _review(store, store.latest_run_id())
    assert main(["finetune", str(project), "--replay", str(tmp_path), "--device", "cpu"]) == 2
    assert "not an ISBDA folder" in capsys.readouterr().err
    assert not list_models(project)  # refused before any version folder is made
    assert main(["finetune", str(project), "--steps", "1", "--holdout-every", "0", "--replay", str(flyover.out_dir),
                 "--device", "cpu", "-q"]) == 0
    out = capsys.readouterr().out
    assert "ft-001: 1 steps" in out and "--weights" in out
    assert main(["finetune", str(project), "--list"]) == 0
    assert "ft-001: from run 1, 4 frames trained" in capsys.readouterr().out
    assert main(["finetune", str(project), "--compare", "1", "1", "--no-sites"]) == 0
    compared = capsys.readouterr()
    assert "mask AP (%)" in compared.out and "other frames" not in compared.err
    import dataclasses

    from core.types import Frame

    with ProjectStore.open(project) as store:  # a run of fewer frames: the counts are not like for like
        frames = list(store.analysed_frames(1).items())[:2]
        fewer = store.start_run(model={"weights": None}, settings={"fps": 1.0})
        for frame, pts in frames:
            found = [dataclasses.replace(d, id=None) for d in store.detections(1, frame_index=frame)]
            store.write_frame(fewer, Frame(frame, pts, 64, 48), found)
        store.finish_run(fewer)
    assert main(["finetune", str(project), "--compare", "1", str(fewer), "--no-sites"]) == 0
    assert "note: the runs analysed other frames" in capsys.readouterr().err
    target = tmp_path / "out.safetensors"
    assert main(["finetune", str(project), "--export", str(target)]) == 0
    assert target.is_file() and target.with_suffix(".json").is_file()
    assert main(["finetune", str(project), "--export", str(target), "--model", "ft-009"]) == 2
    assert "no model version 'ft-009'" in capsys.readouterr().err
    assert main(["finetune", str(project), "--resume"]) == 2
    assert "no unfinished fine-tune" in capsys.readouterr().err


def test_a_version_killed_before_its_first_checkpoint_is_not_said_to_be_resumable(tmp_path):
    project = tmp_path / "flight.dmproj"
    stopped = models_dir(project) / "ft-001"
    stopped.mkdir(parents=True)
    (stopped / "plan.json").write_text("{}")
    with pytest.raises(InputError, match="stopped before its first checkpoint, so it cannot be resumed"):
        find_model(project, "ft-001")
    (stopped / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(InputError, match="resume its fine-tune first .*--resume --model ft-001"):
        find_model(project, "ft-001")
