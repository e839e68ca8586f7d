"""engine.analyze on a tiny synthetic video with a tiny random MSNet (CPU).

The interrupted-run tests really interrupt: a cancel Event set from the progress loop,
and a child process killed with SIGKILL once frames are committed.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from app.cli import main as cli_main
from core.store import ProjectStore
from engine.analysis.detector import _filter_output
from engine.analysis.plan import srn_by_default
from engine.analyze import analyze_video, load_detector, plan_analysis
from engine.convert import to_detections
from engine.frame_quality import measure_frame
from engine.video import VideoReader, iter_frames

FRAMES = 12


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    """A 64x48 12-frame video with moving texture, tiny MSNet and SRN weights."""
    root = tmp_path_factory.mktemp("analyze")
    texture_video(root / "flight.mp4", FRAMES)
    return with_tiny_detector(root, srn=True)


@pytest.fixture(scope="module")
def detector(assets):
    """The tiny model loaded once; most tests inject it instead of loading weights."""
    model, info = load_detector(assets / "msnet.safetensors", torch.device("cpu"))
    return model, info


def _project(assets, tmp_path, name="p.dmproj"):
    return ProjectStore.create(tmp_path / name, video_path=assets / "flight.mp4")


def _run(store, assets, detector=None, *, batch_size=None, frames_in_flight=None, cancel=None, **kwargs):
    """plan_analysis(**kwargs) then analyze_video: every progress report."""
    return list(analyze_video(store, _plan(store, assets, detector, **kwargs), batch_size=batch_size,
                              frames_in_flight=frames_in_flight, cancel=cancel))


def _plan(store, assets, detector=None, **kwargs):
    kwargs.setdefault("device", "cpu")
    kwargs.setdefault("srn_weights", assets / "srn.safetensors")
    if detector is None:
        kwargs.setdefault("weights", assets / "msnet.safetensors")
    else:
        kwargs["model"], kwargs["model_info"] = detector
    return plan_analysis(store, **kwargs)


def _snapshot(store, run_id):
    """Stored results by frame: what must agree between interrupted and whole runs."""
    by_frame = {}
    for det in store.detections(run_id):
        by_frame.setdefault(det.frame_index, []).append(det)
    return store.analysed_frames(run_id), by_frame


def _assert_same_results(a, b):
    frames_a, dets_a = a
    frames_b, dets_b = b
    assert frames_a == pytest.approx(frames_b)
    assert dets_a.keys() == dets_b.keys()
    for index in dets_a:
        assert len(dets_a[index]) == len(dets_b[index]), index
        for x, y in zip(dets_a[index], dets_b[index]):
            assert x.level == y.level
            assert x.score == pytest.approx(y.score, abs=1e-4)
            assert x.box_xyxy_px == pytest.approx(y.box_xyxy_px, abs=1e-2)
            assert (x.refined_score is None) == (y.refined_score is None)
            if x.refined_score is not None:
                assert x.refined_score == pytest.approx(y.refined_score, abs=1e-4)
            assert np.mean(x.mask.to_array() != y.mask.to_array()) < 0.01


@pytest.fixture(scope="module")
def reference(assets, detector, tmp_path_factory):
    """One uninterrupted run with SRN, every other frame."""
    path = tmp_path_factory.mktemp("reference")
    with _project(assets, path) as store:
        progress = _run(store, assets, detector, stride=2, batch_size=2)
        run_id = progress[-1].run_id
        assert store.run(run_id).finished
        return _snapshot(store, run_id), progress


def test_results_read_back_equal_what_was_computed(assets, detector, tmp_path):
    with _project(assets, tmp_path) as store:
        progress = _run(store, assets, detector, srn=False, stride=2, batch_size=4)
        run_id = progress[0].run_id
        assert [p.frame_index for p in progress] == list(range(0, FRAMES, 2))
        assert [p.frames_done for p in progress] == list(range(1, FRAMES // 2 + 1))
        assert all(p.frames_total == FRAMES // 2 for p in progress)
        stored = _snapshot(store, run_id)
        # What the progress reported is what was stored.
        assert [d.id for p in progress for d in p.detections] == [d.id for d in store.detections(run_id)]
        # and how dark, uniform and sharp each frame was (core.frame_quality), measured as it was decoded
        qualities = store.frame_qualities(run_id)
        assert sorted(qualities) == list(range(0, FRAMES, 2))
        with VideoReader(assets / "flight.mp4") as reader:
            assert qualities[2] == measure_frame(reader.frame_at(2).image)

    model, _ = detector
    computed = {}
    with torch.inference_mode():
        for frame in iter_frames(assets / "flight.mp4", stride=2):
            image = torch.from_numpy(frame.image).permute(2, 0, 1).float() / 255
            (output,) = model([image])
            computed[frame.index] = to_detections(_filter_output(output, 0.2), frame.index)
    frames, by_frame = stored
    assert sorted(frames) == list(range(0, FRAMES, 2))
    assert sum(len(v) for v in computed.values()) > 0
    _assert_same_results(stored, (frames, {i: d for i, d in computed.items() if d}))


@pytest.mark.parametrize(("batch_size", "frames_in_flight"), [(1, 1), (1, 3), (3, 2)])
def test_batching_and_calls_in_flight_do_not_change_results(assets, detector, tmp_path, reference, batch_size,
                                                             frames_in_flight):
    with _project(assets, tmp_path) as store:
        progress = _run(store, assets, detector, stride=2, batch_size=batch_size, frames_in_flight=frames_in_flight)
        assert [p.frame_index for p in progress] == list(range(0, FRAMES, 2))  # reported in frame order
        _assert_same_results(_snapshot(store, progress[-1].run_id), reference[0])


def test_srn_refines_every_stored_frame(reference):
    (frames, by_frame), progress = reference
    assert sorted(frames) == list(range(0, FRAMES, 2))
    assert all(d.refined_score is not None for dets in by_frame.values() for d in dets)
    assert progress[-1].frames_per_s > 0 and progress[-1].eta_s == 0


def test_cancelled_run_resumes_with_every_frame_once(assets, detector, tmp_path, reference):
    cancel = threading.Event()
    model, info = detector
    with _project(assets, tmp_path) as store:
        first = []
        plan = plan_analysis(store, model=model, model_info=info, srn_weights=assets / "srn.safetensors",
                             device="cpu", stride=2)
        for progress in analyze_video(store, plan, batch_size=2, cancel=cancel):
            first.append(progress.frame_index)
            if len(first) == 2:
                cancel.set()
        run_id = store.latest_run_id()
        assert 2 <= len(first) < FRAMES // 2, "the run was not interrupted midway"
        assert not store.run(run_id).finished
        assert sorted(store.analysed_frames(run_id)) == first

        second = [p.frame_index for p in _run(store, assets, detector, stride=2, batch_size=2)]
        assert len(store.runs()) == 1  # resumed, not restarted
        assert set(first).isdisjoint(second)
        assert sorted(first + second) == list(range(0, FRAMES, 2))
        assert store.run(run_id).finished
        _assert_same_results(_snapshot(store, run_id), reference[0])


_CHILD = """
import sys
from core.store import ProjectStore
from engine.analyze import analyze_video, plan_analysis
store = ProjectStore.open(sys.argv[1])
plan = plan_analysis(store, weights=sys.argv[2], srn_weights=sys.argv[3], device="cpu", stride=2)
runs = analyze_video(store, plan, batch_size=2)
for count, progress in enumerate(runs, 1):
    if count == 3:
        print("paused", flush=True)
        sys.stdin.readline()  # wait here, mid-run, until killed
