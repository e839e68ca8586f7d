"""The JSON beside a weights file, read without torch: a dict, or None when there is no
usable one (so a map of a run whose weights moved still builds)."""

from __future__ import annotations

import json

import pytest

from core.model_files import config_path_for, read_model_metadata


def test_the_json_beside_the_weights_is_read(tmp_path):
    weights = tmp_path / "detector.v2.safetensors"
    config_path_for(weights).write_text(json.dumps({"footage": {"altitude_above_ground_m": [28, 70]}}))
    assert config_path_for(weights) == tmp_path / "detector.v2.json"
    assert read_model_metadata(weights) == {"footage": {"altitude_above_ground_m": [28, 70]}}


@pytest.mark.parametrize("text", [None, "not json {", "[1, 2]", ""])
def test_missing_broken_or_non_object_json_reads_as_none(tmp_path, text):
    weights = tmp_path / "detector.safetensors"
    if text is not None:
        config_path_for(weights).write_text(text)
    assert read_model_metadata(weights) is None
