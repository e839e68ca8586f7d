"""How close the analysis pipeline comes to the model's own speed.

Measures, on the same video and the same selected frames:

1. decode only: :class:`engine.video.VideoReader` producing RGB frames;
2. model only: the detector (+ SRN when on) on frames decoded beforehand, batched as
   the pipeline batches them, results brought to the host;
3. the whole pipeline: :func:`engine.analyze.analyze_video` into a fresh project
   (decode thread, model, writer thread with RLE encoding and SQLite commits).

and, in the same repeats, (3) again with the reference test-time settings
(``--reference``; default: float32 throughout, as before :mod:`engine.msnet.inference`),
so a change of settings is judged by a ratio measured under the same machine load. (The
reference shares the code's other changes, e.g. the mask-branch chunk size.)

Prints frames/s (median of ``--repeats`` runs), the CPU, the ratios (3)/(1) and (3)/(2)
and the speed-up of (3) over the reference. The target is (3)/(2) >= 0.85: decoding and
writing hide behind the model.

Examples::

    python bench/bench_pipeline.py                       # 60 s 720p flyover at 2 fps, default model
    python bench/bench_pipeline.py --video my.mp4 --fps 5 --device cuda
    python bench/bench_pipeline.py --random-model resnet50 --min-size 800 --synthetic 1920x1080 --every 1
    python bench/bench_pipeline.py --srn --reference '{"cpu_bfloat16": []}'   # what bfloat16 alone gains
    python bench/bench_pipeline.py --srn --reference '{}' --reference-unfolded   # what folding the batch norms gains
    python bench/bench_pipeline.py --srn --reference '{}' --reference-torchvision-pooling   # the RoI pooling as a gather
    python bench/bench_pipeline.py --reference '{}' --reference-srn   # what turning the SRN on costs
    python bench/bench_pipeline.py --video crisp.mp4 --reference '{}' --reference-torch-blur   # the OpenCV blur
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _parse_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def make_video(args: argparse.Namespace, cache: Path) -> Path:
    """The benchmark video: given, a cached synthetic flyover, or a moving texture."""
    if args.video is not None:
        return args.video
    cache.mkdir(parents=True, exist_ok=True)
    if args.synthetic:
        width, height = _parse_size(args.synthetic)
        path = cache / f"texture_{width}x{height}_{args.seconds:g}s.mp4"
        if not path.exists():
            from engine.video import write_video

            rng = np.random.default_rng(0)
            texture = rng.integers(0, 255, (height, width * 2, 3), dtype=np.uint8)
            frames = int(args.seconds * 30)
            step = max(1, width // max(frames, 1))
            write_video(path, (np.ascontiguousarray(texture[:, i * step % width:][:, :width]) for i in range(frames)),
                        fps=30.0)
        return path
    width, height = _parse_size(args.size)
    out = cache / f"flyover_{width}x{height}_{args.seconds:g}s"
    video = out / "flight.mp4"
    if not video.exists():
        from engine.synth import render_flyover

        print(f"rendering a {args.seconds:g} s {width}x{height} flyover into {out} (once) ...", file=sys.stderr)
        render_flyover(out, seconds=args.seconds, fps=10.0, size=(width, height), seed=0)
    return video


def build_model(args: argparse.Namespace, device: torch.device):  # noqa: ANN201
    from engine.analyze import load_detector

    if args.random_model:
        from engine.msnet import build_msnet

        torch.manual_seed(0)
        max_size = args.max_size or int(args.min_size * 1333 / 800)
        # A random model scores everything alike; cap its detections at what a trained
        # model finds on a busy frame so mask work is realistic.
        model = build_msnet(arch="msnet", backbone=args.random_model, min_size=args.min_size, max_size=max_size,
                            heads=args.heads, box_detections_per_img=args.detections)
        from engine.msnet.inference import InferenceSettings, apply_inference_settings

        apply_inference_settings(model, InferenceSettings(detections_per_img=args.detections))
        return model.to(device).eval(), {"random": args.random_model, "heads": args.heads, "min_size": args.min_size,
                                         "max_size": max_size, "detections": args.detections}
    return load_detector(args.weights, device)


def _median_rate(frames: int, seconds: list[float]) -> float:
    return frames / statistics.median(seconds)


#: stage -> process CPU seconds of each repeat (all threads), to tell a slow stage
#: from one starved by other processes on a shared machine
CPU_SECONDS: dict[str, list[float]] = {}


class _cpu_clock:
    """Records a stretch's process CPU seconds under ``stage`` and prints its wall and CPU
    seconds to stderr as it ends, so a run cut short (a lent machine's time limit) still
    tells how far it got and how fast."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def __enter__(self) -> None:
        self.started = time.process_time()
        self.wall_started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        cpu = time.process_time() - self.started
        CPU_SECONDS.setdefault(self.stage, []).append(cpu)
        print(f"  {self.stage}: {time.perf_counter() - self.wall_started:.2f} s wall, {cpu:.2f} s CPU",
              file=sys.stderr, flush=True)


def bench_decode(video: Path, indices: list[int], repeats: int) -> list[float]:
    from engine.video import VideoReader

    times = []
    for _ in range(repeats):
        with VideoReader(video) as reader, _cpu_clock("decode"):
            started = time.perf_counter()
            for frame in reader.iter_frames(indices):
                assert frame.image is not None
            times.append(time.perf_counter() - started)
    return times


def bench_model(plan, frames, batch_size: int | None, repeats: int) -> list[float]:  # noqa: ANN001
    """The detector (+ SRN) as the pipeline drives it: same batches, same number of calls
    in flight, same RoI score floor and memory settings; no decoding, no writing."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from engine.analysis.detector import _retained_memory, _score_floor
    from engine.analyze import DEFAULT_SCORE_THRESHOLD, BatchDetector, default_batch_size, default_frames_in_flight

    batch_size = batch_size or default_batch_size(plan.device)
    in_flight = default_frames_in_flight(plan.device)
    batches = [frames[start : start + batch_size] for start in range(0, len(frames), batch_size)]
    times = []
    for _ in range(repeats):
        detector = BatchDetector(plan, DEFAULT_SCORE_THRESHOLD)
        with (ThreadPoolExecutor(in_flight) as workers, _score_floor(plan.model, DEFAULT_SCORE_THRESHOLD),
              _retained_memory(plan.device), _cpu_clock("model")):
            started = time.perf_counter()
            pending: deque = deque()
            for batch in batches:
                pending.append(workers.submit(detector.infer, batch))
                if len(pending) >= in_flight:
                    detector.finish(pending.popleft().result())
            while pending:
                detector.finish(pending.popleft().result())
            detector.flush()
            times.append(time.perf_counter() - started)
    return times


def bench_pipeline(video: Path, args: argparse.Namespace, model, model_info, refiner, repeats: int) -> list[float]:  # noqa: ANN001
    from core.store import ProjectStore
    from engine.analyze import analyze_video, plan_analysis

    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp, ProjectStore.create(Path(tmp) / "bench.dmproj", video_path=video) as store:
            plan = plan_analysis(store, model=model, model_info=model_info, device=args.device, stride=args.every,
                                 fps=args.fps, srn=refiner is not None, refiner=refiner)
            with _cpu_clock("pipeline"):
                started = time.perf_counter()
                count = sum(1 for _ in analyze_video(store, plan, batch_size=args.batch_size))
                times.append(time.perf_counter() - started)
            assert count == plan.frames_total
    return times


#: the test-time settings before engine.msnet.inference: float32 throughout
REFERENCE_SETTINGS = '{"cpu_bfloat16": []}'


@dataclasses.dataclass
class _Settings:
    """Test-time settings put on the model (and the SRN) for a stretch of the bench."""

    model: object
    refiner: object
    #: pool RoIs with torchvision's own kernel rather than the weighted gather
    torchvision_pooling: bool = False
    #: soften crisp frames with torch's grouped convolutions rather than OpenCV's
    torch_blur: bool = False

    def use(self, settings) -> None:  # noqa: ANN001
        from torchvision.ops import MultiScaleRoIAlign

        from engine.msnet.inference import apply_inference_settings
        from engine.msnet.roi_align import GatherMultiScaleRoIAlign

        from engine.msnet import sharpness

        apply_inference_settings(self.model, settings)  # type: ignore[arg-type]
        sharpness.CPU_BLUR_BY_OPENCV = not self.torch_blur
        if self.refiner is not None:
            self.refiner.cpu_bfloat16 = "srn" in settings.cpu_bfloat16
        for module in self.model.modules():  # type: ignore[attr-defined]
            if isinstance(module, MultiScaleRoIAlign):
                module.__class__ = MultiScaleRoIAlign if self.torchvision_pooling else GatherMultiScaleRoIAlign


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=None, help="benchmark this video instead of a synthetic one")
    parser.add_argument("--seconds", type=float, default=60.0, help="synthetic video length (default 60)")
    parser.add_argument("--size", default="1280x720", help="synthetic flyover size (default 1280x720)")
    parser.add_argument("--synthetic", default=None, metavar="WxH",
                        help="use a fast moving-texture video of this size instead of a rendered flyover")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "damagemap-bench")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=float, default=None, help="analysed frames per second (default 2)")
    rate.add_argument("--every", type=int, default=None, help="analyse every N-th frame")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", type=Path, default=None, help="MSNet weights (default: the shipped model)")
    parser.add_argument("--random-model", default=None, metavar="BACKBONE",
                        help="a randomly initialised MSNet with this backbone instead of weights")
    parser.add_argument("--min-size", type=int, default=800, help="internal short side of --random-model")
    parser.add_argument("--max-size", type=int, default=None, help="internal long side of --random-model")
    parser.add_argument("--detections", type=int, default=20, help="detections per frame of --random-model")
    parser.add_argument("--heads", choices=("standard", "light"), default="standard",
                        help="RoI heads of --random-model (standard: torchvision's, as in the paper)")
    parser.add_argument("--srn", action="store_true", help="include SRN refinement (shipped SRN weights)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 4 on a GPU, 1 on a CPU")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup-batches", type=int, default=None,
                        help="model batches run before timing (default: all frames once)")
    parser.add_argument("--reference", default=REFERENCE_SETTINGS, metavar="JSON",
                        help="test-time settings (keys of engine.msnet.inference) the whole pipeline is also "
                             f"run with, for the ratio; 'none' skips it (default {REFERENCE_SETTINGS})")
    parser.add_argument("--reference-unfolded", action="store_true",
                        help="run the reference on a second copy of the detector whose batch norms are not folded "
                             "(engine.msnet.fold); with --reference '{}' this measures the folding alone")
    parser.add_argument("--reference-torchvision-pooling", action="store_true",
                        help="the reference pools RoIs with torchvision's roi_align kernel (engine.msnet.roi_align); "
                             "with --reference '{}' this measures the gather pooling alone")
    parser.add_argument("--reference-torch-blur", action="store_true",
                        help="the reference softens crisp frames with torch's grouped convolutions "
                             "(engine.msnet.sharpness) instead of OpenCV's; with --reference '{}' and a crisp video "
                             "this measures the OpenCV blur alone")
    parser.add_argument("--reference-srn", action="store_true",
                        help="the reference also refines scores with the shipped SRN; with --reference '{}' and "
                             "without --srn this measures what the SRN costs")
    parser.add_argument("--no-model-only", action="store_true", help="skip stage (2), model only (saves time)")
    args = parser.parse_args(argv)
    if args.reference_unfolded and args.random_model:
        parser.error("--reference-unfolded needs weights, not --random-model")
    if args.fps is None and args.every is None:
        args.fps = 2.0

    from core.store import ProjectStore
    from engine.analyze import default_batch_size, default_frames_in_flight, load_refiner, plan_analysis, resolve_device
    from engine.video import VideoReader, select_frame_indices

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    args.device = str(device)
    video = make_video(args, args.cache)
    with VideoReader(video) as reader:
        info = reader.info
        indices = select_frame_indices(reader.pts_s, stride=args.every or 1, fps=args.fps)
        frames = list(reader.iter_frames(indices))
    model, model_info = build_model(args, device)
    refiner = None
    if args.srn:
        refiner, status = load_refiner(model, device, None)
        print(f"SRN {status}", file=sys.stderr)
    reference_refiner = refiner
    if args.reference_srn and refiner is None:
        reference_refiner, status = load_refiner(model, device, None)
        print(f"reference: SRN {status}", file=sys.stderr)
    reference_model = model
    if args.reference_unfolded:
        from engine.analyze import default_weights
        from engine.weights import load_model

        reference_model, _ = load_model(args.weights or default_weights(), device=device)
    with tempfile.TemporaryDirectory() as tmp, ProjectStore.create(Path(tmp) / "p.dmproj", video_path=video) as store:
        plan = plan_analysis(store, model=model, model_info=model_info, device=device, stride=args.every,
                             fps=args.fps, srn=refiner is not None, refiner=refiner)
        reference_plan = plan if reference_model is model and reference_refiner is refiner else plan_analysis(
            store, model=reference_model, model_info=model_info, device=device, stride=args.every,
            fps=args.fps, srn=reference_refiner is not None, refiner=reference_refiner, new_run=True)
    from engine.msnet.inference import InferenceSettings, inference_settings_of

    shipped = inference_settings_of(model) or InferenceSettings()
    reference = None
    if args.reference.strip().lower() != "none":
        given = json.loads(args.reference)
        parsed = InferenceSettings.from_config(given, source="--reference")  # checks the keys and values
        # the given keys as parsed (e.g. "cpu_int8", an object, becomes its ranges), the rest the model's own
        reference = dataclasses.replace(shipped, **{key: getattr(parsed, key) for key in given})
    switch = _Settings(model, refiner)
    switch.use(shipped)
    reference_switch = _Settings(reference_model, reference_refiner,
                                 torchvision_pooling=args.reference_torchvision_pooling,
                                 torch_blur=args.reference_torch_blur)
    # Warm up on every frame first. oneDNN (CPU) builds a primitive per tensor shape,
    # and the RoI heads see new shapes on each new frame: a first pass over frames runs
    # up to 2x slower than a second. Without this, whichever stage ran second would
    # look faster. Real runs see new frames, so expect the first pass's speed there.
    if args.batch_size is None:
        args.batch_size = default_batch_size(device)
    warmup = frames if args.warmup_batches is None else frames[: args.batch_size * args.warmup_batches]
    with _cpu_clock("first pass"):
        first_pass = bench_model(plan, warmup, args.batch_size, 1)[0]
    if reference is not None:  # the reference settings meet new shapes too (bfloat16 primitives)
        reference_switch.use(reference)
        bench_model(reference_plan, warmup, args.batch_size, 1)
        switch.use(shipped)

    # The stages take turns within each repeat so drifts in machine load hit them alike.
    n = len(indices)
    times: dict[str, list[float]] = {"decode": [], "model": [], "pipeline": [], "reference": []}
    for _ in range(args.repeats):
        times["decode"] += bench_decode(video, indices, 1)
        if not args.no_model_only:
            times["model"] += bench_model(plan, frames, args.batch_size, 1)
        times["pipeline"] += bench_pipeline(video, args, model, model_info, refiner, 1)
        if reference is not None:
            reference_switch.use(reference)
            CPU_SECONDS.setdefault("reference", [])
            with _cpu_clock("reference"):
                times["reference"] += bench_pipeline(video, args, reference_model, model_info, reference_refiner, 1)
            CPU_SECONDS["pipeline"].pop()  # bench_pipeline's own clock: this run is the reference's
            switch.use(shipped)
    decode = _median_rate(n, times["decode"])
    model_only = _median_rate(n, times["model"]) if times["model"] else None
    pipeline = _median_rate(n, times["pipeline"])

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import cpu_name
    from engine.msnet.inference import cpu_has_native_bfloat16

    name = f"{torch.cuda.get_device_name(device)}" if device.type == "cuda" else f"{cpu_name()} ({torch.get_num_threads()} threads)"
    print(f"\nmedian of {args.repeats} repeats; video: {video.name} {info.width_px}x{info.height_px} {info.codec}, {info.duration_s:.1f} s; "
          f"{n} frames analysed; device {name}; batch {args.batch_size}, {default_frames_in_flight(device)} in flight; SRN {'on' if refiner else 'off'}; "
          f"model {model_info.get('config', model_info)}")
    print(f"test-time settings: {json.dumps(shipped.as_config())}; native bfloat16 on this CPU: {cpu_has_native_bfloat16()}")
    if reference is not None:
        print(f"reference settings: {json.dumps(reference.as_config())}"
              + ("; reference detector unfolded (batch norms kept)" if reference_model is not model else "")
              + ("; reference pools RoIs with torchvision's kernel" if args.reference_torchvision_pooling else "")
              + ("; reference softens frames with torch's convolutions" if args.reference_torch_blur else "")
              + ("; reference refines with the SRN" if reference_refiner is not refiner else ""))
    cpu = {stage: statistics.median(values) for stage, values in CPU_SECONDS.items() if values}
    print(f"{'stage':<34}{'frames/s':>10}{'wall s':>10}{'CPU s':>10}")
    print(f"{'(1) decode only':<34}{decode:>10.2f}{n / decode:>10.2f}{cpu['decode']:>10.2f}")
    if model_only is not None:
        print(f"{'(2) model only':<34}{model_only:>10.2f}{n / model_only:>10.2f}{cpu['model']:>10.2f}")
    print(f"{'(3) whole pipeline':<34}{pipeline:>10.2f}{n / pipeline:>10.2f}{cpu['pipeline']:>10.2f}")
    if reference is not None:
        ref = _median_rate(n, times["reference"])
        print(f"{'(3r) whole pipeline, reference':<34}{ref:>10.2f}{n / ref:>10.2f}{cpu['reference']:>10.2f}")
    if args.warmup_batches is None:
        print(f"{'(0) model, first pass':<34}{n / first_pass:>10.2f}{first_pass:>10.2f}{cpu['first pass']:>10.2f}")
    print(f"ratio (3)/(1) = {pipeline / decode:.3f}")
    if model_only is not None:
        print(f"ratio (3)/(2) = {pipeline / model_only:.3f}   (target >= 0.85)")
    if reference is not None:
        print(f"speed-up (3) over (3r) = {pipeline / ref:.3f}x   (wall; CPU {cpu['reference'] / cpu['pipeline']:.3f}x)")
    print(f"video time / pipeline time = {info.duration_s / (n / pipeline):.2f}x real time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