"""


def test_killed_process_resumes_with_every_frame_once(assets, tmp_path, reference):
    with _project(assets, tmp_path) as store:
        path = store.path
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(assets / "msnet.safetensors"), str(assets / "srn.safetensors")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=os.getcwd(),
    )
    try:
        with ProjectStore.open(path) as watcher:
            deadline = time.monotonic() + 120
            while True:  # poll the store until three frames are committed
                run_id = watcher.latest_run_id()
                if run_id is not None and len(watcher.analysed_frames(run_id)) >= 3:
                    break
                assert child.poll() is None, "the child ended before it was killed"
                assert time.monotonic() < deadline
                time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    with ProjectStore.open(path) as store:
        run_id = store.latest_run_id()
        before = set(store.analysed_frames(run_id))
        assert 3 <= len(before) < FRAMES // 2 and not store.run(run_id).finished
        resumed = [p.frame_index for p in _run(store, assets, stride=2, batch_size=2)]
        assert before.isdisjoint(resumed)
        assert sorted(store.analysed_frames(run_id)) == list(range(0, FRAMES, 2))
        assert store.run(run_id).finished and len(store.runs()) == 1
        _assert_same_results(_snapshot(store, run_id), reference[0])


def test_other_settings_start_a_separate_run(assets, detector, tmp_path):
    with _project(assets, tmp_path) as store:
        first = _run(store, assets, detector, srn=False, stride=4)
        assert _run(store, assets, detector, srn=False, stride=4) == []  # complete: nothing to do
        second = _run(store, assets, detector, srn=False, fps=2.0)
        runs = store.runs()
        assert [r.id for r in runs] == [first[0].run_id, second[0].run_id]
        assert runs[0].settings["stride"] == 4 and runs[1].settings["fps"] == 2.0
        assert sorted(store.analysed_frames(runs[0].id)) == [0, 4, 8]
        assert sorted(store.analysed_frames(runs[1].id)) == [0, 5, 10]
        third = _run(store, assets, detector, srn=False, stride=4, new_run=True)
        assert third[0].run_id not in (runs[0].id, runs[1].id)


def test_two_analyses_started_at_once_share_one_run(assets, detector, tmp_path, monkeypatch):
    """The second looked for its run before the first had made it, then made its own:
    the same frames analysed twice into two identical runs. Looked for again as it is
    made, it joins the first's run (and is then told another process analyses it)."""
    with _project(assets, tmp_path) as store:
        first = _plan(store, assets, detector, srn=False, stride=4)
        assert not first.resumed
        looks = []
        runs = store.runs

        def first_look_from_before(*args):  # the second's look for its run: before the first made it
            looks.append(1)
            return [] if len(looks) == 1 else runs(*args)

        monkeypatch.setattr(store, "runs", first_look_from_before)
        second = _plan(store, assets, detector, srn=False, stride=4)
        monkeypatch.undo()
        assert second.run_id == first.run_id and second.resumed
        assert [run.id for run in store.runs()] == [first.run_id]
        third = _plan(store, assets, detector, srn=False, stride=4, new_run=True)  # asked for: a run of its own
        assert third.run_id != first.run_id and not third.resumed


