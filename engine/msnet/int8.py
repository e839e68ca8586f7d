"""The detector's widest convolutions in int8, on CPUs without native bfloat16.

Three 256-channel 3x3 convolutions take most of a frame on a CPU: the FPN's output
convolutions, the RPN's shared convolution and the mask head's two (58% of a 720p frame
on an AVX2 CPU, one thread); the mask predictor's 2x2 transposed convolution, which
doubles each detection's 14x14 map, takes another 8%. A CPU that computes bfloat16
natively runs them in bfloat16 (:mod:`engine.msnet.inference`); elsewhere they run here
in int8 through torch's x86 quantized kernels (fbgemm / oneDNN), two to eight times as
fast: weights quantized per output channel, the input and output quantized per tensor
with ranges measured once on training frames (:func:`calibrate`) and shipped in the
weights' JSON (``"inference"``, ``"cpu_int8"``: per convolution, the input's and the
output's ``[min, max]``), widened by :data:`RANGE_MARGIN`.

A transposed convolution whose kernel equals its stride (no overlap) is a 1x1
convolution to ``out * k * k`` channels followed by a pixel shuffle; it runs as that, so
its weights too are quantized per output channel (torch's quantized transposed
convolution takes one scale for all).

The float weights stay the model's: the int8 copy of a convolution is built the first
time it runs and again if its weights change, never saved, and training, gradients, a
GPU or bfloat16 autocast all run the float convolution.

Calibrate (writes the ranges into the weights' JSON)::

    python -m engine.msnet.int8 --weights msnet.safetensors --data runs/data/train-s11 ... --frames 60
"""

from __future__ import annotations

import argparse
import functools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

#: the convolutions that may run in int8, by part (module names in an MSNet)
INT8_CONVS: dict[str, tuple[str, ...]] = {
    "fpn": tuple(f"backbone.fpn.layer_blocks.{i}.0" for i in range(4)),
    "rpn_head": ("rpn.trunk.0.0",),
    "mask_head": ("roi_heads.mask_head.0.0", "roi_heads.mask_head.1.0"),
    "mask_predictor": ("roi_heads.mask_predictor.conv5_mask",),
}
ALLOWED = tuple(name for names in INT8_CONVS.values() for name in names)
#: calibrated ranges are widened by this factor, so brighter or busier frames than the
#: calibration's are not clipped
RANGE_MARGIN = 1.2
#: activations use 7 of their 8 bits (x86 kernels without VNNI could overflow otherwise)
ACTIVATION_QMAX = 127

# torch 2.14 announces the quantized tensors' removal on every first use; the pinned
# torch has them, and int8_available() turns int8 off on a torch without them.
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel",
                        category=UserWarning)


@functools.cache
def int8_available() -> bool:
    """Whether torch has the x86 quantized kernels and the quantized tensors they take."""
    try:
        from torch.ao.nn import quantized  # noqa: F401

        engines = torch.backends.quantized.supported_engines
        return hasattr(torch, "quantize_per_tensor") and ("x86" in engines or "fbgemm" in engines)
    except (AttributeError, ImportError, RuntimeError):  # pragma: no cover - a torch without them
        return False


def _qparams(low: float, high: float, qmax: int) -> tuple[float, int]:
    low, high = min(low * RANGE_MARGIN, 0.0), max(high * RANGE_MARGIN, 0.0)
    scale = max((high - low) / qmax, 1e-8)
    return scale, int(min(max(round(-low / scale), 0), qmax))


