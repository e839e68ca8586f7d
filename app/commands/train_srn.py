"""``damagemap train-srn VIDEO... --weights W``: train the Score Refinement Network.

Unsupervised: the SRN learns from the videos alone (frames half a second apart should
look alike, frames ten seconds apart or from another video should not), on the frozen
backbone of the detector it will refine. Users can train it on their own footage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", type=Path, metavar="VIDEO", help="drone videos to learn from")
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="detector weights whose frozen backbone the SRN is trained on "
        "(default: the shipped resources/models/default/msnet.safetensors)",
    )
    parser.add_argument("--out", type=Path, default=Path("srn.safetensors"),
                        help="SRN weights to write; a .json config goes beside it (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=300, help="optimisation steps (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=2, help="triplets per step (default: %(default)s)")
    parser.add_argument("--negatives", type=int, default=5, help="negatives per anchor (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=1,
                        help="hardest negatives kept per anchor (default: %(default)s)")
    parser.add_argument("--margin", type=float, default=1.0, help="triplet margin m (default: %(default)s)")
    parser.add_argument("--short-side", type=int, default=512,
                        help="short side of training frames in pixels (default: %(default)s; the detector's "
                        "own input size matches inference better but costs more)")
    parser.add_argument("--sample-fps", type=float, default=5.0,
                        help="frames per second decoded for training (default: %(default)s)")
    parser.add_argument("--max-frames", type=int, default=400,
                        help="frames kept per video, a memory bound (default: %(default)s)")
    parser.add_argument("--locations", type=int, default=1024,
                        help="random locations per FPN level the loss uses each step; 0 = all "
                        "(default: %(default)s; all is exact but encodes whole P2 maps)")
    parser.add_argument("--feature-cache-mb", type=int, default=1024,
                        help="memory for keeping frames' frozen FPN maps between steps; 0 = off "
                        "(default: %(default)s)")
    parser.add_argument("--score-range", type=float, nargs=2, default=(0.2, 0.7), metavar=("C0", "C1"),
                        help="scores refined at inference, stored in the config (default: 0.2 0.7)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--save-compact", action="store_true",
                        help="store float16, the largest layers int8 (the shipped SRN's storage)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar (the summary lines are still printed)")


def run(args: argparse.Namespace) -> int:
    from app.commands import _flags

    for name in ("steps", "batch_size", "negatives", "top_k", "max_frames"):
        _flags.at_least(f"--{name.replace('_', '-')}", getattr(args, name))
    if args.top_k > args.negatives:
        raise InputError(f"--top-k ({args.top_k}) cannot exceed --negatives ({args.negatives})")
    _flags.positive("--lr", args.lr)
    _flags.positive("--margin", args.margin)
    _flags.positive("--sample-fps", args.sample_fps, "of frames per second")
    _flags.at_least("--short-side", args.short_side, 32)
    _flags.at_least("--locations", args.locations, 0)
    for name, value in zip(("C0", "C1"), args.score_range):
        _flags.between(f"--score-range {name}", value, 0.0, 1.0)
    if args.score_range[0] > args.score_range[1]:
        raise InputError(f"--score-range: C0 ({args.score_range[0]:g}) must not exceed C1 ({args.score_range[1]:g})")
    if args.out.suffix != ".safetensors":
        raise InputError(f"--out must end in .safetensors; got {str(args.out)!r}")
    made = _check_out(args.out)  # before the training, not after it
    try:
        return _train(args)
    except BaseException:
        for folder in made:  # a failed or stopped run leaves no empty folder behind
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _train(args: argparse.Namespace) -> int:
    import torch

    from engine.device import resolve_device
    from engine.srn import FrameBank, SRNConfig, SRNTrainingConfig, build_srn, load_frozen_fpn, save_srn, train_srn
    from engine.weights import DEFAULT_MSNET_WEIGHTS

    if args.weights is not None and args.weights.is_dir():  # a training run's folder: its weights are inside
        inside = args.weights / "model.safetensors"
        give = f"its model.safetensors ({inside})" if inside.is_file() else "a detector's .safetensors file"
        raise InputError(f"--weights {args.weights}: is a folder; give {give}")
    device = str(resolve_device(args.device))

    weights = args.weights or DEFAULT_MSNET_WEIGHTS
    extractor, provenance = load_frozen_fpn(weights, device=device)
    bank = FrameBank.from_videos(
        args.videos, short_side=args.short_side, sample_fps=args.sample_fps, max_frames_per_video=args.max_frames
    )
    height, width = bank.size_hw  # said with --quiet too: the size used may not be --short-side (rounded)
    print(f"train-srn: {len(bank)} frames from {len(args.videos)} video(s) at {width}x{height}, on {device}")
    config = SRNTrainingConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        margin=args.margin,
        num_negatives=args.negatives,
        top_k=args.top_k,
        seed=args.seed,
        locations_per_level=args.locations or None,
        feature_cache_mb=max(0, args.feature_cache_mb),
    )
    torch.manual_seed(args.seed)
    encoder = build_srn()
    losses = train_srn(encoder, extractor, bank, config, device=device, progress=not args.quiet)
    tail = losses[-10:]
    training = {
        **provenance,
        "videos": _video_names(args.videos),
        "frames": len(bank),
        "frame_size_hw": list(bank.size_hw),
        "steps": config.steps,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "num_negatives": config.num_negatives,
        "top_k": config.top_k,
        "seed": config.seed,
        "locations_per_level": config.locations_per_level,
        "first_loss": losses[0],
        "final_loss": sum(tail) / len(tail),
    }
    srn_config = SRNConfig.of(encoder, margin=args.margin, score_range=tuple(args.score_range), training=training)
    path = save_srn(encoder, args.out, srn_config, compact=args.save_compact)
    print(f"train-srn: loss {losses[0]:.4f} -> {training['final_loss']:.4f}; wrote {path}")
    return 0


def _check_out(out: Path) -> list[Path]:
    """``out`` can be written: not a folder, its folder there or made now; the folders
    made, deepest first."""
    if out.is_dir():
        raise InputError(f"--out {str(out)!r} is a folder; give a .safetensors file name")
    missing = [folder for folder in (out.parent, *out.parent.parents) if not folder.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {str(out)!r}: cannot create the folder {str(out.parent)!r} "
                         f"({exc.strerror or exc})") from None
    return missing


def _video_names(paths: list[Path]) -> list[str]:
    """File names for the provenance record; with their folder where names repeat."""
    names = [p.name for p in paths]
    if len(set(names)) < len(names):
        names = [f"{p.resolve().parent.name}/{p.name}" for p in paths]
    return names
