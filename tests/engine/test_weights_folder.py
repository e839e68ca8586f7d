"""A run folder given where weights are wanted says which file to give."""

from __future__ import annotations

import pytest

from core.errors import ModelError
from engine.weights import load_init_weights, load_model


def test_a_folder_given_for_weights_names_the_file_to_give(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match=r"run: is a folder; give its model.safetensors \(.*run/model.safetensors\)"):
        load_model(run)
    with pytest.raises(ModelError, match="is a folder; give its model.safetensors"):
        load_init_weights(object(), run)