class _Int8Copy:
    """The int8 copy of one float convolution, for its weights at one version."""

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d, ranges: Sequence[float]) -> None:
        from torch.ao.nn import quantized as nnq

        weight = conv.weight.detach().float().cpu()
        bias = None if conv.bias is None else conv.bias.detach().float().cpu()
        self.shuffle = 1
        if isinstance(conv, nn.ConvTranspose2d):  # as a 1x1 convolution, then a pixel shuffle
            self.shuffle = conv.kernel_size[0]
            weight = weight.permute(1, 2, 3, 0).reshape(-1, conv.in_channels, 1, 1)  # (out, ky, kx) x in
            bias = None if bias is None else bias.repeat_interleave(self.shuffle**2)
            shape = (conv.in_channels, weight.shape[0], 1, 1, 0, 1, 1)
        else:
            shape = (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                     conv.groups)
        scales = weight.abs().amax(dim=(1, 2, 3)).clamp(min=1e-8) / 127.0
        qweight = torch.quantize_per_channel(weight, scales.double(), torch.zeros(len(scales), dtype=torch.long), 0,
                                             torch.qint8)
        with warnings.catch_warnings():  # torch.ao's deprecation notice, once per copy
            warnings.simplefilter("ignore")
            self.conv = nnq.Conv2d(*shape, bias=bias is not None)
        self.conv.set_weight_bias(qweight, bias)
        self.conv.scale, self.conv.zero_point = _qparams(ranges[2], ranges[3], 255)
        self.input_scale, self.input_zero_point = _qparams(ranges[0], ranges[1], ACTIVATION_QMAX)
        self.version = conv.weight._version

    def __call__(self, x: Tensor) -> Tensor:
        # channels-last: the layout the x86 kernels compute in (an NCHW input is
        # transposed on the way in and its output is channels-last anyway)
        layout = torch.channels_last if x.dim() == 4 else torch.contiguous_format
        quantized = torch.quantize_per_tensor(x.contiguous(memory_format=layout), self.input_scale,
                                              self.input_zero_point, torch.quint8)
        out = self.conv(quantized).dequantize()
        return out if self.shuffle == 1 else torch.nn.functional.pixel_shuffle(out, self.shuffle)


class _Int8Ready:
    """Runs an int8 copy of the convolution when :func:`int8_applies` and it has
    calibrated ranges (``int8_ranges``); its float self otherwise."""

    int8_ranges: tuple[float, float, float, float] | None = None

    def _int8_or_float(self, x: Tensor, forward_float) -> Tensor:  # noqa: ANN001
        if self.int8_ranges is None or not int8_applies(self, x):
            return forward_float(x)
        copy = self.__dict__.get("_int8_copy")
        if copy is None or copy.version != self.weight._version:
            copy = _Int8Copy(self, self.int8_ranges)
            self.__dict__["_int8_copy"] = copy
        return copy(x)

    def __getstate__(self):  # the int8 copy is rebuilt where it runs, never pickled
        state = dict(super().__getstate__())
        state.pop("_int8_copy", None)
        return state


class Int8ReadyConv2d(_Int8Ready, nn.Conv2d):
    """An ``nn.Conv2d`` (same parameters and state dict) that runs an int8 copy of itself
    when :func:`int8_applies` and it has calibrated ranges (``int8_ranges``)."""

    def forward(self, x: Tensor) -> Tensor:
        return self._int8_or_float(x, super().forward)


class Int8ReadyConvTranspose2d(_Int8Ready, nn.ConvTranspose2d):
    """An ``nn.ConvTranspose2d`` whose kernel equals its stride (the mask predictor's 2x2),
    run in int8 as a 1x1 convolution and a pixel shuffle where :func:`int8_applies`."""

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if output_size is not None:
            return super().forward(x, output_size)
        return self._int8_or_float(x, super().forward)


def _int8_class(conv: nn.Module | None) -> type | None:
    """The int8-ready class a plain convolution becomes (``None``: it cannot)."""
    if type(conv) is nn.Conv2d:
        return Int8ReadyConv2d
    if (type(conv) is nn.ConvTranspose2d and conv.kernel_size == conv.stride and conv.kernel_size[0] == conv.kernel_size[1]
            and conv.padding == (0, 0) and conv.output_padding == (0, 0) and conv.dilation == (1, 1)
            and conv.groups == 1 and conv.padding_mode == "zeros"):
        return Int8ReadyConvTranspose2d
    return None


def int8_applies(module: nn.Module, x: Tensor) -> bool:
    """In eval, without gradients, on a CPU tensor, outside autocast, on a CPU without
    native bfloat16 (which runs these parts in bfloat16 instead)."""
    from engine.msnet.inference import cpu_has_native_bfloat16

    return (
        not module.training
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and not cpu_has_native_bfloat16()
        and int8_available()
    )


