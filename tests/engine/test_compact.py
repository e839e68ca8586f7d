import pytest
import torch

from core.errors import ModelError
from engine.compact import SCALE_SUFFIX, compact_state, expand_state, stored_dtype


def _state():
    generator = torch.Generator().manual_seed(0)
    return {
        "big.weight": torch.randn(64, 32, 1, 1, generator=generator) * torch.linspace(0.01, 3, 64)[:, None, None, None],
        "small.weight": torch.randn(8, 4, generator=generator),
        "small.bias": torch.randn(8, generator=generator),
        "bn.num_batches_tracked": torch.tensor(7),
    }


def test_large_tensors_go_to_int8_within_half_a_step_per_row():
    state = _state()
    stored = compact_state(state, int8_min_elements=1000)
    assert stored["big.weight"].dtype == torch.int8
    assert stored["small.weight"].dtype == torch.float16 and stored["bn.num_batches_tracked"].dtype == torch.int64
    assert stored_dtype(stored) == "float16+int8"

    restored = expand_state(stored, source="x.safetensors")
    assert set(restored) == set(state)
    step = state["big.weight"].abs().amax(dim=(1, 2, 3)) / 127  # per output row
    error = (restored["big.weight"] - state["big.weight"]).abs().amax(dim=(1, 2, 3))
    assert torch.all(error <= step * 0.5 * 1.01)
    assert torch.equal(restored["small.weight"], state["small.weight"].half())


def test_every_weight_of_the_close_look_goes_to_int8_however_small():
    state = {**_state(), "close_look_head.body.0.weight": torch.randn(8, 3, 3, 3),
             "close_look_head.body.0.bias": torch.randn(8), "close_look_head.prior_logit": torch.tensor(1.4)}
    stored = compact_state(state, int8_min_elements=1000)
    assert stored["close_look_head.body.0.weight"].dtype == torch.int8
    assert stored["close_look_head.body.0.bias"].dtype == torch.float16  # one dimension: float16
    assert stored["small.weight"].dtype == torch.float16  # elsewhere, small tensors stay float16
    restored = expand_state(stored, source="x.safetensors")
    assert restored["close_look_head.prior_logit"].item() == pytest.approx(1.4, abs=1e-3)


def test_plain_states_pass_through():
    state = _state()
    assert expand_state(state, source="x") == state


@pytest.mark.parametrize("damage", ["orphan", "shape"])
def test_inconsistent_scales_are_refused_naming_the_file(damage):
    stored = compact_state(_state(), int8_min_elements=1000)
    if damage == "orphan":
        stored["gone.weight" + SCALE_SUFFIX] = stored.pop("big.weight" + SCALE_SUFFIX)
    else:
        stored["big.weight" + SCALE_SUFFIX] = stored["big.weight" + SCALE_SUFFIX][:3]
    with pytest.raises(ModelError, match="x.safetensors"):
        expand_state(stored, source="x.safetensors")
