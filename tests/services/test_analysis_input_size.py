"""``AnalysisRequest.input_size`` (``analyze --input-size``): the detector sees each frame
at that short side, the run records it, and a project analysed at another size keeps
both runs apart."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.store import ProjectStore
from services.analysis import AnalysisRequest, analyse, load_model


def _analyse(store: ProjectStore, request: AnalysisRequest) -> int:
    progress = list(analyse(store, request))
    assert progress
    return progress[-1].run_id


def test_the_request_s_input_size_reaches_the_model_and_the_run_record(tiny_detector, texture_video, tmp_path):
    weights = tiny_detector / "msnet.safetensors"
    loaded = load_model(AnalysisRequest(device="cpu", weights=weights, input_size=96))
    assert loaded.model.transform.min_size == (96,)
    assert loaded.info["inference"]["input_size"] == 96
    video = texture_video(tmp_path / "flight.mp4", 6)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=video) as store:
        plain = AnalysisRequest(device="cpu", weights=weights, srn=False, stride=3)
        larger = AnalysisRequest(device="cpu", weights=weights, srn=False, stride=3, input_size=96)
        first, second = _analyse(store, plain), _analyse(store, larger)
        assert first != second
        assert store.run(second).model["inference"]["input_size"] == 96
        assert "input_size" not in (store.run(first).model.get("inference") or {})


def test_an_input_size_too_small_for_the_network_is_refused():
    with pytest.raises(InputError, match="input size must be >= 64 pixels; got 32"):
        AnalysisRequest(input_size=32)