def set_int8_ranges(model: nn.Module, ranges: Mapping[str, Sequence[float]]) -> int:
    """Give each named convolution its calibrated ranges (and take them from the others).
    Returns how many convolutions run in int8 where it applies."""
    modules = dict(model.named_modules())
    count = 0
    for name in ALLOWED:
        conv = modules.get(name)
        given = ranges.get(name)
        ready = _int8_class(conv)
        if ready is not None and given is not None:
            conv.__class__ = ready
        if not isinstance(conv, _Int8Ready):
            continue
        conv.int8_ranges = None if given is None else tuple(float(v) for v in given)
        conv.__dict__.pop("_int8_copy", None)
        count += given is not None
    return count


@torch.no_grad()
def calibrate(model: nn.Module, images: Iterable[Tensor], parts: Sequence[str] = tuple(INT8_CONVS)) -> dict[str, list[float]]:
    """Each of ``parts``' convolutions' input and output ``[min, max]`` over the float
    model's passes on ``images`` (RGB in [0, 1])."""
    modules = dict(model.named_modules())
    names = [name for part in parts for name in INT8_CONVS[part]
             if isinstance(modules.get(name), _Int8Ready) or _int8_class(modules.get(name)) is not None]
    if not names:
        raise ValueError("int8 calibration: the model has none of the convolutions that may run in int8")
    ranges = {name: [math.inf, -math.inf, math.inf, -math.inf] for name in names}

    def hook(name: str):
        def record(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
            r = ranges[name]
            r[0], r[1] = min(r[0], float(args[0].min())), max(r[1], float(args[0].max()))
            r[2], r[3] = min(r[2], float(out.min())), max(r[3], float(out.max()))
        return record

    was_training = model.training
    model.eval()
    saved = {name: getattr(modules[name], "int8_ranges", None) for name in names}
    handles = [modules[name].register_forward_hook(hook(name)) for name in names]
    try:
        for name in names:  # the float convolutions, measured
            if isinstance(modules[name], _Int8Ready):
                modules[name].int8_ranges = None
        seen = 0
        for image in images:
            model([image])
            seen += 1
        if not seen:
            raise ValueError("int8 calibration: no images")
    finally:
        for handle in handles:
            handle.remove()
        for name, value in saved.items():
            if isinstance(modules[name], _Int8Ready):
                modules[name].int8_ranges = value
        model.train(was_training)
    return {name: [float(f"{v:.6g}") for v in r] for name, r in ranges.items()}


def _flight_images(folders: Sequence[Path], frames: int) -> list[Path]:
    paths = sorted(p for folder in folders for p in Path(folder).glob("*/*.jpg"))
    if not paths:
        raise SystemExit(f"no frames (*/*.jpg) under {', '.join(map(str, folders))}")
    step = max(1, len(paths) // frames)
    return paths[::step][:frames]


def main(argv: list[str] | None = None) -> int:
    import json

    import numpy as np
    from PIL import Image

    from core.model_files import config_path_for
    from engine.weights import load_model

    parser = argparse.ArgumentParser(description="Measure the int8 convolutions' ranges on frames and write them "
                                                 "into the weights' JSON (\"inference\", \"cpu_int8\").")
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="flights in ISBDA format (their frames)")
    parser.add_argument("--frames", type=int, default=60, help="frames spread over the flights (default 60)")
    args = parser.parse_args(argv)
    model, _ = load_model(args.weights, inference={"sharpness_ceiling": 0, "close_look": False})

    def images():
        for path in _flight_images(args.data, args.frames):
            yield torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float() / 255

    ranges = calibrate(model, images())
    config_path = config_path_for(args.weights)
    config = json.loads(config_path.read_text())
    config.setdefault("inference", {})["cpu_int8"] = ranges
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    print(f"{len(ranges)} convolutions calibrated on {args.frames} frames: {config_path}")
    return 0


if __name__ == "__main__":
    # Run as ``python -m``, this file is ``__main__``, a second copy of the module whose
    # classes are not those the weights' loader gave the model: its main() would find no
    # int8-ready convolution in a model whose weights already carry ranges.
    from engine.msnet.int8 import main as package_main

    raise SystemExit(package_main())
