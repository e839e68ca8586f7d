"""Fit a detector's close-look head on annotated frames (:mod:`engine.msnet.close_look`).

The detector runs on every ``every``-th frame of each ISBDA folder given (the annotated
images, or with ``--frames video`` or ``both`` the same frames decoded from the folder's
``flight.mp4``, as the analysis sees them: :func:`collect`); each of its
detections scoring at least ``min_score`` becomes an example: damage when its box
overlaps annotated damage (IoU >= 0.25) or its centre lies inside an annotated damage
box, not damage when it touches no annotated damage and lies mostly (half its area or
more) outside every damaged building's box; the ones in between (on a damaged building
beside its damage) are left out. The head starts as a copy of the detector's backbone
and is fine-tuned on the examples' crops (AdamW with a one-cycle schedule, both classes
weighted equally, crops mirrored, turned and their brightness and colour jittered); at
test time its odds are multiplied by those of damage among the examples, so that it
gives the probability that one of the detector's detections shows damage. The
detector's weights are copied unchanged; the head is added and the config says what it
was fitted on::

    python -m engine.msnet.close_look_fit --weights msnet.safetensors \\
        --data flights/train-s21:train:3 flights/train-s22:train:3 --frames both \\
        --val flights/val-s103:val --out with-close-look/msnet.safetensors
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torchvision.ops import box_iou

from engine.compact import compact_state, expand_state
from engine.msnet.close_look import CloseLookHead, crops, normalised

#: a detection is damage when its box overlaps annotated damage at least this much
MATCH_IOU = 0.25


@dataclass
class Examples:
    """Detections' crops (uint8 ``[N, 3, px, px]``), their labels (1 damage, 0 not) and scores."""

    crops: Tensor
    labels: Tensor
    scores: Tensor

    @classmethod
    def joined(cls, parts: list[Examples]) -> Examples:
        return cls(torch.cat([p.crops for p in parts]), torch.cat([p.labels for p in parts]),
                   torch.cat([p.scores for p in parts]))


def label_detections(boxes: Tensor, damage: Tensor, houses: Tensor) -> Tensor:
    """Per detection: 1 on annotated damage, 0 clear of every damaged building, -1 between."""
    labels = torch.full((len(boxes),), -1, dtype=torch.long)
    if len(boxes) == 0:
        return labels
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    if len(damage):
        matched = box_iou(boxes, damage).max(dim=1).values >= MATCH_IOU
        inside = ((damage[None, :, 0] <= centres[:, None, 0]) & (centres[:, None, 0] <= damage[None, :, 2])
                  & (damage[None, :, 1] <= centres[:, None, 1]) & (centres[:, None, 1] <= damage[None, :, 3])).any(1)
        touching = _intersections(boxes, damage).gt(0).any(dim=1)
    else:
        matched = inside = touching = torch.zeros(len(boxes), dtype=torch.bool)
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp(min=1.0)
    on_house = (_intersections(boxes, houses).max(dim=1).values / areas if len(houses)
                else torch.zeros(len(boxes)))
    labels[~touching & (on_house < 0.5)] = 0
    labels[matched | inside] = 1
    return labels


def _intersections(a: Tensor, b: Tensor) -> Tensor:
    width = (torch.minimum(a[:, None, 2], b[None, :, 2]) - torch.maximum(a[:, None, 0], b[None, :, 0])).clamp(min=0)
    height = (torch.minimum(a[:, None, 3], b[None, :, 3]) - torch.maximum(a[:, None, 1], b[None, :, 1])).clamp(min=0)
    return width * height


#: where the examples' crops come from (``--frames``)
FRAME_SOURCES = ("images", "video", "both")


def _frames(spec: str, *, from_video: bool = False) -> Iterator[tuple[Tensor, Tensor, Tensor, Tensor]]:
    """``ROOT[:SPLIT[:EVERY]]`` -> (frame, annotated image, damage boxes, damaged buildings'
    boxes) per annotated frame.

    The frame is the annotated image itself, or with ``from_video`` the same frame as the
    flight's video gives it (``ROOT/flight.mp4`` decoded at the image's ``frame_index``),
    with the H.264 artefacts the analysis sees."""
    from engine.data import ISBDADataset

    root, _, rest = spec.partition(":")
    split, _, every = rest.partition(":")
    dataset = ISBDADataset(Path(root), split or "train")
    indices = range(0, len(dataset), int(every or 1))
    for index in indices:
        image, target = dataset[index]
        frame = image
        if from_video:
            frame = torch.from_numpy(dataset.read_video_frame(index)).permute(2, 0, 1).float().div_(255.0)
        yield frame, image, target["boxes"], target["building_boxes"]