def test_other_test_time_settings_in_the_weights_config_start_a_separate_run(assets, tmp_path):
    """Same weights file, another ``"inference"`` object beside it: not the same run."""
    weights = tmp_path / "msnet.safetensors"
    weights.write_bytes((assets / "msnet.safetensors").read_bytes())
    config = json.loads((assets / "msnet.json").read_text())
    config.pop("inference", None)
    (tmp_path / "msnet.json").write_text(json.dumps(config))
    with _project(assets, tmp_path) as store:
        first = _run(store, assets, weights=weights, srn=False, stride=6)
        assert _run(store, assets, weights=weights, srn=False, stride=6) == []  # same settings: resumed, done
        config["inference"] = {"detections_per_img": 5}
        (tmp_path / "msnet.json").write_text(json.dumps(config))
        second = _run(store, assets, weights=weights, srn=False, stride=6)
        assert second and second[0].run_id != first[0].run_id
        assert store.run(second[0].run_id).model["inference"] == {"detections_per_img": 5}
        assert "inference" not in store.run(first[0].run_id).model


def test_another_input_size_is_another_run_and_the_model_sees_frames_at_it(assets, tmp_path):
    with _project(assets, tmp_path) as store:
        first = _run(store, assets, srn=False, stride=6)
        analysis_plan = _plan(store, assets, srn=False, stride=6, inference={"input_size": 128})
        assert analysis_plan.model.transform.min_size == (128,)
        second = list(analyze_video(store, analysis_plan))
        assert second and second[0].run_id != first[0].run_id
        assert store.run(second[0].run_id).model["inference"]["input_size"] == 128
        assert "input_size" not in store.run(first[0].run_id).model.get("inference", {})
        assert _run(store, assets, srn=False, stride=6, inference={"input_size": 128}) == []  # same size: resumed


def test_missing_srn_weights_are_noted_and_the_run_goes_on(assets, detector, tmp_path):
    with _project(assets, tmp_path) as store:
        progress = _run(store, assets, detector, stride=6, srn_weights=tmp_path / "nowhere.safetensors")
        run = store.run(progress[0].run_id)
        assert run.settings["srn"] is True
        assert run.settings["srn_status"].startswith("skipped: no SRN weights at") and "nowhere" in run.settings["srn_status"]
        assert all(d.refined_score is None for d in store.detections(run.id))


def test_the_weights_say_whether_the_srn_runs_unless_told(assets, tmp_path):
    from core.model_files import config_path_for

    srn_off = tmp_path / "srn-off" / "msnet.safetensors"
    srn_off.parent.mkdir()
    srn_off.write_bytes((assets / "msnet.safetensors").read_bytes())
    config = json.loads(config_path_for(assets / "msnet.safetensors").read_text())
    config["inference"] = {**(config.get("inference") or {}), "srn": False}
    config_path_for(srn_off).write_text(json.dumps(config))
    with _project(assets, tmp_path) as store:
        own = plan_analysis(store, weights=srn_off, device="cpu", stride=6)
        assert own.refiner is None
        assert own.settings["srn"] is False and own.settings["srn_status"] == "off (the model's own setting)"
        asked = plan_analysis(store, weights=srn_off, device="cpu", stride=6, srn=True,
                              srn_weights=assets / "srn.safetensors")
        assert asked.refiner is not None and asked.settings["srn"] is True and asked.run_id != own.run_id
        given = plan_analysis(store, weights=srn_off, device="cpu", stride=6, srn_weights=assets / "srn.safetensors")
        assert given.refiner is not None and given.run_id == asked.run_id  # other SRN weights: the SRN is wanted
        assert own.model is not None and not srn_by_default(own.model)
    plain, _ = load_detector(assets / "msnet.safetensors", torch.device("cpu"))
    assert srn_by_default(plain)  # weights that do not say: on, as before


