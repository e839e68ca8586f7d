"""``damagemap train``: train MSNet or a baseline on ISBDA-format data.

Defaults are the paper's schedule (SGD, lr 0.003 then 0.001 after 10 epochs, batch 8,
short side 800, long side <= 1333, 100 epochs). Multi-GPU: ``torchrun --nproc-per-node N
-m app.cli train ...``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _anchor_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 5 comma-separated integers; got {text!r}") from None
    if len(sizes) != 5:
        raise argparse.ArgumentTypeError(f"expected 5 comma-separated integers (P2..P6); got {text!r}")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+", metavar="DIR",
                        help="dataset folder(s): annotations/instances_<split>.json + <split>/; training splits are joined")
    parser.add_argument("--val-data", default=None, metavar="DIR",
                        help="folder holding the validation split (default: the first --data that has it)")
    parser.add_argument("--out", default=None, help="run folder for weights, checkpoint and log (default runs/<arch>)")
    parser.add_argument("--arch", default="msnet", choices=["msnet", "maskrcnn", "maskrcnn-cotrain"],
                        help="msnet (the paper's model), maskrcnn (the baseline) or maskrcnn-cotrain "
                        "(the baseline co-trained on building outlines); default msnet")
    parser.add_argument("--backbone", default="resnet50", choices=["resnet50", "resnet18", "mobilenet_v3", "mobilenet_v2"],
                        help="feature extractor under the FPN (default resnet50; the smaller ones suit a CPU)")
    parser.add_argument("--heads", default="standard", choices=["standard", "light"],
                        help="torchvision's box/mask heads, or lighter ones for CPU and small files")
    parser.add_argument("--train-split", default="train", help="split trained on (default train)")
    parser.add_argument("--val-split", default="val", help="evaluated each epoch if present; 'none' to skip")
    parser.add_argument("--epochs", type=int, default=100, help="passes over the training images (default 100)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per step (default 8)")
    parser.add_argument("--lr", type=float, default=0.003, help="SGD learning rate at the start (default 0.003)")
    parser.add_argument("--lr-after-drop", type=float, default=0.001,
                        help="learning rate after the drop (step), or at the end (cosine); default 0.001")
    parser.add_argument("--lr-drop-epoch", type=int, default=10, help="epoch of the step schedule's drop (default 10)")
    parser.add_argument("--warmup-steps", type=int, default=100,
                        help="steps over which the learning rate rises linearly to --lr (default 100)")
    parser.add_argument("--min-size", type=int, default=800, help="short side (eval; largest training scale)")
    parser.add_argument("--max-size", type=int, default=1333, help="long side limit")
    parser.add_argument("--no-multiscale", action="store_true", help="train at --min-size only")
    parser.add_argument("--anchor-sizes", type=_anchor_sizes, default=(32, 64, 128, 256, 512),
                        help="anchor size per FPN level P2..P6 (default 32,64,128,256,512)")
    parser.add_argument("--roi-batch", type=int, default=512, help="RoIs sampled per image for the box/mask heads")
    parser.add_argument("--damage-positive-iou", type=float, default=0.7,
                        help="overlap with a damaged part from which the damage RPN trains an anchor as that damage "
                        "(default 0.7, torchvision's; lower trains small damage on more anchors)")
    parser.add_argument("--box-positive-iou", type=float, default=0.5,
                        help="overlap with a damaged part from which the box head trains a proposal as that damage "
                        "(default 0.5, torchvision's)")
    parser.add_argument("--gate-metric", default="ii", choices=["ii", "iou"], help="HRPN anchor gating metric")
    parser.add_argument("--gate-threshold", type=float, default=0.1, help="HRPN gating threshold S")
    parser.add_argument("--init", default=None, help="local weights (torchvision COCO or ImageNet, the MobileNetV2 "
                        "ImageNet file `python -m engine.msnet.imagenet_init` makes, or a damagemap model, whose close "
                        "look and test-time settings the result keeps) to start from")
    parser.add_argument("--trainable-layers", type=int, default=None,
                        help="backbone stages left trainable, from the top (default: all from scratch, 3 with --init)")
    parser.add_argument("--photometric", type=float, default=0.0, metavar="P",
                        help="probability of camera/codec distortions per training image (exposure, colour, blur, "
                        "noise, JPEG artefacts); 0 = none")
    parser.add_argument("--fine-detail", type=float, default=0.0, metavar="P",
                        help="probability of crisp edges and fine grain per training image, as real footage has and "
                        "renders lack (before the camera/codec distortions); 0 = none")
    parser.add_argument("--video-frames", type=float, default=0.0, metavar="P",
                        help="probability of training on the frame as the flight's video gives it (the video each image "
                        "names, as export --training writes it, else DIR/flight.mp4, or DIR/flights/<split>/flight.mp4 "
                        "as synth --splits writes, at the image's frame_index, with the codec's artefacts the analysis "
                        "sees) instead of the still; 0 = the stills")
    parser.add_argument("--lr-schedule", default="step", choices=["step", "cosine"],
                        help="step: the paper's drop after --lr-drop-epoch; cosine: --lr down to --lr-after-drop over --max-steps")
    parser.add_argument("--schedule-steps", type=int, default=None, metavar="N",
                        help="cosine horizon when a run is split into stages with their own --max-steps (default: --max-steps)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue from OUT/checkpoint.pt (the rest of its epoch, in the same order); give the "
                       "options of the run that wrote it (other --data, --batch-size or --lr go on from there, as "
                       "a curriculum's next stage, and model.json records the earlier ones with their steps)")
    again.add_argument("--overwrite", action="store_true",
                       help="start afresh in an --out that holds a run, replacing its weights, checkpoint and log "
                       "(without it such a folder is refused)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--workers", type=int, default=2, help="data loader processes")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--eval-every", type=int, default=1, help="evaluate every N epochs (and at the end)")
    parser.add_argument("--eval-every-steps", type=int, default=None, metavar="N",
                        help="also evaluate every N steps (logged to log.jsonl, for a held-out AP curve)")
    parser.add_argument("--checkpoint-every-steps", type=int, default=None, metavar="N",
                        help="also write checkpoint.pt every N steps, so --resume loses little")
    parser.add_argument("--max-steps", "--steps", type=int, default=None, metavar="N",
                        help="stop after this many steps (--steps as in finetune)")
    parser.add_argument("--time-budget", "--minutes", type=float, default=None, metavar="MIN",
                        help="stop after this many minutes (--minutes as in finetune)")
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument("--save-half", action="store_true", help="store the final weights as float16")
    storage.add_argument("--save-compact", action="store_true",
                         help="store the final weights as float16, the largest tensors int8 (the shipped model's storage)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for weights, sampling and augmentation (default 0)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse numeric flags that cannot be right, naming the flag, before any data is read."""
    from app.commands import _flags

    for flag in ("--epochs", "--batch-size", "--min-size", "--max-size", "--roi-batch", "--eval-every",
                 "--eval-every-steps", "--checkpoint-every-steps", "--max-steps", "--schedule-steps"):
        _flags.at_least(flag, getattr(args, flag[2:].replace("-", "_")))
    for flag in ("--lr-drop-epoch", "--warmup-steps", "--workers", "--trainable-layers"):
        _flags.at_least(flag, getattr(args, flag[2:].replace("-", "_")), 0)
    _flags.at_least("--threads", args.threads)
    _flags.positive("--lr", args.lr)
    _flags.finite("--lr-after-drop", args.lr_after_drop)
    _flags.at_least("--lr-after-drop", args.lr_after_drop, 0)
    _flags.positive("--time-budget", args.time_budget, "of minutes")
    _flags.fraction("--gate-threshold", args.gate_threshold)
    # anchors under 0.3 are trained as background; a box head with no positives learns nothing
    _flags.between("--damage-positive-iou", args.damage_positive_iou, 0.3, 1.0)
    _flags.between("--box-positive-iou", args.box_positive_iou, 0.05, 1.0)
    _flags.fraction("--photometric", args.photometric)
    _flags.fraction("--fine-detail", args.fine_detail)
    _flags.fraction("--video-frames", args.video_frames)
    if args.init is not None and Path(args.init).is_dir():
        from core.errors import InputError

        weights = Path(args.init) / "model.safetensors"
        give = f"its model.safetensors ({weights})" if weights.is_file() else "a weights file (.safetensors, .pth)"
        raise InputError(f"--init {args.init}: is a folder; give {give}")