@torch.no_grad()
def collect(model: torch.nn.Module, specs: list[str], *, crop_px: int, min_score: float,
            frames: str = "images") -> Examples:
    """The labelled examples of the detector's detections on ``specs``' frames.

    ``frames`` (:data:`FRAME_SOURCES`): ``"images"`` runs the detector on the annotated
    images and cuts the crops from them; ``"video"`` does both on the flight's video frames
    (:func:`_frames`); ``"both"`` runs it on the video frames and cuts each detection's
    crop from the video frame and from the image, so the close look learns the same
    detections with and without the video's compression (all video crops first); with
    ``"both"`` a folder of photos (no ``flight.mp4``: labelled real images) gives its
    images' crops once. The detector runs where its parameters are; the examples are kept
    on the CPU."""
    if frames not in FRAME_SOURCES:
        raise ValueError(f"frames must be one of {', '.join(FRAME_SOURCES)}; got {frames!r}")
    device = next(model.parameters()).device
    parts: list[Examples] = []
    stills: list[Examples] = []
    for spec in specs:
        from_video = frames == "video" or (frames == "both" and _has_video(spec))
        for frame, image, damage, houses in _frames(spec, from_video=from_video):
            output = model([frame.to(device)])[0]
            keep = output["scores"] >= min_score
            boxes, scores = output["boxes"][keep].cpu(), output["scores"][keep].cpu()
            labels = label_detections(boxes, damage, houses)
            known = labels >= 0
            if known.any():
                parts.append(Examples(_cut(frame, boxes[known], crop_px), labels[known], scores[known]))
                if frames == "both" and from_video:
                    stills.append(Examples(_cut(image, boxes[known], crop_px), labels[known], scores[known]))
    if not parts:
        raise ValueError(f"no detections >= {min_score} to learn from in {', '.join(specs)}")
    return Examples.joined(parts + stills)


def _has_video(spec: str) -> bool:
    """Whether every image of ``ROOT[:SPLIT[:EVERY]]`` can be taken from a video: the
    flyover's (:attr:`ISBDADataset.video_path`) or the one its ``video`` field names (as
    ``damagemap export --training`` writes it), each there and each image with its frame
    index (:meth:`ISBDADataset.video_of`)."""
    from engine.data import ISBDADataset

    root, _, rest = spec.partition(":")
    dataset = ISBDADataset(Path(root), rest.partition(":")[0] or "train")
    return all(image.get("frame_index") is not None and dataset.video_of(index).is_file()
               for index, image in enumerate(dataset.images))


def _cut(image: Tensor, boxes: Tensor, crop_px: int) -> Tensor:
    return crops(image, boxes, crop_px).mul(255).round().clamp(0, 255).to(torch.uint8)


def _augmented(batch: Tensor, generator: torch.Generator) -> Tensor:
    """Crops in [0, 1], mirrored, turned by a multiple of 90 degrees and with their
    brightness and colour jittered (a crop has no up or left)."""
    if torch.rand((), generator=generator) < 0.5:
        batch = batch.flip(3)
    batch = torch.rot90(batch, int(torch.randint(4, (), generator=generator)), (2, 3))
    gain = 0.8 + 0.4 * torch.rand(len(batch), 1, 1, 1, generator=generator)
    shift = 0.1 * (torch.rand(len(batch), 3, 1, 1, generator=generator) - 0.5)
    return (batch * gain.to(batch.device) + shift.to(batch.device)).clamp(0, 1)


def fit_head(head: CloseLookHead, examples: Examples, mean: list[float], std: list[float], *,
             epochs: int = 6, lr: float = 3e-4, batch_size: int = 64, seed: int = 0,
             log_every: int = 50) -> CloseLookHead:
    """Fine-tune ``head`` (in place) on ``examples``' crops: binary cross-entropy with both
    classes weighted equally, AdamW, one-cycle learning rate; then set its prior to the
    share of damage among the examples. It learns where its parameters are; the random
    draws (order, augmentation) are the CPU's, the same on any device."""
    device = next(head.parameters()).device
    labels = examples.labels.float().to(device)
    if labels.min() == labels.max():
        raise ValueError("the close look needs detections of both kinds (on damage and clear of it)")
    generator = torch.Generator().manual_seed(seed)
    head.requires_grad_(True)  # the whole copy learns, also the layers the detector kept frozen
    positives = labels.mean()
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=(1 - positives) / positives)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    batches = max(1, len(labels) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * batches)
    head.train()
    step = 0
    for epoch in range(epochs):
        order = torch.randperm(len(labels), generator=generator)
        for first in range(0, batches * batch_size, batch_size):
            chosen = order[first:first + batch_size]
            batch = _augmented(examples.crops[chosen].to(device).float() / 255, generator)
            loss = loss_fn(head.logits(normalised(batch, mean, std)), labels[chosen])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if log_every and step % log_every == 0:
                print(f"epoch {epoch + 1}/{epochs}, step {step}/{epochs * batches}: loss {loss.item():.3f}", flush=True)
    head.eval()
    head.prior_logit.fill_(float(torch.log(positives / (1 - positives))))
    return head


@torch.no_grad()
def round_as_stored(head: CloseLookHead) -> None:
    """Round ``head``'s weights as compact storage keeps them (:mod:`engine.compact`: its
    weight tensors int8), so that what is measured on it is what the written file gives."""
    prefix = "close_look_head."
    stored = compact_state({prefix + name: value for name, value in head.state_dict().items()})
    head.load_state_dict({name.removeprefix(prefix): value
                          for name, value in expand_state(stored, source="the close look").items()})


