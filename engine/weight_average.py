"""Averaging detectors trained from the same weights (a weight soup).

Two runs that start from one model and train on different data (more synthetic flights,
a few real photos) end in weights that can be averaged tensor by tensor: the mean keeps
much of what each run learned and loses some of what each run overfitted (Wortsman et
al., "Model soups", 2022). This works only for runs that share their start; weights
trained apart from different starts average into a model that finds nothing, so the
result is a candidate to measure (``bench/real_frames.py``, ``bench/site_accuracy.py``),
never a model to trust unmeasured.

Works on the files as stored (:mod:`engine.compact`): each input is expanded to float32,
the floating tensors averaged with the given weights (integer tensors must agree), and
the result stored the way the first input was (compact or float16 or float32). The JSON
beside the output is the first input's, with ``"averaged_from"`` naming the inputs and
their weights (normalised to sum to 1). The int8 convolutions' ranges in that JSON are
the first input's: measure them again on the average (``python -m engine.msnet.int8``)
before shipping it.

    python -m engine.weight_average A.safetensors B.safetensors --out SOUP.safetensors
    python -m engine.weight_average A.safetensors B.safetensors --weights 0.7 0.3 --out SOUP.safetensors
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from core.errors import InputError, ModelError
from core.model_files import config_path_for
from engine.compact import SCALE_SUFFIX, compact_state, expand_state, read_stored, stored_dtype


def average_states(states: Sequence[dict[str, Tensor]], weights: Sequence[float], *,
                   sources: Sequence[object]) -> dict[str, Tensor]:
    """The weighted mean of float32 state dicts with the same tensors.

    :class:`ModelError` naming the sources when the tensors' names or shapes differ, or
    an integer tensor differs (those are counts and indices, not to be averaged)."""
    if len(states) != len(weights) or len(states) < 2:
        raise ModelError(f"averaging needs two or more weight files, one weight each ({len(states)} files, "
                         f"{len(weights)} weights)")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ModelError(f"averaging weights must be non-negative and not all zero: {list(weights)}")
    total = float(sum(weights))
    first, first_source = states[0], sources[0]
    for state, source in zip(states[1:], sources[1:]):
        if set(state) != set(first):
            extra = sorted(set(state) ^ set(first))
            raise ModelError(f"{source}: not the same model as {first_source} ({len(extra)} tensors differ in name, "
                             f"e.g. {extra[0]!r})")
        for name, tensor in state.items():
            if tensor.shape != first[name].shape:
                raise ModelError(f"{source}: tensor {name!r} is {tuple(tensor.shape)}, in {first_source} "
                                 f"{tuple(first[name].shape)}: not the same model")
    averaged: dict[str, Tensor] = {}
    for name, tensor in first.items():
        if tensor.is_floating_point():
            averaged[name] = sum(w / total * state[name].float() for w, state in zip(weights, states))
            continue
        for state, source in zip(states[1:], sources[1:]):
            if not torch.equal(state[name], tensor):
                raise ModelError(f"{source}: integer tensor {name!r} differs from {first_source}'s; "
                                 "integer tensors cannot be averaged")
        averaged[name] = tensor
    return averaged


def average_weight_files(paths: Sequence[str | Path], out: str | Path, *,
                         weights: Sequence[float] | None = None) -> Path:
    """Average the weight files ``paths`` (safetensors + JSON each) into ``out``."""
    from safetensors.torch import save_file

    from engine.weights import read_config, refuse_shipped_folder

    refuse_shipped_folder(out)
    paths = [Path(p) for p in paths]
    weights = list(weights) if weights is not None else [1.0] * len(paths)
    configs = [read_config(p) for p in paths]
    for path, config in zip(paths[1:], configs[1:]):
        if config["model"] != configs[0]["model"]:
            raise ModelError(f"{config_path_for(path)}: builds another model than {config_path_for(paths[0])} "
                             "(its \"model\" differs): weights of different models cannot be averaged")
    stored, metadata = zip(*(read_stored(path) for path in paths))
    states = [expand_state(s, source=p) for s, p in zip(stored, paths)]
    averaged = average_states(states, weights, sources=paths)

    first = stored[0]
    if any(name.endswith(SCALE_SUFFIX) for name in first):
        tensors = compact_state(averaged)
    else:
        tensors = {name: t.to(first[name].dtype).contiguous() for name, t in averaged.items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    applied = [w / float(sum(weights)) for w in weights]
    config = {**configs[0], "averaged_from": [{"weights": str(p), "weight": w} for p, w in zip(paths, applied)],
              "stored_dtype": stored_dtype(tensors)}
    tmp = out.with_name(out.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata[0])
    tmp.replace(out)
    config_path_for(out).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Average detectors trained from the same weights (a weight soup).")
    parser.add_argument("weights_files", type=Path, nargs="+", metavar="WEIGHTS",
                        help="two or more .safetensors files, each with its JSON beside it")
    parser.add_argument("--weights", type=float, nargs="+", dest="mix", metavar="W",
                        help="one weight per file (default: equal); normalised to sum to 1")
    parser.add_argument("--out", type=Path, required=True, help="the averaged .safetensors (its JSON beside it)")
    args = parser.parse_args(argv)
    if len(args.weights_files) < 2:
        parser.error("give two or more weight files to average")
    if args.mix is not None and len(args.mix) != len(args.weights_files):
        parser.error(f"--weights takes one weight per file ({len(args.weights_files)} files, {len(args.mix)} weights)")
    try:
        out = average_weight_files(args.weights_files, args.out, weights=args.mix)
    except (InputError, ModelError) as exc:
        parser.exit(1, f"error: {exc}\n")
    print(f"averaged {len(args.weights_files)} detectors: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
