"""Training MSNet and its baselines on ISBDA-format data (the paper's schedule by default).

SGD (momentum 0.9, weight decay 1e-4), lr 0.003 dropped to 0.001 after 10 epochs, batch
8, short side 800 / long side <= 1333, with a linear warm-up and gradient clipping since
nothing is pretrained unless ``init`` names a local file. Mixed precision on CUDA;
``torchrun`` gives DistributedDataParallel (one process per GPU, rank 0 logs, evaluates
and saves). A run folder holds ``model.safetensors`` + ``model.json`` (the final
weights), ``checkpoint.pt`` (for ``resume``; tensors and plain values only, read with
``weights_only=True``) and ``log.jsonl`` (one line per logged step and per evaluation).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError, ModelError
from engine.device import resolve_device


class NonFiniteLossError(ModelError, FloatingPointError):
    """The loss became NaN or infinite; the message names the step and every loss."""


@dataclass
class TrainConfig:
    """Everything a training run depends on (written into the weights JSON)."""

    data: list[str]
    out: str = "runs/msnet"
    arch: str = "msnet"
    backbone: str = "resnet50"
    heads: str = "standard"
    train_split: str = "train"
    val_split: str | None = "val"
    val_data: str | None = None
    epochs: int = 100
    batch_size: int = 8
    lr: float = 0.003
    lr_after_drop: float = 0.001
    lr_drop_epoch: int = 10
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 10.0
    min_size: int = 800
    max_size: int = 1333
    multiscale: bool = True
    hflip: float = 0.5
    photometric: float = 0.0
    fine_detail: float = 0.0
    video_frames: float = 0.0  # probability of training on the video's frame instead of the still
    gate_metric: str = "ii"
    gate_threshold: float = 0.1
    anchor_sizes: tuple[int, ...] = (32, 64, 128, 256, 512)
    roi_batch_size: int = 512
    damage_positive_iou: float = 0.7  # the damage RPN's positive anchors (torchvision's)
    box_positive_iou: float = 0.5  # the box head's positive proposals (torchvision's)
    init: str | None = None
    trainable_backbone_layers: int | None = None
    lr_schedule: str = "step"
    schedule_steps: int | None = None  # cosine horizon; None: max_steps
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    workers: int = 2
    eval_every: int = 1
    eval_every_steps: int | None = None
    checkpoint_every_steps: int | None = None
    eval_batch_size: int = 2
    max_steps: int | None = None
    time_budget_min: float | None = None
    resume: bool = False
    save_half: bool = False
    save_compact: bool = False
    threads: int | None = None
    log_every: int = 10
    extra: dict[str, Any] = field(default_factory=dict)


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun, else (0, 1, 0)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def learning_rate(config: TrainConfig, epoch: int, step: int) -> float:
    """Paper schedule (step drop after ``lr_drop_epoch`` epochs) with a linear warm-up.

    ``lr_schedule="cosine"`` decays from ``lr`` to ``lr_after_drop`` over ``max_steps``
    instead (over ``schedule_steps`` when given, so a run split into stages, each with its
    own ``max_steps``, follows one curve), which suits a run sized in steps or minutes
    rather than epochs.
    """
    horizon = config.schedule_steps or config.max_steps
    if config.lr_schedule == "cosine" and horizon:
        progress = min(1.0, step / horizon)
        base = config.lr_after_drop + 0.5 * (config.lr - config.lr_after_drop) * (1 + math.cos(math.pi * progress))
    else:
        base = config.lr if epoch < config.lr_drop_epoch else config.lr_after_drop
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return base * (0.001 + 0.999 * step / config.warmup_steps)
    return base


def check_finite(losses: dict[str, torch.Tensor], step: int) -> None:
    """Raise :class:`NonFiniteLossError` (with the step and every loss) on NaN/inf."""
    total = sum(losses.values())
    if not torch.isfinite(total):
        values = {name: float(value) for name, value in losses.items()}
        raise NonFiniteLossError(f"non-finite loss at step {step}: {values}")


def build_model_for(config: TrainConfig):  # type: ignore[no-untyped-def]
    from engine.data.transforms import multiscale_sizes
    from engine.msnet import build_msnet, set_training_matches

    min_size: int | tuple[int, ...] = config.min_size
    if config.multiscale:
        min_size = multiscale_sizes(config.min_size)
    model = build_msnet(
        arch=config.arch,
        backbone=config.backbone,
        heads=config.heads,
        min_size=min_size,
        max_size=config.max_size,
        gate_metric=config.gate_metric,
        gate_threshold=config.gate_threshold,
        anchor_sizes=tuple(config.anchor_sizes),
        box_batch_size_per_image=config.roi_batch_size,
        norm="frozen_bn" if config.init else "bn",
        trainable_backbone_layers=config.trainable_backbone_layers,
    )
    set_training_matches(model, damage_positive_iou=config.damage_positive_iou,
                         box_positive_iou=config.box_positive_iou)
    return model


def _write_log(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def _save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: Any, *,
                     epoch: int, step: int, config: TrainConfig) -> None:
    """Everything ``resume`` needs, written atomically (a kill mid-write keeps the old one)."""
    from engine.checkpoint import save_checkpoint

    save_checkpoint(path, model, optimizer, scaler=scaler.state_dict(), epoch=epoch, step=step,
                    config=dataclasses.asdict(config))


def reseed_worker(worker_id: int) -> None:
    """A DataLoader worker's own random choices: each dataset part (the choice of video
    frame or still, the flips and distortions) seeded from the worker's seed, which the
    loader derives from its generator, so runs repeat and workers differ."""
    info = torch.utils.data.get_worker_info()
    if info is None:
        return
    dataset = info.dataset
    parts = dataset.datasets if isinstance(dataset, torch.utils.data.ConcatDataset) else [dataset]
    seeds = random.Random(info.seed)
    for part in parts:
        if hasattr(part, "reseed"):
            part.reseed(seeds.getrandbits(32))


def planned_steps(config: TrainConfig, batches_per_epoch: int) -> int:
    """The steps a run takes: every batch of ``config.epochs`` epochs, or ``max_steps``
    where that comes first (a time budget may still end it sooner)."""
    steps = config.epochs * batches_per_epoch
    return min(steps, config.max_steps) if config.max_steps else steps


def train(config: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train as ``config`` says; returns a summary (steps, last losses, final metrics).

    ``config.data`` may name several dataset folders; their training splits are
    concatenated. Validation uses ``config.val_data``, else the first folder that has
    ``config.val_split``.

    Raises
    ------
    InputError
        The data folder lacks the training split.
    NonFiniteLossError
        The loss diverged.
    """
    from torch.utils.data import ConcatDataset, DataLoader
    from torch.utils.data.distributed import DistributedSampler

    from engine.data import ISBDADataset, collate, train_transforms
    from engine.data.isbda import annotation_path
    from engine.evaluate import evaluate_model, format_table
    from engine.checkpoint import read_checkpoint, restore
    from engine.weights import close_look_of, load_init_weights, save_model

    rank, world, local_rank = _distributed()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed + rank)
    random.seed(config.seed + rank)

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "log.jsonl"
    checkpoint_path = out / "checkpoint.pt"
    is_main = rank == 0
    # A checkpoint that cannot be resumed fails now, before the data and the model are set up.
    resumed = read_checkpoint(checkpoint_path, command="train") if config.resume else None

    data_dirs = [config.data] if isinstance(config.data, str) else list(config.data)
    augment = train_transforms(hflip=config.hflip, photometric=config.photometric,
                               fine_detail=config.fine_detail, seed=config.seed)
    parts = [ISBDADataset(folder, config.train_split, transforms=augment, video_frames=config.video_frames,
                          seed=config.seed + 3 + number)
             for number, folder in enumerate(data_dirs)]
    train_set = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    if len(train_set) == 0:
        raise InputError(f"{', '.join(data_dirs)}: no {config.train_split!r} images to train on")
    val_set = None
    if config.val_split:
        for folder in [config.val_data] if config.val_data else data_dirs:
            if annotation_path(folder, config.val_split).is_file():
                val_set = ISBDADataset(folder, config.val_split)
                break
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=config.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        collate_fn=collate,
        num_workers=config.workers,
        generator=generator,
        worker_init_fn=reseed_worker,
        drop_last=len(train_set) >= config.batch_size * world,
        persistent_workers=config.workers > 0,
    )

    model = build_model_for(config).to(device)
    init_report = None
    # a damagemap model trained on keeps its close look: read and fitted to this model now,
    # so a bad file fails before the first step; kept out of training, put back at the end
    carried = close_look_of(config.init, model) if config.init else None
    if config.init and not config.resume:
        init_report = load_init_weights(model, config.init)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    start_epoch, step = 0, 0
    if resumed is not None:
        step = restore(resumed, model, optimizer, path=checkpoint_path, command="train")
        scaler.load_state_dict(resumed["scaler"])
        start_epoch = int(resumed["epoch"])
        del resumed

    train_model: torch.nn.Module = model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )

    started = time.monotonic()
    deadline = started + config.time_budget_min * 60 if config.time_budget_min else math.inf
    metrics: dict[str, Any] | None = None
    last_losses: dict[str, float] = {}
    stop = False
    epoch = start_epoch
    bar = None
    if progress and is_main:
        from tqdm import tqdm

        # one bar over the steps the run will take (--max-steps ends most runs long
        # before --epochs would), so its count and time left are the run's own
        bar = tqdm(total=planned_steps(config, len(loader)), initial=step, unit="step", desc="training",
                   dynamic_ncols=True)
    for epoch in range(start_epoch, config.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        for images, targets in loader:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, epoch, step)
            images = [image.to(device, non_blocking=True) for image in images]
            targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                losses = train_model(images, targets)
            check_finite(losses, step)
            total = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            if config.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            step += 1
            last_losses = {name: round(float(value.detach()), 4) for name, value in losses.items()}
            last_losses["loss"] = round(float(total.detach()), 4)
            if is_main:
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{float(total.detach()):.3f}",
                                    lr=f"{optimizer.param_groups[0]['lr']:.4g}")
                if step % config.log_every == 0 or step == 1:
                    _write_log(log_path, {"step": step, "epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                                          "elapsed_s": round(time.monotonic() - started, 1), **last_losses})
            if is_main and config.checkpoint_every_steps and step % config.checkpoint_every_steps == 0:
                _save_checkpoint(checkpoint_path, model, optimizer, scaler, epoch=epoch, step=step, config=config)
            if is_main and val_set is not None and config.eval_every_steps and step % config.eval_every_steps == 0:
                metrics = evaluate_model(model, val_set, device=str(device), batch_size=config.eval_batch_size, progress=False)
                _write_log(log_path, {"step": step, "epoch": epoch, "eval": metrics})
                model.train()
            if (config.max_steps and step >= config.max_steps) or time.monotonic() > deadline:
                stop = True
                break
        finished_epoch = epoch + (0 if stop else 1)
        if is_main:
            _save_checkpoint(checkpoint_path, model, optimizer, scaler, epoch=finished_epoch, step=step, config=config)
            last_epoch = stop or epoch + 1 == config.epochs
            if val_set is not None and (last_epoch or (epoch + 1) % config.eval_every == 0):
                metrics = evaluate_model(model, val_set, device=str(device), batch_size=config.eval_batch_size,
                                         progress=progress)
                _write_log(log_path, {"step": step, "epoch": finished_epoch, "eval": metrics})
                if bar is not None:  # progress is on (and this is the main process)
                    bar.write(format_table(metrics, title=f"{config.val_split} after epoch {finished_epoch} (step {step})"))
        if stop:
            break
    if bar is not None:
        bar.close()

    summary = {
        "steps": step,
        "epochs_completed": epoch + (0 if stop else 1) if config.epochs > start_epoch else start_epoch,
        "train_images": len(train_set),
        "elapsed_min": round((time.monotonic() - started) / 60, 2),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "last_losses": last_losses,
        "val_metrics": metrics,
        "init": config.init,
        "init_report": init_report,
    }
    if is_main:
        extra: dict[str, Any] = {"training": dataclasses.asdict(config), "summary": summary}
        if carried is not None:  # trained on from a damagemap model: its close look stays
            model.close_look_head = carried.head
            model.build_config = {**model.build_config, "close_look_px": carried.head.crop_px}
            extra.update(close_look={**carried.record, "carried_from": config.init}, inference=carried.inference)
        save_model(model, out / "model.safetensors", extra, half=config.save_half, compact=config.save_compact)
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return summary
