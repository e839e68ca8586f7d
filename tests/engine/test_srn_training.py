"""Unsupervised SRN training: triplets, frames from video, the train-srn command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.cli import main
from core.errors import InputError
from engine.srn import FrameBank, SRNTrainingConfig, TripletSampler, build_srn, build_untrained_fpn, load_srn, train_srn
from engine.video import write_video


def test_triplets_follow_the_paper_windows() -> None:
    times = np.arange(0, 30, 0.25)  # one 30 s video at 4 fps ...
    video_ids = np.zeros(len(times), dtype=np.int64)
    times = np.concatenate([times, [0.0, 0.25]])  # ... and two frames of another
    video_ids = np.concatenate([video_ids, [1, 1]])
    sampler = TripletSampler(video_ids, times, num_negatives=5, seed=1)
    for triplet in sampler.sample(200):
        a, p = triplet.anchor, triplet.positive
        assert a != p and video_ids[a] == video_ids[p] and abs(times[a] - times[p]) <= 0.5
        assert len(triplet.negatives) == 5
        for n in triplet.negatives:
            assert video_ids[n] != video_ids[a] or abs(times[n] - times[a]) > 10.0


def test_one_short_video_gives_no_triplets() -> None:
    times = np.arange(0, 8, 0.2)
    with pytest.raises(InputError, match="longer than 20 s or a second video"):
        TripletSampler(np.zeros(len(times), dtype=np.int64), times)


def test_frames_sampled_too_far_apart_ask_for_more_frames_not_more_video() -> None:
    """Two videos (negatives across them), but frames 0.6 s apart: no positive within
    0.5 s, and a longer video or another one would not help."""
    times = np.concatenate([np.arange(0, 4, 0.6), np.arange(0, 4, 0.6)])
    video_ids = np.repeat([0, 1], len(times) // 2)
    with pytest.raises(InputError, match=r"no two frames of a video are that close: sample more often "
                                         r"\(--sample-fps 4 or more\)"):
        TripletSampler(video_ids, times)


@pytest.fixture(scope="module")
def tiny_videos(tmp_path_factory) -> list:
    """Two 2-second 10 fps videos of a textured ground sliding by, 96x64."""
    folder = tmp_path_factory.mktemp("videos")
    paths = []
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        ground = (rng.random((64, 200, 3)) * 255).astype(np.uint8)
        frames = [ground[:, 2 * i : 2 * i + 96] for i in range(20)]
        paths.append(write_video(folder / f"flight{seed}.mp4", frames, fps=10.0))
    return paths


def test_frame_bank_samples_and_resizes(tiny_videos) -> None:
    bank = FrameBank.from_videos(tiny_videos, short_side=40, sample_fps=5.0)
    assert bank.size_hw == (32, 64)  # short side rounded to 32, aspect 3:2 kept
    assert set(bank.video_ids.tolist()) == {0, 1}
    assert len(bank) == 20  # 2 s at 5 fps from each
    np.testing.assert_allclose(bank.times_s[bank.video_ids == 0][:3], [0.0, 0.2, 0.4], atol=1e-3)
    batch = bank.batch([0, 1])
    assert batch.shape == (2, 3, 32, 64) and 0.0 <= float(batch.min()) and float(batch.max()) <= 1.0


def test_training_lowers_the_loss(tiny_videos) -> None:
    torch.manual_seed(0)
    bank = FrameBank.from_videos(tiny_videos, short_side=32, sample_fps=5.0)
    encoder = build_srn(hidden_channels=64)
    config = SRNTrainingConfig(steps=10, batch_size=2, lr=1e-3, seed=0)
    losses = train_srn(encoder, build_untrained_fpn("resnet18"), bank, config, progress=False)
    assert len(losses) == 10 and all(np.isfinite(losses))
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    assert not encoder.training


def test_train_srn_command_writes_loadable_weights(tiny_videos, tmp_path, capsys) -> None:
    from engine.msnet import build_msnet
    from engine.weights import save_model

    torch.manual_seed(0)
    detector = tmp_path / "detector.safetensors"
    save_model(build_msnet(backbone="resnet18", min_size=64, max_size=128), detector)
    out = tmp_path / "srn.safetensors"
    argv = ["train-srn", *map(str, tiny_videos), "--weights", str(detector), "--out", str(out)]
    argv += ["--steps", "2", "--short-side", "32", "--device", "cpu", "--quiet"]
    assert main(argv) == 0
    encoder, config = load_srn(out)
    assert config.training["steps"] == 2 and config.training["videos"] == ["flight0.mp4", "flight1.mp4"]
    assert config.training["detector_weights"] == "detector.safetensors"
    assert (config.training["detector_arch"], config.training["detector_backbone"]) == ("msnet", "resnet18")
    assert encoder.out_channels == 1024


def test_train_srn_command_names_a_bad_detector_file(tiny_videos, tmp_path, capsys) -> None:
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not weights")
    assert main(["train-srn", str(tiny_videos[0]), "--weights", str(bad), "--quiet"]) == 2
    assert "broken" in capsys.readouterr().err


def test_feature_cache_and_location_sampling_keep_the_loss(tiny_videos) -> None:
    bank = FrameBank.from_videos(tiny_videos, short_side=32, sample_fps=5.0)
    fpn = build_untrained_fpn("resnet18")

    def run(**settings) -> list[float]:
        torch.manual_seed(0)
        encoder = build_srn(hidden_channels=32)
        config = SRNTrainingConfig(steps=3, batch_size=1, seed=0, **settings)
        return train_srn(encoder, fpn, bank, config, progress=False)

    plain = run(locations_per_level=None, feature_cache_mb=0)
    cached = run(locations_per_level=None, feature_cache_mb=64)
    np.testing.assert_allclose(cached, plain, rtol=1e-3)  # float16 storage of the maps
    sampled = run(locations_per_level=4, feature_cache_mb=0)
    assert all(np.isfinite(sampled)) and sampled != plain


@pytest.mark.parametrize(("flags", "words"), [
    (["--score-range", "0.8", "0.2"], "--score-range: C0 (0.8) must not exceed C1 (0.2)"),
    (["--score-range", "0", "2"], "--score-range C1 must be from 0 to 1; got 2.0"),
    (["--lr", "0"], "--lr must be a positive, finite number; got 0.0"),
    (["--margin", "-1"], "--margin must be a positive, finite number; got -1.0"),
    (["--locations", "-1"], "--locations must be >= 0; got -1"),
    (["--short-side", "0"], "--short-side must be >= 32; got 0"),
])
def test_train_srn_refuses_what_analyze_could_not_use_before_any_work(tiny_videos, tmp_path, capsys, flags, words):
    """A reversed score range was stored in the SRN's config, and every analysis with it
    then failed; each such value is refused before the detector loads or a frame is read."""
    argv = ["train-srn", *map(str, tiny_videos), "--weights", str(tmp_path / "not-read.safetensors"),
            "--out", str(tmp_path / "srn.safetensors"), "--quiet", *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "srn.safetensors").exists()


def test_train_srn_refuses_an_out_it_cannot_write_before_training(tiny_videos, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("a file where the folder should be")
    argv = ["train-srn", *map(str, tiny_videos), "--weights", str(tmp_path / "not-read.safetensors"),
            "--out", str(blocker / "srn.safetensors"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot create the folder" in err and "afile" in err and "not-read" not in err, err


def test_a_loss_that_is_no_number_stops_the_srn_training_with_one_line(tiny_videos, monkeypatch):
    import engine.srn.training as training
    from core.errors import ModelError

    monkeypatch.setattr(training, "multiscale_consistency_loss",
                        lambda *args, **kwargs: torch.tensor(float("nan"), requires_grad=True))
    bank = FrameBank.from_videos(tiny_videos, short_side=32, sample_fps=5.0)
    config = SRNTrainingConfig(steps=3, batch_size=2, lr=1e-3, seed=0)
    with pytest.raises(ModelError, match="loss became nan at step 1 .*lower --lr"):
        train_srn(build_srn(hidden_channels=64), build_untrained_fpn("resnet18"), bank, config, progress=False)


def test_srn_weights_whose_score_range_cannot_be_used_are_named_when_loaded(tmp_path):
    import json

    from core.errors import ModelError
    from engine.srn import save_srn

    out = save_srn(build_srn(hidden_channels=64), tmp_path / "srn.safetensors")
    config = json.loads(out.with_suffix(".json").read_text())
    config["score_range"] = [0.8, 0.2]  # as an older train-srn wrote it
    out.with_suffix(".json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"srn\.json: its score_range \[0\.8, 0\.2\] must satisfy"):
        load_srn(out)
