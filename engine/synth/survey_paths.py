"""Many synthetic flights over one town: the town from one seed, each path from another.

:func:`render_flyover` draws the drone's path and the neighbourhood from a single seed,
so two seeds give two towns. A survey needs the same houses filmed again on other
days, from other paths: :func:`survey_flight` generates the town from ``town_seed``
over a fixed square of ``town_half_size_m`` around the origin (with a fixed texture
resolution, so every flight sees identical houses and damage) and the path from
``path_seed``. Every path crosses the origin half-way, so flights over one town overlap
there. The path keeps its view inside the town (lower and steeper than a plain flight).

    render_survey_flight(out / "monday", town_seed=7, path_seed=1, seconds=6)
    render_survey_flight(out / "wednesday", town_seed=7, path_seed=2, seconds=6,
                         start_utc=dt.datetime(2018, 10, 14, 15, tzinfo=dt.timezone.utc))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np

from core.camera import PinholeCamera
from engine.synth.flight import FlightPlan, ground_bounds
from engine.synth.flyover import DEFAULT_HFOV_DEG, Flight, FlyoverPaths, render_flyover
from engine.synth.scene import generate_scene

#: Half the side of the town square (metres around the origin).
DEFAULT_TOWN_HALF_SIZE_M = 160.0
#: Ground texture and roof resolution shared by every flight over a town.
TOWN_M_PER_PX = 0.25
TOWN_ROOF_PX_PER_M = 8.0
#: Path limits that keep a flight's view inside the town.
MAX_ALTITUDE_M = 40.0
MAX_PITCH_DEG = -50.0


def survey_flight(
    *, town_seed: int, path_seed: int, seconds: float, fps: float, size: tuple[int, int],
    hfov_deg: float = DEFAULT_HFOV_DEG, town_half_size_m: float = DEFAULT_TOWN_HALF_SIZE_M,
) -> Flight:
    """The flight of ``path_seed`` over the town of ``town_seed``.

    Raises ``ValueError`` when the path's view leaves the town square (a longer flight
    than the town holds: make ``seconds`` smaller or the town larger).
    """
    camera = PinholeCamera(int(size[0]), int(size[1]), hfov_deg)
    frame_count = max(1, int(math.floor(seconds * fps + 1e-9)))
    times = np.arange(frame_count) / fps
    plan = FlightPlan.sample(np.random.default_rng(path_seed), seconds)
    plan = dataclasses.replace(
        plan,
        altitude_m=min(plan.altitude_m, MAX_ALTITUDE_M - plan.altitude_swing_m),
        pitch_deg=max(-85.0, min(plan.pitch_deg, MAX_PITCH_DEG - plan.pitch_swing_deg)),
    )
    poses = plan.poses(times)
    half = float(town_half_size_m)
    bounds = (-half, -half, half, half)
    seen = ground_bounds(camera, poses, margin_m=5.0)
    if seen[0] < bounds[0] or seen[1] < bounds[1] or seen[2] > bounds[2] or seen[3] > bounds[3]:
        raise ValueError(
            f"path seed {path_seed}: the camera sees beyond the {2 * half:g} m town ({seconds:g} s flight); "
            "fly a shorter time or make the town larger"
        )
    rng = np.random.default_rng(town_seed)
    scene = generate_scene(
        rng, bounds, street_heading_deg=float(rng.uniform(0, 180)), street_offset_m=float(rng.uniform(-15, 15)),
        m_per_px=TOWN_M_PER_PX, roof_px_per_m=TOWN_ROOF_PX_PER_M,
    )
    return Flight(camera, times, poses, scene, plan)


def render_survey_flight(
    out_dir: str | Path,
    *,
    town_seed: int,
    path_seed: int,
    seconds: float = 10.0,
    fps: float = 10.0,
    size: tuple[int, int] = (1280, 720),
    annotate_every: int = 5,
    split: str = "test",
    start_utc: dt.datetime | None = None,
    town_half_size_m: float = DEFAULT_TOWN_HALF_SIZE_M,
    **kwargs: object,
) -> FlyoverPaths:
    """Render :func:`survey_flight` as :func:`engine.synth.render_flyover` renders a
    flight (video, telemetry, truth, annotations in ``out_dir``); other keyword
    arguments go to it (``origin_lat``, ``origin_lon``, ``jpeg_quality``, ...)."""
    flight = survey_flight(town_seed=town_seed, path_seed=path_seed, seconds=seconds, fps=fps, size=size,
                           town_half_size_m=town_half_size_m,
                           hfov_deg=float(kwargs.get("hfov_deg", DEFAULT_HFOV_DEG)))  # type: ignore[arg-type]
    return render_flyover(out_dir, seconds=seconds, fps=fps, size=size, seed=path_seed, annotate_every=annotate_every,
                          split=split, start_utc=start_utc, flight=flight, **kwargs)  # type: ignore[arg-type]


__all__ = ["DEFAULT_TOWN_HALF_SIZE_M", "render_survey_flight", "survey_flight"]
