"""The demo flight for the desktop app's "Try the demo" (Qt-free).

:func:`prepare_demo_flight` renders the synthetic flyover into a folder, or reuses the
one there when it was rendered with the same settings (the stamp ``demo.json`` is the
one ``damagemap demo`` writes, so the command line and the app share a demo folder).
The app then opens the flight as a project and analyses it like any video.
:func:`is_shipped_model` tells whether a run used the shipped demo model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.store import ProjectStore

#: Beside the flight, what ``damagemap demo`` and the app both write.
DEMO_STAMP = "demo.json"
DEMO_PROJECT = "demo.dmproj"
#: The analysis frame rate of the demo (frames per second of video).
DEMO_ANALYSIS_FPS = 2.0


@dataclass(frozen=True, slots=True)
class DemoFlight:
    """A rendered demo flight: its video (telemetry beside it), the project to use and
    the camera's horizontal field of view (``None`` when unknown)."""

    video: Path
    project: Path
    hfov_deg: float | None


def _stamp(seconds: float, size: tuple[int, int], seed: int) -> dict[str, Any]:
    return {"seconds": seconds, "size": list(size), "seed": seed, "fps": 10.0}


def _camera_hfov(video: Path) -> float | None:
    try:
        return float(json.loads((video.parent / "camera.json").read_text())["intrinsics"]["hfov_deg"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def demo_flight_ready(out: Path, *, seconds: float = 20.0, size: tuple[int, int] = (1280, 720),
                      seed: int = 0) -> bool:
    """Whether ``out`` already holds the flight these settings render."""
    out = Path(out)
    video = out / "flyover" / "flight.mp4"
    try:
        return video.is_file() and json.loads((out / DEMO_STAMP).read_text()) == _stamp(seconds, size, seed)
    except (OSError, ValueError):
        return False


def prepare_demo_flight(out: Path, *, seconds: float = 20.0, size: tuple[int, int] = (1280, 720),
                        seed: int = 0) -> DemoFlight:
    """The demo flight in ``out`` (rendered now unless already there; about a minute on
    a 2-core CPU). A new rendering removes the demo's old project (only that file)."""
    out = Path(out).absolute()
    video = out / "flyover" / "flight.mp4"
    project = out / DEMO_PROJECT
    if not demo_flight_ready(out, seconds=seconds, size=size, seed=seed):
        from engine.synth import render_flyover

        out.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (out / (DEMO_PROJECT + suffix)).unlink(missing_ok=True)
        render_flyover(out / "flyover", seconds=seconds, fps=10.0, size=size, seed=seed)
        (out / DEMO_STAMP).write_text(json.dumps(_stamp(seconds, size, seed)))
    return DemoFlight(video, project, _camera_hfov(video))


def shipped_model_path() -> Path:
    """Where the shipped demo model's weights are (without importing torch)."""
    import resources

    return Path(resources.__file__).resolve().parent / "models" / "default" / "msnet.safetensors"


@lru_cache(maxsize=1)
def _shipped_sha256() -> str | None:
    import hashlib

    try:
        return hashlib.sha256(shipped_model_path().read_bytes()).hexdigest()
    except OSError:
        return None


def is_shipped_model(model: Any) -> bool:
    """Whether a run's model record (:attr:`core.store.RunInfo.model`) is the shipped
    demo model: the same file, or the same weights by their SHA-256."""
    if not isinstance(model, dict):
        return False
    weights = model.get("weights")
    if isinstance(weights, str) and weights:
        try:
            if Path(weights).resolve() == shipped_model_path():
                return True
        except OSError:
            pass
    sha = model.get("sha256")
    return isinstance(sha, str) and sha == _shipped_sha256()


def keep_scene_layers(store: ProjectStore) -> None:
    """The demo flyover's building footprints and nadir orthophoto, kept in its project
    (where it has none set) for its maps to draw, from the app as from ``damagemap demo``."""
    from services.package import product_sources, set_product_sources

    scene = Path(store.video_path).parent
    footprints, orthophoto = scene / "footprints.geojson", scene / "nadir.tif"
    if footprints.is_file() and orthophoto.is_file() and product_sources(store) == (None, None):
        set_product_sources(store, footprints=footprints, basemap=orthophoto)


__all__ = [
    "DEMO_ANALYSIS_FPS",
    "DEMO_PROJECT",
    "DEMO_STAMP",
    "DemoFlight",
    "demo_flight_ready",
    "is_shipped_model",
    "keep_scene_layers",
    "prepare_demo_flight",
    "shipped_model_path",
]