def resume_command(args: argparse.Namespace) -> str:
    """The command that continues this run: ``damagemap train`` with the options given
    (the ones that differ from their defaults) and ``--resume``."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    words = ["damagemap", "train"]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("resume", "overwrite"):
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default or value is None:
            continue
        flag = action.option_strings[0]
        if action.nargs == 0:  # a switch
            words.append(flag)
        elif action.dest == "anchor_sizes":
            words += [flag, ",".join(map(str, value))]
        elif isinstance(value, (list, tuple)):
            words += [flag, *map(str, value)]
        else:
            words += [flag, str(value)]
    return shlex.join([*words, "--resume"])


def run(args: argparse.Namespace) -> int:
    import json

    from engine.train import TrainConfig, TrainingInterrupted, train

    check_arguments(args)

    config = TrainConfig(
        data=args.data,
        out=args.out or f"runs/{args.arch}",
        arch=args.arch,
        backbone=args.backbone,
        heads=args.heads,
        train_split=args.train_split,
        val_split=None if str(args.val_split).lower() == "none" else args.val_split,
        val_data=args.val_data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_after_drop=args.lr_after_drop,
        lr_drop_epoch=args.lr_drop_epoch,
        warmup_steps=args.warmup_steps,
        min_size=args.min_size,
        max_size=args.max_size,
        multiscale=not args.no_multiscale,
        anchor_sizes=tuple(args.anchor_sizes),
        roi_batch_size=args.roi_batch,
        damage_positive_iou=args.damage_positive_iou,
        box_positive_iou=args.box_positive_iou,
        gate_metric=args.gate_metric,
        gate_threshold=args.gate_threshold,
        init=args.init,
        trainable_backbone_layers=args.trainable_layers,
        photometric=args.photometric,
        fine_detail=args.fine_detail,
        video_frames=args.video_frames,
        lr_schedule=args.lr_schedule,
        schedule_steps=args.schedule_steps,
        resume=args.resume,
        overwrite=args.overwrite,
        device=args.device,
        amp=not args.no_amp,
        workers=args.workers,
        threads=args.threads,
        eval_every=args.eval_every,
        eval_every_steps=args.eval_every_steps,
        checkpoint_every_steps=args.checkpoint_every_steps,
        max_steps=args.max_steps,
        time_budget_min=args.time_budget,
        save_half=args.save_half,
        save_compact=args.save_compact,
        seed=args.seed,
    )
    try:
        summary = train(config, progress=not args.quiet)  # a checkpoint holding Python objects: one ModelError line
    except TrainingInterrupted as stopped:
        if stopped.checkpoint is None and stopped.step == 0:
            print("damagemap train: interrupted before the first step; nothing was saved", file=sys.stderr)
        elif stopped.checkpoint is None:  # a multi-GPU run's other processes: the first one saves
            print(f"damagemap train: interrupted at step {stopped.step}", file=sys.stderr)
        else:
            print(f"damagemap train: interrupted at step {stopped.step}; {stopped.checkpoint} holds the run at that "
                  f"step; continue it with: {resume_command(args)}", file=sys.stderr)
        return 130
    if "nothing_to_train" in summary:
        print(f"damagemap train: {summary['nothing_to_train']}", file=sys.stderr)
        return 0
    print(json.dumps(summary, indent=2, default=str))
    print(f"weights: {config.out}/model.safetensors (+ model.json)")
    return 0
