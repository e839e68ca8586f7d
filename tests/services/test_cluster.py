"""services.cluster on a real local Ray instance (2 workers, CPU): a tiny synthetic
video and a tiny random MSNet + SRN. Results equal a single-process run's; a worker
killed with SIGKILL mid-run loses its segment only, and the run resumes with every
frame stored exactly once."""

import os
import shutil
import signal
import sqlite3
import sys
from contextlib import closing

import pytest
import torch

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[cluster]")')

from core.store import ProjectStore  # noqa: E402
from engine.analyze import load_detector  # noqa: E402
from engine.video import VideoReader  # noqa: E402
from services import analysis  # noqa: E402
from services.cluster import ClusterError, ClusterOptions, analyse_on_ray  # noqa: E402
from tests.forking import stop_decoding_threads  # noqa: E402

FRAMES = 12


@pytest.fixture(scope="module")
def cluster():
    """One local Ray instance with two worker CPUs for the module."""
    stop_decoding_threads()  # Ray starts its processes with a preexec_fn: a fork that cleans up after itself
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's model wrapper, to the workers
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    root = tmp_path_factory.mktemp("cluster")
    texture_video(root / "flight.mp4", FRAMES)
    return with_tiny_detector(root, srn=True)


@pytest.fixture(scope="module")
def detector(assets):
    model, info = load_detector(assets / "msnet.safetensors", torch.device("cpu"))
    return analysis.LoadedModel(model, info, torch.device("cpu"))


def _request(assets):
    return analysis.AnalysisRequest(device="cpu", srn_weights=assets / "srn.safetensors", batch_size=1)


def _snapshot(store):
    run_id = store.latest_run_id()
    rows = sorted((d.frame_index, int(d.level), d.score, d.refined_score, d.box_xyxy_px, d.mask.to_bytes())
                  for d in store.detections(run_id))
    return sorted(store.analysed_frames(run_id)), rows


def _assert_same(a, b):
    assert a[0] == b[0]
    assert len(a[1]) == len(b[1])
    for x, y in zip(a[1], b[1]):
        assert x[:2] == y[:2]
        assert x[2] == pytest.approx(y[2], abs=1e-4)
        assert (x[3] is None) == (y[3] is None) and x[3] == pytest.approx(y[3], abs=1e-4)
        assert x[4] == pytest.approx(y[4], abs=1e-2)


@pytest.fixture(scope="module")
def reference(assets, detector, tmp_path_factory):
    """The plain single-process run."""
    path = tmp_path_factory.mktemp("reference") / "single.dmproj"
    with ProjectStore.create(path, video_path=assets / "flight.mp4") as store:
        list(analysis.analyse(store, _request(assets), model=detector))
        assert store.run(store.latest_run_id()).finished
        snapshot = _snapshot(store)
    assert snapshot[0] == list(range(FRAMES)) and snapshot[1]
    assert all(row[3] is not None for row in snapshot[1])  # the SRN ran
    return snapshot


def test_two_workers_give_the_single_process_results(cluster, assets, detector, reference, tmp_path):
    assert ray.cluster_resources()["CPU"] == 2
    with ProjectStore.create(tmp_path / "ray.dmproj", video_path=assets / "flight.mp4") as store:
        progress = list(analyse_on_ray(store, _request(assets), ClusterOptions(segment_frames=3), model=detector))
        assert sorted(p.frame_index for p in progress) == list(range(FRAMES))
        assert progress[-1].frames_done == FRAMES == progress[-1].frames_total
        assert [d.id for p in progress for d in p.detections] == sorted(d.id for d in store.detections(1))
        assert store.run(1).finished
        _assert_same(_snapshot(store), reference)


class KillOnFrame(torch.nn.Module):
    """The detector, but the worker process that meets ``target`` while ``token`` exists
    kills itself with SIGKILL (once: the token is removed first)."""

    def __init__(self, inner, target, token):
        super().__init__()
        self.inner, self.target, self.token = inner, target, str(token)

    def _maybe_die(self, images):
        if any(image.shape == self.target.shape and torch.equal(image, self.target) for image in images):
            try:
                os.unlink(self.token)
            except FileNotFoundError:
                return
            os.kill(os.getpid(), signal.SIGKILL)

    def forward(self, images):
        self._maybe_die(images)
        return self.inner(images)

    def detect_with_features(self, images, *, mask_crops=False):
        self._maybe_die(images)
        return self.inner.detect_with_features(images, mask_crops=mask_crops)


def _killer(assets, detector, tmp_path, frame_index=7):
    with VideoReader(assets / "flight.mp4") as reader:
        image = reader.frame_at(frame_index).image
    target = torch.from_numpy(image).permute(2, 0, 1).float().div_(255.0)
    token = tmp_path / "kill-once"
    token.touch()
    wrapper = KillOnFrame(detector.model, target, token)
    return analysis.LoadedModel(wrapper, detector.info, detector.device), token