def test_cli_analyze_then_info_end_to_end(assets, tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    video.write_bytes((assets / "flight.mp4").read_bytes())
    track = tmp_path / "clip.gpx"
    track.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        '<trk><trkseg><trkpt lat="30.1" lon="-85.6"><time>2024-05-01T12:00:00Z</time></trkpt>'
        '<trkpt lat="30.1001" lon="-85.6"><time>2024-05-01T12:00:01Z</time></trkpt></trkseg></trk></gpx>'
    )
    project = tmp_path / "clip.dmproj"
    args = ["analyze", str(video), "--project", str(project), "--weights", str(assets / "msnet.safetensors"),
            "--srn-weights", str(assets / "srn.safetensors"), "--every", "3", "--device", "cpu", "-q"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "run 1: 4 frames analysed (complete)" in out
    assert cli_main(["info", str(project), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["telemetry"]["path"] == str(track)  # found beside the video
    (run,) = report["runs"]
    assert run["frames_analysed"] == 4 and run["frame_ranges"] == [[0, 9]] and run["frame_spacing"] == [[3, 3]]
    assert run["finished"] and run["settings"]["stride"] == 3
    assert run["detections_total"] == sum(run["detections"].values()) > 0
    assert run["review"]["pending"] == run["detections_total"]
    assert cli_main(["info", str(project)]) == 0
    assert "frames:     4 analysed (frames 1-10 every 3," in capsys.readouterr().out  # counted from 1


_HEADLESS = """
import sys
from app.cli import main
status = main(sys.argv[1:])
qt = sorted({m.split(".")[0] for m in sys.modules} & {"PySide6", "shiboken6", "superqt", "qtpy"})
qt += [m for m in ("app._refcount_guard",) if m in sys.modules]  # the PySide6 workaround
print("status", status, "qt", qt)
"""


def test_headless_analyze_imports_no_qt(assets, tmp_path):
    argv = ["analyze", str(assets / "flight.mp4"), "--project", str(tmp_path / "h.dmproj"), "--weights",
            str(assets / "msnet.safetensors"), "--every", "6", "--no-srn", "--device", "cpu", "-q"]
    result = subprocess.run([sys.executable, "-c", _HEADLESS, *argv], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1] == "status 0 qt []", result.stdout + result.stderr


def test_cli_refuses_bad_weights_naming_the_file(assets, tmp_path, capsys):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 100)
    (tmp_path / "broken.json").write_text((assets / "msnet.json").read_text())
    rc = cli_main(["analyze", str(assets / "flight.mp4"), "--project", str(tmp_path / "x.dmproj"),
                   "--weights", str(bad), "--device", "cpu", "-q"])
    assert rc == 2
    assert "broken.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "x.dmproj").exists()


def test_cli_refuses_a_non_video_naming_it(tmp_path, capsys):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video")
    assert cli_main(["analyze", str(fake), "--project", str(tmp_path / "y.dmproj"), "-q"]) == 2
    assert "holiday.mp4" in capsys.readouterr().err
    assert not (tmp_path / "y.dmproj").exists()



def test_demo_headless_skips_what_is_missing_then_runs_whole(assets, tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--seconds", "1", "--size", "96x64", "--analysis-fps", "5",
            "--device", "cpu", "--no-gui", "--weights"]
    assert cli_main(argv + [str(tmp_path / "absent.safetensors")]) == 1  # a failed step: rc 1 for scripts
    err = capsys.readouterr().err
    assert "2/4 analysis at 5 frames/s: SKIPPED - ModelError" in err and "absent.safetensors" in err
    assert "3/4 damage maps: SKIPPED - no analysis to map" in err

    assert cli_main(argv + [str(assets / "msnet.safetensors")]) == 0
    err = capsys.readouterr().err
    assert "reusing" in err and "SKIPPED" not in err  # the flyover is not rendered again
    assert (out / "maps" / "damage_map.html").is_file()
    with ProjectStore.open(out / "demo.dmproj") as store:
        (run,) = store.runs()
        assert run.finished and run.frames_done == 5  # 1 s at 10 fps, analysed at 5 fps
        assert store.telemetry_path is not None and store.get_setting("hfov_deg") is not None
