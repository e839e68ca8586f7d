"""Suite-wide set-up.

PySide6 6.12 on CPython 3.11 leaks references to ``None``/``True``/``False`` on every
void Qt call (see ``app/_refcount_guard.py``). ``app`` pins them on import, but the geo
tests render the HTML map in QtWebEngine without importing ``app``: pin them here too,
before any test touches Qt.

And the fixtures that several test modules share: tiny detector weights, a tiny
sliding-texture video, a small synthetic flyover with damaged places, a flight that
manoeuvres (for the clock-offset estimate), and a two-image training set.
"""

import app._refcount_guard  # noqa: F401, I001  (side effect: pins the singletons)

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker gets its share of the cores for torch's threads: two
    workers of two threads each on two cores spend their time waiting on each other."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        import torch

        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // int(workers)))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and 2 threads crawl on a loaded machine.

    Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_detector(tmp_path_factory) -> Path:
    """A folder with tiny random weights, built once a session: ``msnet.safetensors`` (a
    ResNet-18 MSNet with light heads and at most 6 detections a frame, saved in half
    precision) and ``srn.safetensors`` (an SRN with 32 hidden channels). Use
    :func:`with_tiny_detector` to put them beside a module's video; never write here."""
    import torch

    from engine.msnet import build_msnet
    from engine.srn import build_srn, save_srn
    from engine.weights import save_model

    root = tmp_path_factory.mktemp("tiny-detector")
    torch.manual_seed(0)
    model = build_msnet(arch="msnet", backbone="resnet18", min_size=64, max_size=128, heads="light",
                        rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=20, box_detections_per_img=6)
    save_model(model, root / "msnet.safetensors", half=True)
    torch.manual_seed(1)
    save_srn(build_srn(hidden_channels=32), root / "srn.safetensors")
    return root


@pytest.fixture(scope="session")
def with_tiny_detector(tiny_detector) -> Callable[..., Path]:
    """``with_tiny_detector(folder, srn=False)``: copies the tiny MSNet (and SRN) weights
    of :func:`tiny_detector` into ``folder`` (a module's assets); returns ``folder``."""

    def copy(folder: Path, *, srn: bool = False) -> Path:
        for path in tiny_detector.iterdir():  # the weights and the config beside them
            if path.name.startswith("msnet.") or (srn and path.name.startswith("srn.")):
                shutil.copyfile(path, folder / path.name)
        return folder

    return copy


@pytest.fixture(scope="session")
def damage_dataset() -> Callable[..., Path]:
    """``damage_dataset(root, split="train")``: two 64x80 images in ``root``, each with one
    damaged roof patch on a house (ISBDA layout, Slight then Severe); returns ``root``."""
    from PIL import Image

    def write(root: Path, split: str = "train") -> Path:
        (root / split).mkdir(parents=True)
        (root / "annotations").mkdir(exist_ok=True)
        images, annotations = [], []
        for index in range(2):
            frame = np.full((64, 80, 3), 40, dtype=np.uint8)
            frame[10:50, 10:60] = 140
            frame[20:36, 20:40] = (230, 60, 40)
            Image.fromarray(frame).save(root / split / f"f{index}.png")
            images.append({"id": index + 1, "file_name": f"f{index}.png", "height": 64, "width": 80})
            annotations.append({"id": index + 1, "image_id": index + 1, "category_id": 1 + index,
                                "segmentation": [[20, 20, 40, 20, 40, 36, 20, 36]], "area": 320,
                                "damage_bbox": [20, 20, 20, 16], "house_bbox": [10, 10, 50, 40], "iscrowd": 0})
        (root / "annotations" / f"instances_{split}.json").write_text(
            json.dumps({"images": images, "annotations": annotations, "categories": []}))
        return root

    return write


