"""What ``train`` makes of inputs it cannot train on well: an annotation file that is JSON
but not an object, a split with no usable annotation, a flyover made with ``synth
--splits`` (its videos in ``flights/<split>/``), and a checkpoint that is a plain pickle."""

from __future__ import annotations

import json
import os
import pickle
import warnings

import pytest
import torch

from core.errors import DamagemapWarning, InputError, ModelError
from engine.data import ISBDADataset
from engine.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _config(data, out, **changes) -> TrainConfig:
    settings = dict(data=[str(data)], out=str(out), backbone="mobilenet_v3", heads="light", val_split=None,
                    batch_size=1, min_size=64, max_size=96, multiscale=False, anchor_sizes=(16, 32, 64, 128, 256),
                    roi_batch_size=32, workers=0, max_steps=1)
    return TrainConfig(**{**settings, **changes})


@pytest.mark.parametrize("content", ["[1, 2, 3]", '"images"', "null", "7"])
def test_an_annotation_file_that_is_not_an_object_is_one_line_naming_it(damage_dataset, tmp_path, content):
    data = damage_dataset(tmp_path / "data")
    annotations = data / "annotations" / "instances_train.json"
    annotations.write_text(content)
    with pytest.raises(InputError) as raised:
        train(_config(data, tmp_path / "run"), progress=False)
    message = str(raised.value)
    assert message.startswith(f"{annotations}: not a COCO annotation file (expected an object with images, "
                              "annotations and categories"), message
    assert "\n" not in message
    assert not (tmp_path / "run" / "model.safetensors").exists()


def _rewrite(data, change) -> None:
    path = data / "annotations" / "instances_train.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_a_split_without_annotations_is_refused_before_training(damage_dataset, tmp_path):
    empty = damage_dataset(tmp_path / "negatives")
    _rewrite(empty, lambda document: document.update(annotations=[]))
    with pytest.raises(InputError, match=r"instances_train\.json: no usable damage annotation to train on in 2 "
                                         r"'train' image\(s\): the file lists no annotation"):
        train(_config(empty, tmp_path / "run"), progress=False)
    assert not (tmp_path / "run" / "model.safetensors").exists()
    # beside a folder with damage, images without any are welcome (negatives)
    config = _config(damage_dataset(tmp_path / "data"), tmp_path / "run")
    config.data = [str(empty), *config.data]
    assert train(config, progress=False)["steps"] == 1


def test_a_split_whose_annotations_were_all_skipped_is_refused(damage_dataset, tmp_path):
    data = damage_dataset(tmp_path / "data")
    _rewrite(data, lambda document: [a.update(category_id=7) for a in document["annotations"]])
    with pytest.warns(DamagemapWarning, match="category_id 7"), pytest.raises(InputError) as raised:
        train(_config(data, tmp_path / "run"), progress=False)
    assert "its 2 annotation(s) are crowd regions or were skipped (warned about above)" in str(raised.value)
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_video_frames_of_a_flyover_made_with_splits(tmp_path):
    """``synth --splits train,val`` puts each split's video in ``flights/<split>/``."""
    from engine.synth import render_flyover

    for split in ("train", "val"):
        render_flyover(tmp_path, seconds=0.5, fps=4.0, size=(96, 64), seed=4, annotate_every=1, split=split,
                       flight_dir=tmp_path / "flights" / split)
    assert not (tmp_path / "flight.mp4").exists()
    dataset = ISBDADataset(tmp_path, "val", video_frames=1.0)
    assert dataset.video_path == tmp_path / "flights" / "val" / "flight.mp4"
    image, _ = dataset[0]
    assert tuple(image.shape) == (3, 64, 96)

    (tmp_path / "flights" / "val" / "flight.mp4").unlink()
    with pytest.raises(InputError, match=r"no flight\.mp4 to take video frames from: looked for .*flights/val/flight"
                                         r"\.mp4 and .*DIR/flights/val/flight\.mp4"):
        ISBDADataset(tmp_path, "val", video_frames=1.0)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize("protocol", [4, 5])
def test_a_plain_pickle_checkpoint_is_refused_as_python_objects_without_torch_warnings(tmp_path, monkeypatch,
                                                                                      protocol):
    from engine.checkpoint import read_checkpoint

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "checkpoint.pt"
    with path.open("wb") as stream:
        pickle.dump({"model": _Evil(), "optimizer": {}, "step": 1}, stream, protocol=protocol)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ModelError) as raised:
        warnings.simplefilter("always")
        read_checkpoint(path, command="train")
    assert [str(w.message) for w in caught] == []
    message = str(raised.value)
    assert "checkpoint.pt: cannot resume: the file holds Python objects" in message and "refused" in message
    assert "damagemap train without --resume into another --out" in message and "weights_only" not in message
    assert not (tmp_path / "PWNED").exists()

    with path.open("wb") as stream:  # plain values only: not a checkpoint torch wrote, but no code either
        pickle.dump({"model": {}, "optimizer": {}, "step": 1}, stream, protocol=protocol)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ModelError, match="cannot be read"):
        warnings.simplefilter("always")
        read_checkpoint(path, command="train")
    assert [str(w.message) for w in caught] == []


def test_a_plain_pickle_to_init_from_is_refused_without_torch_warnings(damage_dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = damage_dataset(tmp_path / "data")
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as stream:
        pickle.dump({"backbone.body.0.0.weight": _Evil()}, stream, protocol=4)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ModelError) as raised:
        warnings.simplefilter("always")
        train(_config(data, tmp_path / "run", init=str(evil)), progress=False)
    assert [str(w.message) for w in caught if "pickle" in str(w.message)] == []
    assert "evil.pt: holds Python objects" in str(raised.value) and "refused" in str(raised.value)
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "run").exists()  # refused before the run folder is made: none left empty


def test_checkpoint_step_reads_the_step_of_a_checkpoint_or_none(tmp_path):
    from engine.checkpoint import checkpoint_step, save_checkpoint

    model = torch.nn.Linear(2, 2)
    save_checkpoint(tmp_path / "checkpoint.pt", model, torch.optim.SGD(model.parameters(), lr=0.1), step=12)
    assert checkpoint_step(tmp_path / "checkpoint.pt") == 12
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    assert checkpoint_step(tmp_path / "broken.pt") is None
    assert checkpoint_step(tmp_path / "missing.pt") is None


def test_training_on_from_a_damagemap_model_with_other_heads_says_they_start_afresh(damage_dataset, tmp_path):
    """`train --init` the shipped model with the default `--heads standard` re-initialised
    its heads without a word (296 tensors loaded, 269 skipped)."""
    data = damage_dataset(tmp_path / "data")
    train(_config(data, tmp_path / "light"), progress=False)
    weights = str(tmp_path / "light" / "model.safetensors")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(_config(data, tmp_path / "same", init=weights), progress=False)
        same = [str(w.message) for w in caught if "start afresh" in str(w.message)]
        train(_config(data, tmp_path / "other", init=weights, heads="standard"), progress=False)
        other = [str(w.message) for w in caught if "start afresh" in str(w.message)]
    assert same == [], same
    assert len(other) == 1 and "roi_heads" in other[0] and "give the flags it was trained with" in other[0]
