"""Test-time settings of a loaded detector: how it runs, never what it learned.

A weights file's JSON config may hold an ``"inference"`` object; any key left out takes
the default of :class:`InferenceSettings` (the model as built, float32: what a config
without the object gets). Nothing here changes the stored weights:

``rpn_pre_nms_top_n``
    Damage proposals kept per FPN level before the RPN's NMS; ``null`` (default): as
    the model was built (torchvision: 1000).
``rpn_post_nms_top_n``
    At most this many damage proposals go to the RoI heads after NMS; ``null``
    (default): as the model was built (torchvision: 1000). The box branch's cost scales
    with it, but so does recall: 300 instead of 1000 cost the shipped model 4.3 points
    of mask AP on its validation flight.
``detections_per_img``
    Detections kept per image after the box head; ``null`` (default): as the model was
    built (torchvision: 100).
``input_size``
    The short side, in pixels, each image is resized to before the model sees it (the
    long side scaled as the model was built: 640 for 360); ``null`` (default): as the
    model was built. Larger finds smaller, farther damage and raises more false alarms,
    misses large damage it was not trained to see at that size, and costs about
    ``(input_size / built size)**2`` the time (``analyze``/``predict``/``evaluate``
    ``--input-size``).
``gate_threshold``
    The building gate ``S`` at test time: a damage anchor takes part only when more than
    this share of it lies inside one of the top building proposals (inner intersection;
    IoU for a model built with that metric); ``null`` (default): the ``S`` the model was
    trained with (0.1, the paper's best). Higher drops damage candidates that are not on
    a building the model found (fallen trees on lawns, bright ground) and with them some
    damage at roof edges and debris beside houses (``--building-gate``). Only MSNet
    has a building gate. Training always uses the trained ``S``.
``flip_check``
    The mirror check (``true``/``false``, default ``false``): each image also goes
    through the model mirrored left to right, and a detection's score becomes the mean
    of its scores in the two views (0 in a view that misses it; :mod:`engine.msnet.flip_check`).
    Damage is found in both views; many false alarms on real footage are not, and fall
    to half their score. Twice the model's time (``--flip-check``).
``tiles``
    The tiled look (a whole number from 1 to :data:`MAX_TILES`, default 1: off): each
    image is also seen in an N x N grid of overlapping tiles, each resized to the input
    size, and the small damage the tiles find joins the image's own detections
    (:mod:`engine.msnet.tiling`). Finds more of the damage only a few pixels across
    (footage flown high or wide), with some more false alarms; about N*N + 1 times the
    model's time (``--tiles N``).
``close_look``
    The close look (``true``/``false``, default ``false``): each detection is seen again
    in a crop of the full-resolution image by a small classifier of its own (a copy of
    the detector's backbone fine-tuned on its detections), which says how likely that
    crop shows damage (``p``); the score becomes ``score * p``
    (:mod:`engine.msnet.close_look`). Fewer false alarms on real footage, every score
    somewhat lower. Only weights with a close-look head can
    take it (``--close-look``; the shipped model's ``msnet.json`` turns it on,
    ``--no-close-look`` turns it off).
``srn``
    Whether an analysis refines scores across frames with the Score Refinement Network
    unless told (``true``/``false``, default ``true``; ``analyze``/``survey``
    ``--srn``/``--no-srn``, the Analyse dialog). The SRN helps a detector whose scores
    flicker between frames; the shipped model's ``msnet.json`` turns it off, because with
    its close look the SRN added more wrong sites than right ones (``docs/srn.md``).
``sharpness_ceiling``
    Frames sharper than this are blurred down to it before the model sees them
    (:mod:`engine.msnet.sharpness`: the variance of the Laplacian of the grey frame at
    the input size the model was built with, whatever ``input_size`` says); ``null`` or 0
    (default): frames as they come. The shipped model,
    trained on soft rendered flights, raises many false alarms on the fine texture of
    crisp real footage; its ``msnet.json`` sets the top of its training flights' range.
    Frames at or under the ceiling are left exactly as they are.
``max_frame_scale``
    Frames whose short side is more than this many times the input size the model runs
    at are shrunk to it (area averaging) before the model sees them; boxes and masks
    still come in the frame's own pixels (:mod:`engine.msnet.working_size`). ``null``
    (default): frames as they come. The model looks at its input size and softens crisp
    frames to its training sharpness there, so a 4K frame holds nothing it can use that a
    frame three times its input size does not, and costs a CPU twice the time; the
    shipped model's ``msnet.json`` sets 3 (a 1080-line frame for its 360-line input).
    Not with the tiled look, which sees the frame at its own size.
``cpu_bfloat16``
    Parts that run in bfloat16 on a CPU with native bfloat16 arithmetic (AVX-512 BF16
    or AMX; elsewhere they stay float32, which is faster there); default none, the
    shipped model names all but the first: ``"backbone"`` (the backbone body's convolutions),
    ``"fpn"`` (the FPN's convolutions), ``"rpn_head"`` (the RPN's shared 3x3
    convolution), ``"mask_head"`` (mask convolutions and predictor), ``"close_look"``
    (the close look's backbone, on its crops), ``"srn"`` (the SRN encoder). Their outputs
    are turned back into float32, so scores, boxes, NMS and proposal ranking stay float32.
    Training and GPUs are unaffected (a GPU analysis uses float16 autocast anyway).
``cpu_int8``
    Calibrated ranges (per convolution, the input's and the output's ``[min, max]``) of
    the 256-channel convolutions that run in int8 on a CPU *without* native bfloat16
    (:mod:`engine.msnet.int8`: the FPN's output convolutions, the RPN's shared one, the
    mask head's two and the mask predictor's 2x2 transposed one); default none (float32);
    a convolution left out stays float32. Written by ``python -m engine.msnet.int8``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from core.errors import ModelError
from core.settings import MAX_INPUT_SIZE, MAX_TILES, MIN_INPUT_SIZE

#: the parts :data:`InferenceSettings.cpu_bfloat16` may name
BFLOAT16_PARTS = ("backbone", "fpn", "rpn_head", "mask_head", "close_look", "srn")


@dataclass(frozen=True, slots=True)
class InferenceSettings:
    """How a loaded detector runs at test time (see the module docstring)."""

    rpn_pre_nms_top_n: int | None = None
    rpn_post_nms_top_n: int | None = None
    detections_per_img: int | None = None
    input_size: int | None = None
    gate_threshold: float | None = None
    sharpness_ceiling: float | None = None
    max_frame_scale: float | None = None
    flip_check: bool = False
    tiles: int = 1
    close_look: bool = False
    srn: bool = True
    cpu_bfloat16: tuple[str, ...] = ()
    cpu_int8: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()

    @classmethod
    def from_config(cls, section: object, *, source: str) -> InferenceSettings:
        """Settings from a config's ``"inference"`` object (``None``: all defaults).

        Raises :class:`ModelError` naming ``source`` for an unknown key or a bad value.
        """
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise ModelError(f"{source}: 'inference' must be a JSON object; got {type(section).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ModelError(f"{source}: unknown inference setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key in ("rpn_pre_nms_top_n", "rpn_post_nms_top_n", "detections_per_img", "input_size"):
            if key in section:
                value = section[key]
                if value is None:
                    continue
                least = MIN_INPUT_SIZE if key == "input_size" else 1
                most = MAX_INPUT_SIZE if key == "input_size" else None
                if isinstance(value, bool) or not isinstance(value, int) or value < least or (
                        most is not None and value > most):
                    within = f">= {least}" if most is None else f"from {least} to {most}"
                    raise ModelError(
                        f"{source}: inference setting {key!r} must be a whole number {within}; got {value!r}"
                    )
                values[key] = value
        gate = section.get("gate_threshold")
        if gate is not None:
            if isinstance(gate, bool) or not isinstance(gate, (int, float)) or not 0.0 <= gate < 1.0:
                raise ModelError(f"{source}: inference setting 'gate_threshold' must be a number in [0, 1); got {gate!r}")
            values["gate_threshold"] = float(gate)
        for key, least, off in (("sharpness_ceiling", 0, "0 or null"), ("max_frame_scale", 1, "null")):
            number = section.get(key)
            if number is None:
                continue
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not (
                    math.isfinite(number) and number >= least):
                raise ModelError(f"{source}: inference setting {key!r} must be a number >= {least} "
                                 f"({off}: frames as they come); got {number!r}")
            if number > 0:
                values[key] = float(number)
        tiles = section.get("tiles")
        if tiles is not None:
            if isinstance(tiles, bool) or not isinstance(tiles, int) or not 1 <= tiles <= MAX_TILES:
                raise ModelError(f"{source}: inference setting 'tiles' must be a whole number from 1 (off) "
                                 f"to {MAX_TILES}; got {tiles!r}")
            values["tiles"] = tiles
        for key in ("flip_check", "close_look", "srn"):
            flag = section.get(key)
            if flag is not None:
                if not isinstance(flag, bool):
                    raise ModelError(f"{source}: inference setting {key!r} must be true or false; got {flag!r}")
                values[key] = flag
        if "cpu_bfloat16" in section:
            parts = section["cpu_bfloat16"]
            if not isinstance(parts, list) or any(part not in BFLOAT16_PARTS for part in parts):
                raise ModelError(
                    f"{source}: inference setting 'cpu_bfloat16' must be a list of parts among "
                    f"{', '.join(BFLOAT16_PARTS)}; got {parts!r}"
                )
            values["cpu_bfloat16"] = tuple(dict.fromkeys(parts))
        if section.get("cpu_int8") is not None:
            values["cpu_int8"] = _int8_ranges(section["cpu_int8"], source)
        return cls(**values)

    def as_config(self) -> dict[str, Any]:
        """The JSON form (what :meth:`from_config` reads back)."""
        out = dataclasses.asdict(self)
        out["cpu_bfloat16"] = list(self.cpu_bfloat16)
        out["cpu_int8"] = {name: list(ranges) for name, ranges in self.cpu_int8}
        return out


def _int8_ranges(section: object, source: str) -> tuple[tuple[str, tuple[float, float, float, float]], ...]:
    from engine.msnet.int8 import ALLOWED

    if not isinstance(section, Mapping):
        raise ModelError(f"{source}: inference setting 'cpu_int8' must be an object of convolution: "
                         f"[input min, input max, output min, output max]; got {type(section).__name__}")
    out = []
    for name, ranges in section.items():
        if name not in ALLOWED:
            raise ModelError(f"{source}: inference setting 'cpu_int8': {name!r} cannot run in int8 "
                             f"(one of {', '.join(ALLOWED)})")
        ok = (isinstance(ranges, list) and len(ranges) == 4
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in ranges)
              and ranges[0] <= ranges[1] and ranges[2] <= ranges[3])
        if not ok:
            raise ModelError(f"{source}: inference setting 'cpu_int8': {name!r} needs [input min, input max, "
                             f"output min, output max], finite and in order; got {ranges!r}")
        out.append((name, tuple(float(v) for v in ranges)))
    return tuple(out)


@functools.cache
def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (oneDNN's own check: AVX-512 BF16/AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bfloat16_applies(enabled: bool, tensor: torch.Tensor) -> bool:
    """Whether a part flagged ``enabled`` runs in bfloat16 on ``tensor``: on a CPU that
    computes bfloat16 natively, without gradients, and no autocast active already."""
    return (
        enabled
        and tensor.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and cpu_has_native_bfloat16()
    )


def in_bfloat16(enabled: bool, forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``forward(x)``, under bfloat16 autocast where :func:`bfloat16_applies` (its output
    back in float32), else as it is."""
    if not bfloat16_applies(enabled, x):
        return forward(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return forward(x).float()


def apply_inference_settings(model: torch.nn.Module, settings: InferenceSettings) -> torch.nn.Module:
    """Set ``settings`` on an MSNet (in place; returns it). The weights are untouched."""
    from engine.msnet.hrpn import HierarchicalRPN
    from engine.msnet.int8 import set_int8_ranges

    rpn = getattr(model, "rpn", None)
    if settings.gate_threshold is not None and not isinstance(rpn, HierarchicalRPN):  # refused before any change
        arch = (getattr(model, "build_config", None) or {}).get("arch") or type(model).__name__
        raise ModelError(f"the building gate is MSNet's hierarchical RPN's; these weights are {arch!r}, which has "
                         f"no building RPN (inference setting 'gate_threshold' {settings.gate_threshold!r})")
    if settings.close_look and getattr(model, "close_look_head", None) is None:
        raise ModelError("these weights have no close-look head (inference setting 'close_look'); "
                         "fit one with python -m engine.msnet.close_look_fit")
    damage_rpn = rpn.damage_rpn if isinstance(rpn, HierarchicalRPN) else rpn
    heads = getattr(model, "roi_heads", None)
    transform = getattr(model, "transform", None)
    built = getattr(model, "built_test_settings", None)
    if not isinstance(built, dict):  # first call: remember what the model was built with
        built = {
            "pre": None if damage_rpn is None else damage_rpn._pre_nms_top_n["testing"],
            "post": None if damage_rpn is None else damage_rpn._post_nms_top_n["testing"],
            "detections": getattr(heads, "detections_per_img", None),
            "min_size": None if transform is None else tuple(transform.min_size),
            "max_size": None if transform is None else transform.max_size,
        }
        model.built_test_settings = built  # type: ignore[assignment]
    if transform is not None and built.get("min_size"):
        if settings.input_size is None:
            transform.min_size, transform.max_size = built["min_size"], built["max_size"]
        else:  # the long side's limit keeps the built proportion (640 for 360)
            scale = settings.input_size / max(built["min_size"])
            transform.min_size, transform.max_size = (settings.input_size,), round(built["max_size"] * scale)
    if damage_rpn is not None:
        pre = settings.rpn_pre_nms_top_n or built["pre"]
        post = built["post"] if settings.rpn_post_nms_top_n is None else min(settings.rpn_post_nms_top_n, built["post"])
        damage_rpn._pre_nms_top_n = {**damage_rpn._pre_nms_top_n, "testing": pre}
        damage_rpn._post_nms_top_n = {**damage_rpn._post_nms_top_n, "testing": post}
    if heads is not None:
        heads.detections_per_img = settings.detections_per_img or built["detections"]
    if isinstance(rpn, HierarchicalRPN):
        rpn.damage_rpn.test_gate_threshold = settings.gate_threshold
    model.flip_check = settings.flip_check  # type: ignore[assignment]
    model.tiles = settings.tiles  # type: ignore[assignment]
    set_int8_ranges(model, dict(settings.cpu_int8))
    model.sharpness_ceiling = settings.sharpness_ceiling or None  # type: ignore[assignment]  # 0: off
    # measured where the model was trained to look, whatever input size it runs at now
    model.sharpness_short_side = int(built["min_size"][-1]) if built.get("min_size") else None  # type: ignore[assignment]
    model.close_look = settings.close_look  # type: ignore[assignment]
    input_short_side = min(transform.min_size) if transform is not None and transform.min_size else None
    model.working_short_side = (  # type: ignore[assignment]
        round(settings.max_frame_scale * input_short_side) if settings.max_frame_scale and input_short_side else None)
    parts = set(settings.cpu_bfloat16)
    model.backbone_bfloat16 = "backbone" in parts  # type: ignore[assignment]
    model.fpn_bfloat16 = "fpn" in parts  # type: ignore[assignment]
    close_look_head = getattr(model, "close_look_head", None)
    if close_look_head is not None:
        close_look_head.cpu_bfloat16 = "close_look" in parts
    if isinstance(rpn, HierarchicalRPN):
        rpn.trunk_bfloat16 = "rpn_head" in parts
    for name, part in (("mask_head", "mask_head"), ("mask_predictor", "mask_head")):
        module = getattr(heads, name, None)
        if module is not None and hasattr(module, "cpu_bfloat16"):
            module.cpu_bfloat16 = part in parts
    model.inference_settings = settings  # type: ignore[assignment]
    return model


def inference_settings_of(model: object) -> InferenceSettings | None:
    """The settings applied to ``model`` (``None`` for a model built in code)."""
    settings = getattr(model, "inference_settings", None)
    return settings if isinstance(settings, InferenceSettings) else None


def srn_in_bfloat16(model: object) -> bool:
    """Whether the SRN that refines ``model``'s detections should encode in bfloat16."""
    settings = inference_settings_of(model)
    return settings is not None and "srn" in settings.cpu_bfloat16


__all__ = [
    "BFLOAT16_PARTS",
    "InferenceSettings",
    "MAX_TILES",
    "apply_inference_settings",
    "bfloat16_applies",
    "cpu_has_native_bfloat16",
    "inference_settings_of",
    "in_bfloat16",
    "srn_in_bfloat16",
]