@torch.no_grad()
def probabilities(head: CloseLookHead, examples: Examples, mean: list[float], std: list[float],
                  *, batch_size: int = 256) -> Tensor:
    """The close look's probability of damage for each example (on the CPU)."""
    head.eval()
    device = next(head.parameters()).device
    return torch.cat([head(normalised(examples.crops[i:i + batch_size].to(device).float() / 255, mean, std)).cpu()
                      for i in range(0, len(examples.labels), batch_size)])


def auc(labels: Tensor, scores: Tensor) -> float:
    """Area under the ROC curve: how often a damage example outscores a non-damage one."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).double().mean()
    ties = (positive[:, None] == negative[None, :]).double().mean()
    return float(greater + ties / 2)


def spec_name(spec: str) -> str:
    """``ROOT[:SPLIT[:EVERY]]`` with the folder's name alone, for the model card."""
    root, colon, rest = spec.partition(":")
    return Path(root).name + colon + rest


def main(argv: list[str] | None = None) -> int:
    from engine.msnet.close_look import combined_scores
    from engine.weights import load_model, save_model

    parser = argparse.ArgumentParser(prog="python -m engine.msnet.close_look_fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="the detector (safetensors with its JSON beside it)")
    parser.add_argument("--data", nargs="+", required=True, metavar="ROOT[:SPLIT[:EVERY]]",
                        help="ISBDA folders to fit on (split 'train', every frame by default)")
    parser.add_argument("--val", nargs="*", default=[], metavar="ROOT[:SPLIT[:EVERY]]",
                        help="held-out ISBDA folders: the AUCs printed and written into the config "
                             "(on the video frames with --frames both)")
    parser.add_argument("--out", required=True, help="the detector with its close-look head (.safetensors)")
    parser.add_argument("--frames", choices=FRAME_SOURCES, default="images",
                        help="where the crops come from: the annotated images; the same frames of each "
                             "folder's flight.mp4 as the analysis decodes them (synthetic flights); or "
                             "both, each detection on the video frame cut from either (a folder of photos, with no "
                             "flight.mp4, gives its images)")
    parser.add_argument("--crop-px", type=int, default=64)
    parser.add_argument("--min-score", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), cuda[:N] or auto: where the detector runs and the head learns")
    args = parser.parse_args(argv)
    from core.errors import InputError
    from engine.weights import refuse_shipped_folder

    try:  # before the minutes of fitting, not at the save
        refuse_shipped_folder(args.out, f"--out {args.out}")
    except InputError as exc:
        parser.exit(1, f"error: {exc}\n")
    if args.threads:
        torch.set_num_threads(args.threads)
    from engine.device import resolve_device

    device = resolve_device(args.device)
    started = time.perf_counter()
    model, config = load_model(args.weights, device=device, inference={"close_look": False})
    train = collect(model, args.data, crop_px=args.crop_px, min_score=args.min_score, frames=args.frames)
    print(f"fitting on {len(train.labels)} detections ({int(train.labels.sum())} on damage)", flush=True)
    torch.manual_seed(args.seed)
    mean, std = list(model.transform.image_mean), list(model.transform.image_std)
    head = fit_head(model.add_close_look(args.crop_px), train, mean, std, epochs=args.epochs, lr=args.lr, seed=args.seed)
    compact = str(config.get("stored_dtype", "")).startswith("float16+int8")
    if compact:
        round_as_stored(head)  # the held-out figures below are those of the file written
    fitted: dict[str, Any] = {
        "data": [spec_name(spec) for spec in args.data], "frames": args.frames,
        "crop_px": args.crop_px, "min_score": args.min_score,
        "epochs": args.epochs, "lr": args.lr, "seed": args.seed,
        "examples": len(train.labels), "on_damage": int(train.labels.sum()),
        "prior": round(float(train.labels.float().mean()), 3),
    }
    if args.val:
        val_frames = "video" if args.frames == "both" else args.frames  # as the analysis will see them
        val = collect(model, args.val, crop_px=args.crop_px, min_score=args.min_score, frames=val_frames)
        p = probabilities(head, val, mean, std)
        fitted["val"] = {
            "data": [spec_name(spec) for spec in args.val], "frames": val_frames, "examples": len(val.labels),
            "on_damage": int(val.labels.sum()),
            "auc_detector_score": round(auc(val.labels, val.scores), 3),
            "auc_close_look": round(auc(val.labels, p), 3),
            "auc_combined": round(auc(val.labels, combined_scores(val.scores, p)), 3),
        }
        print("held out:", fitted["val"], flush=True)
    config["model"] = {**config["model"], "close_look_px": args.crop_px}
    model.build_config = config["model"]
    config["inference"] = {**(config.get("inference") or {}), "close_look": True}
    save_model(model.cpu(), args.out, {**config, "close_look": fitted}, compact=compact)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