@pytest.fixture(scope="session")
def texture_video() -> Callable[..., Path]:
    """``texture_video(path, frames, step=2, start=0)``: a 64x48 video at 10 fps of random
    texture sliding ``step`` pixels a frame (the same texture every time), for the tiny
    detector to analyse in seconds."""
    from engine.video import write_video

    texture = np.random.default_rng(0).integers(0, 255, (48, 96, 3), dtype=np.uint8)

    def write(path: Path, frames: int, *, step: int = 2, start: int = 0) -> Path:
        write_video(path, [texture[:, start + i * step : start + i * step + 64] for i in range(frames)], fps=10.0)
        return path

    return write


@pytest.fixture(scope="session")
def flyover_once(tmp_path_factory) -> Callable[..., Any]:
    """``flyover_once(name, **kwargs)``: ``engine.synth.render_flyover(folder, **kwargs)``,
    rendered once a test run and read only.

    Under pytest-xdist each worker process has its own session, so a session fixture
    would render the same flight once per worker. Here the first worker to ask renders
    into a folder the workers share, holding a lock, and writes the paths beside it; the
    others wait for the lock and read the paths."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this run's, shared by its workers

    def render(name: str, **kwargs: Any):  # noqa: ANN202 - engine.synth.FlyoverPaths
        from engine.synth import FlyoverPaths, render_flyover

        out, record = root / f"flyover-{name}", root / f"flyover-{name}.json"
        with FileLock(str(root / f"flyover-{name}.lock")):
            if record.is_file():
                saved = json.loads(record.read_text(encoding="utf-8"))
                return FlyoverPaths(**{key: Path(value) if isinstance(value, str) else value
                                       for key, value in saved.items()})
            shutil.rmtree(out, ignore_errors=True)  # what a worker killed mid-render left
            paths = render_flyover(out, **kwargs)
            record.write_text(json.dumps(dataclasses.asdict(paths), default=str), encoding="utf-8")
            return paths

    return render


@pytest.fixture(scope="session")
def sites_flyover(flyover_once):
    """2 s at 10 fps, 320x180, seed 2: three damaged places seen from the SRT's poses
    (``engine.synth.render_flyover``'s paths), rendered once a test run; read only."""
    return flyover_once("sites", seconds=2.0, fps=10.0, size=(320, 180), seed=2)


@pytest.fixture(scope="session")
def manoeuvring_flight(flyover_once):
    """12 s at 10 fps, 320x180, seed 6, flown speeding up, slowing down and turning (the
    motion the clock-offset estimate matches), rendered once a test run; read only."""
    return flyover_once("manoeuvring", seconds=12.0, fps=10.0, size=(320, 180), seed=6, annotate_every=60,
                        manoeuvres=True)


@pytest.fixture(scope="session")
def gpx_clock_shifted() -> Callable[..., Path]:
    """``gpx_clock_shifted(flight, out, seconds)``: writes the flight's GPX with its clock
    ``seconds`` fast (slow when negative) to ``out``."""

    def write(flight, out: Path, seconds: float) -> Path:
        import datetime as dt

        import gpxpy

        gpx = gpxpy.parse(Path(flight.gpx).read_text())
        for point in gpx.tracks[0].segments[0].points:
            point.time = point.time + dt.timedelta(seconds=seconds)
        out.write_text(gpx.to_xml(version="1.1"))
        return out

    return write


@pytest.fixture(scope="session")
def gpx_cut_short() -> Callable[..., Path]:
    """``gpx_cut_short(flight, out, seconds)``: writes the first ``seconds`` of the flight's
    GPX to ``out``, as another, shorter flight would log it."""

    def write(flight, out: Path, seconds: float) -> Path:
        import gpxpy

        gpx = gpxpy.parse(Path(flight.gpx).read_text())
        segment = gpx.tracks[0].segments[0]
        start = segment.points[0].time
        segment.points = [p for p in segment.points if (p.time - start).total_seconds() <= seconds]
        out.write_text(gpx.to_xml(version="1.1"))
        return out

    return write


@dataclass(frozen=True)
class GroundTruthFlight:
    """A rendered flyover and its ground truth as detections (scores 1.0) with the
    annotated frames' times."""

    video: Path
    srt: Path
    detections: list
    times: dict[int, float]


@pytest.fixture(scope="session")
def sites_truth(sites_flyover) -> GroundTruthFlight:
    """``sites_flyover`` with its ground truth as detections, the damaged part seen in the
    fewest frames kept in only the first of them, and the other frames that showed it left
    out of the run. Whether a part of a few pixels at the frame's edge is annotated in one
    frame or two can change with the CPU's floating-point paths, and a part the run
    analysed in two frames but detected in one is an unconfirmed site, listed after the
    map's; the review tests need a site on the map that a single frame supports,
    whatever machine rendered it."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(sites_flyover.annotations)
    doc = json.loads(Path(sites_flyover.annotations).read_text(encoding="utf-8"))
    part_of = {a["id"]: a["part_id"] for a in doc["annotations"]}
    frames: dict[int, list[int]] = {}
    for d in detections:
        frames.setdefault(part_of[d.id], []).append(d.frame_index)
    rarest = min(frames, key=lambda part: (len(frames[part]), part))
    first = min(frames[rarest])
    dropped = set(frames[rarest]) - {first}
    kept = [d for d in detections if d.frame_index not in dropped]
    analysed = {frame: t for frame, t in times.items() if frame not in dropped}
    return GroundTruthFlight(Path(sites_flyover.video), Path(sites_flyover.srt), kept, analysed)


@pytest.fixture
def sites_truth_store(sites_truth, tmp_path):
    """A project of :func:`sites_truth`'s flyover, its ground truth the one run, open."""
    from core.store import ProjectStore
    from tests.truth_runs import write_run

    with ProjectStore.create(tmp_path / "flyover.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        yield store


@pytest.fixture(scope="session")
def tagged_copy() -> Callable[..., Path]:
    """``tagged_copy(video, out, tags)``: ``video``'s video stream remuxed (not re-encoded)
    into ``out`` with container ``tags`` added, e.g. the drone model a DJI file names."""
    def write(video: Path, out: Path, tags: dict[str, str]) -> Path:
        import av

        with av.open(str(video)) as source, av.open(str(out), "w", options={"movflags": "use_metadata_tags"}) as sink:
            sink.metadata.update({**source.metadata, **tags})
            stream = sink.add_stream_from_template(source.streams.video[0])
            for packet in source.demux(source.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    sink.mux(packet)
        return out

    return write


@pytest.fixture(scope="session")
def tagged_video() -> Callable[..., Path]:
    """``tagged_video(path, tags, stream_tags=None)``: a 3-frame 32x32 video whose
    container (and stream) carry the tags a camera writes."""
    import numpy as np

    def write(path: Path, tags: dict[str, str], *, stream_tags: dict[str, str] | None = None) -> Path:
        """A 3-frame 32x32 video whose container carries ``tags``: ``.mp4`` as QuickTime
        ``mdta`` keys (``movflags use_metadata_tags``), ``.mov`` as user-data atoms."""
        import av

        options = {"movflags": "use_metadata_tags"} if path.suffix.lower() == ".mp4" else {}
        with av.open(str(path), "w", options=options) as container:
            container.metadata.update(tags)
            stream = container.add_stream("mpeg4", rate=5)
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            stream.metadata.update(stream_tags or {})
            for _ in range(3):
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path

    return write


@pytest.fixture
def no_gpu(monkeypatch, caplog) -> Callable[[], list[str]]:
    """A machine without a CUDA GPU, its one "no GPU found" notice still to come; returns
    a function giving the device notices logged so far."""
    import logging

    import torch

    import engine.device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(engine.device, "_cpu_notice_given", False)
    caplog.set_level(logging.WARNING, logger="engine.device")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "engine.device"]