def test_a_killed_worker_loses_its_segment_only_and_the_run_resumes_each_frame_once(
        cluster, assets, detector, reference, tmp_path):
    killer, token = _killer(assets, detector, tmp_path)
    options = ClusterOptions(segment_frames=3, max_retries=0)
    with ProjectStore.create(tmp_path / "ray.dmproj", video_path=assets / "flight.mp4") as store:
        first = []
        with pytest.raises(ClusterError, match=r"1 segment\(s\), 3 frames, were lost.*run the same analysis again"):
            for progress in analyse_on_ray(store, _request(assets), options, model=killer):
                first.append(progress.frame_index)
        assert not token.exists(), "no worker was killed"
        assert sorted(first) == [0, 1, 2, 3, 4, 5, 9, 10, 11]  # the segment 6-8 died with its worker
        assert sorted(store.analysed_frames(1)) == sorted(first) and not store.run(1).finished

        second = [p.frame_index for p in analyse_on_ray(store, _request(assets), options, model=detector)]
        assert sorted(second) == [6, 7, 8] and len(store.runs()) == 1  # resumed from the store
        assert store.run(1).finished
        with closing(sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)) as db:
            frames = db.execute("SELECT frame_index, COUNT(*) FROM frames WHERE run_id = 1 GROUP BY frame_index")
            assert dict(frames.fetchall()) == {i: 1 for i in range(FRAMES)}
        _assert_same(_snapshot(store), reference)  # no detection twice, none missing, same scores


def test_ray_runs_a_killed_workers_segment_again(cluster, assets, detector, reference, tmp_path):
    killer, token = _killer(assets, detector, tmp_path, frame_index=4)
    with ProjectStore.create(tmp_path / "ray.dmproj", video_path=assets / "flight.mp4") as store:
        list(analyse_on_ray(store, _request(assets), ClusterOptions(segment_frames=3, max_retries=1), model=killer))
        assert not token.exists(), "no worker was killed"
        assert store.run(1).finished
        _assert_same(_snapshot(store), reference)


def test_a_survey_analyses_each_flight_on_the_same_ray_instance(cluster, assets, detector, reference, tmp_path):
    from services import survey as surveys

    survey = surveys.create_survey(tmp_path / "survey")
    for name in ("monday", "wednesday"):  # two flights of the same footage, each its own file
        video = tmp_path / name / "flight.mp4"
        video.parent.mkdir()
        shutil.copy2(assets / "flight.mp4", video)
        surveys.add_flight(survey, video, name=name, date="2018-10-12")
    planned = []
    progress = list(surveys.analyse_survey(survey, _request(assets), cluster=ClusterOptions(segment_frames=4),
                                           model=detector, on_plan=lambda flight, plan: planned.append(flight.name)))
    assert planned == ["monday", "wednesday"] and ray.is_initialized()
    assert sorted(p.flight for p in progress) == ["monday"] * FRAMES + ["wednesday"] * FRAMES
    for flight in survey.flights:
        with ProjectStore.open(survey.project_path(flight)) as store:
            assert store.run(1).finished
            _assert_same(_snapshot(store), reference)


def test_cli_analyze_on_ray_workers(cluster, assets, reference, tmp_path, capsys):
    from app.cli import main

    project = tmp_path / "cli.dmproj"
    argv = ["analyze", str(assets / "flight.mp4"), "--project", str(project), "--weights",
            str(assets / "msnet.safetensors"), "--srn-weights", str(assets / "srn.safetensors"), "--device", "cpu",
            "--batch-size", "1", "-q", "--workers", "2", "--segment-frames", "4"]
    assert main(argv) == 0
    assert f"{FRAMES} frames analysed (complete)" in capsys.readouterr().out
    with ProjectStore.open(project) as store:
        _assert_same(_snapshot(store), reference)
    assert main(argv + ["--workers", "0"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err


def test_a_cancelled_ray_run_keeps_what_it_stored_and_resumes(cluster, assets, detector, reference, tmp_path):
    import threading

    cancel = threading.Event()
    options = ClusterOptions(segment_frames=3)
    with ProjectStore.create(tmp_path / "ray.dmproj", video_path=assets / "flight.mp4") as store:
        first = []
        for progress in analyse_on_ray(store, _request(assets), options, model=detector, cancel=cancel):
            first.append(progress.frame_index)
            cancel.set()  # stops before the next segment is written
        assert len(first) == 3 and not store.run(1).finished
        assert sorted(store.analysed_frames(1)) == sorted(first)
        second = [p.frame_index for p in analyse_on_ray(store, _request(assets), options, model=detector)]
        assert sorted(first + second) == list(range(FRAMES)) and store.run(1).finished
        _assert_same(_snapshot(store), reference)
