"""Held-out AP against training steps, from a run's ``log.jsonl``, as a PNG.

``damagemap train --eval-every-steps N`` logs the paper's metrics on the validation set
every N steps; this draws mask and box AP (and the training loss, smoothed, on its own
axis) so anyone can see whether a run converged. Drawn with Pillow (no plotting library
needed)::

    python bench/plot_training.py runs/msnet/log.jsonl docs/images/training_curve.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 900, 480
LEFT, RIGHT, TOP, BOTTOM = 70, 70, 40, 60
COLOURS = {"mask AP": (200, 60, 40), "box AP": (40, 90, 200), "loss": (150, 150, 150)}


def read_log(path: Path) -> tuple[list[tuple[int, float, float]], list[tuple[int, float]]]:
    """([(step, mask AP %, box AP %)], [(step, loss)])."""
    evals, losses = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "eval" in record:
            evals.append((int(record["step"]), 100 * record["eval"]["segm"]["AP"], 100 * record["eval"]["bbox"]["AP"]))
        elif "loss" in record:
            losses.append((int(record["step"]), float(record["loss"])))
    return evals, losses


def _smooth(values: list[float], window: int = 10) -> list[float]:
    return [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1]) for i in range(len(values))]


def plot(evals: list[tuple[int, float, float]], losses: list[tuple[int, float]], out: Path, title: str) -> None:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    last_step = max([s for s, *_ in evals] + [s for s, _ in losses] + [1])
    top_ap = max([10.0] + [max(m, b) for _, m, b in evals])
    top_ap = 10 * (int(top_ap / 10) + 1)
    top_loss = max([1.0] + [l for _, l in losses])
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP

    def x(step: float) -> float:
        return x0 + (x1 - x0) * step / last_step

    def y_ap(value: float) -> float:
        return y0 - (y0 - y1) * value / top_ap

    def y_loss(value: float) -> float:
        return y0 - (y0 - y1) * value / top_loss

    draw.rectangle([x0, y1, x1, y0], outline=(0, 0, 0))
    for k in range(0, int(top_ap) + 1, 10):
        draw.line([x0 - 4, y_ap(k), x0, y_ap(k)], fill=(0, 0, 0))
        draw.line([x0, y_ap(k), x1, y_ap(k)], fill=(235, 235, 235))
        draw.text((x0 - 30, y_ap(k) - 6), f"{k}", fill=(0, 0, 0))
    for k in range(5):
        value = top_loss * k / 4
        draw.text((x1 + 8, y_loss(value) - 6), f"{value:.2f}", fill=COLOURS["loss"])
    for k in range(6):
        step = last_step * k / 5
        draw.text((x(step) - 10, y0 + 8), f"{int(step)}", fill=(0, 0, 0))
    draw.text(((x0 + x1) / 2 - 20, y0 + 28), "step", fill=(0, 0, 0))
    draw.text((8, y1 - 24), "AP (%)", fill=(0, 0, 0))
    draw.text((x1 - 10, y1 - 24), "loss", fill=COLOURS["loss"])
    draw.text((x0, 12), title, fill=(0, 0, 0))
    if losses:
        smooth = _smooth([l for _, l in losses])
        draw.line([(x(s), y_loss(v)) for (s, _), v in zip(losses, smooth)], fill=COLOURS["loss"], width=1)
    for index, name in ((1, "mask AP"), (2, "box AP")):
        points = [(x(e[0]), y_ap(e[index])) for e in evals]
        if len(points) > 1:
            draw.line(points, fill=COLOURS[name], width=2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=COLOURS[name])
    for k, name in enumerate(COLOURS):
        draw.rectangle([x0 + 10 + 110 * k, y1 + 8, x0 + 22 + 110 * k, y1 + 18], fill=COLOURS[name])
        draw.text((x0 + 28 + 110 * k, y1 + 7), name, fill=(0, 0, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", type=Path, help="log.jsonl of a run (several: one run resumed in stages)")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--title", default="held-out synthetic flight, paper protocol (IoU 0.25:0.05:0.5)")
    args = parser.parse_args(argv)
    evals, losses = [], []
    for log in args.logs:
        e, l = read_log(log)
        evals += e
        losses += l
    evals = sorted({e[0]: e for e in evals}.values())  # the end-of-run evaluation may repeat the last step's
    losses = sorted({step: (step, loss) for step, loss in losses}.values())  # a resumed run repeats a few steps
    plot(evals, losses, args.out, args.title)
    for step, mask_ap, box_ap in evals:
        print(f"step {step:>5}: mask AP {mask_ap:5.1f}  box AP {box_ap:5.1f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
