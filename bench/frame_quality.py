"""What the frame-quality rule calls blurred, and what measuring a frame costs.

``core.frame_quality`` calls a frame blurred when it is a quarter as sharp as the frames
around it. Here each real photo of ``tests/data`` (the ISBDA frame, the intact photo,
the labelled gallery) becomes a 21-frame pan at ``--size`` (crops sliding 6 px a frame
over the photo, each frame through JPEG at quality 75 as a compressed video's would be),
and its middle frame is smeared: sideways by a box of L pixels (a fast turn) or by a
Gaussian of sigma S pixels (out of focus). The table gives, per smear, on how many photos
the smeared frame is called blurred, and how many of the other frames of all the pans are
(false flags). Then the cost: the median time of measuring one frame, against the
shipped detector's time on the same frame, in the same repeats.

    python bench/frame_quality.py                     # 1280x720, two threads
    python bench/frame_quality.py --size 3840x2160
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import cpu_name  # noqa: E402
from _timing import median_seconds  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FRAMES = 21
STEP_PX = 6
SMEARS = [("sideways", 3), ("sideways", 7), ("sideways", 15), ("sideways", 31), ("sideways", 61),
          ("defocus", 1.0), ("defocus", 2.0), ("defocus", 4.0), ("defocus", 8.0)]


def _pan(photo, width: int, height: int):  # noqa: ANN001, ANN202 - RGB arrays
    """The photo covered by a canvas ``FRAMES * STEP_PX`` wider than a frame, cut into the
    pan's frames, each through JPEG at quality 75."""
    import cv2
    import numpy as np

    canvas_w = width + FRAMES * STEP_PX
    scale = max(canvas_w / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, (round(photo.shape[1] * scale) + 1, round(photo.shape[0] * scale) + 1),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    frames = []
    for k in range(FRAMES):
        crop = np.ascontiguousarray(resized[:height, k * STEP_PX:k * STEP_PX + width])
        ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 75])
        assert ok
        frames.append(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    return frames


def _smeared(frame, kind: str, amount: float):  # noqa: ANN001, ANN202
    import cv2

    if kind == "sideways":
        return cv2.blur(frame, (int(amount), 1))
    return cv2.GaussianBlur(frame, (0, 0), amount)


def main(argv: list[str] | None = None) -> int:
    import cv2
    import numpy as np
    import torch

    from core.frame_quality import unusable_frames
    from engine.frame_quality import measure_frame
    from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="the pans' frame size (default 1280x720)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the detector (default 2)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    photos = sorted([*DATA.glob("isbda-frame/test/*.png"), *DATA.glob("real-intact/*.jpg"),
                     *DATA.glob("real-gallery/*/*.jpg")])
    pans = [_pan(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), width, height) for p in photos]
    middle = FRAMES // 2
    print(f"CPU: {cpu_name()}; {len(photos)} real photos as {FRAMES}-frame pans at {width}x{height}, "
          f"JPEG 75; the middle frame smeared")
    print(f"{'smear':>18}  {'smeared frame called blurred':>28}  {'other frames called blurred':>27}")
    measured = [[measure_frame(f) for f in pan] for pan in pans]
    plain_flags = sum(len(unusable_frames(dict(enumerate(q)))) for q in measured)
    print(f"{'none':>18}  {'-':>28}  {plain_flags:>20} of {len(pans) * FRAMES}")
    for kind, amount in SMEARS:
        hits, false = 0, 0
        for pan, qualities in zip(pans, measured):
            judged = dict(enumerate(qualities))
            judged[middle] = measure_frame(_smeared(pan[middle], kind, amount))
            flagged = unusable_frames(judged)
            hits += middle in flagged
            false += sum(1 for index in flagged if index != middle)
        label = f"{kind} {amount:g} px" if kind == "sideways" else f"{kind} sigma {amount:g} px"
        print(f"{label:>18}  {hits:>21} of {len(pans):<4}  {false:>20} of {len(pans) * (FRAMES - 1)}")

    model, _ = load_model(DEFAULT_MSNET_WEIGHTS)
    frame = pans[0][middle]
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float() / 255
    with torch.inference_mode():
        model([image])  # warm
        detect_s = median_seconds(lambda: model([image]), args.repeats)
    measure_frame(frame)  # warm
    measure_s = median_seconds(lambda: measure_frame(frame), max(args.repeats, 20))
    print(f"measuring a {width}x{height} frame: {measure_s * 1000:.2f} ms; the shipped detector on it "
          f"({args.threads} threads): {detect_s * 1000:.0f} ms; ratio {measure_s / detect_s:.2%} (median of "
          f"{args.repeats}+)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
