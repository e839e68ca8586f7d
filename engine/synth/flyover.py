"""``render_flyover``: one deterministic synthetic drone flight with all its ground truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.camera import CameraPose, PinholeCamera
from engine.synth import nadir, outputs
from engine.synth.flight import FlightPlan, ground_bounds, hover_clock, nearest_ground_pixel_m, turn_while_hovering
from engine.synth.geodesy import LocalFrame
from engine.synth.render import FrameRenderer
from engine.synth.buildings import ROOF_PX_PER_M
from engine.synth.scene import Scene, generate_scene
from engine.synth.style import DEFAULT_LIGHT_ROOF_SHARE, MAX_LIGHT_ROOF_SHARE
from engine.synth.terrain import Hills, ground_bounds_on_hills, lift_scene

DEFAULT_START_UTC = dt.datetime(2018, 10, 12, 15, 0, 0, tzinfo=dt.timezone.utc)  # two days after hurricane Michael
DEFAULT_GROUND_ALT_M = 10.0
DEFAULT_HFOV_DEG = 84.0  # DJI 24 mm-equivalent wide camera
MIN_TOP_DEPRESSION_DEG = 12.0  # the top image row looks at least this far below the horizon
MAX_GROUND_PIXELS = 24e6


@dataclass(frozen=True)
class FlyoverPaths:
    """Where one flyover's files are."""

    out_dir: Path
    video: Path
    gpx: Path
    srt: Path
    annotations: Path
    images_dir: Path
    truth: Path
    camera: Path
    frame_count: int
    annotated_count: int
    annotation_count: int
    dem: Path | None = None
    footprints: Path | None = None
    orthophoto: Path | None = None


@dataclass(frozen=True)
class Flight:
    """A flight before rendering: camera, frame times, poses and the scene under them."""

    camera: PinholeCamera
    times_s: np.ndarray
    poses: list[CameraPose]
    scene: Scene
    plan: FlightPlan | None = None
    hills: Hills | None = None


#: Seed offsets of the generators drawing optional manoeuvres and hills (kept apart from the scene's).
MANOEUVRE_SEED_OFFSET = 7_340_033
TERRAIN_SEED_OFFSET = 9_199_361


def build_flight(*, seconds: float, fps: float, size: tuple[int, int], seed: int, hfov_deg: float = DEFAULT_HFOV_DEG,
                 manoeuvres: bool = False, terrain_relief_m: float = 0.0,
                 altitude_range_m: tuple[float, float] | None = None,
                 light_roof_share: float = DEFAULT_LIGHT_ROOF_SHARE,
                 hover: tuple[float, float] | None = None, hover_turn_deg: float = 0.0) -> Flight:
    """Sample the flight path for ``seed`` and generate the neighbourhood it sees.

    ``altitude_range_m``: the heights the flight is drawn between (default 28-70 m).
    ``light_roof_share``: the share of houses with light, tan or tile roofs.
    ``manoeuvres``: the drone also speeds up, slows down and turns. ``terrain_relief_m``
    above 0: the ground is hilly (hills up to that high, ``engine.synth.terrain``), the
    drone keeps its height over the ground under it, and the houses, trees and poles
    stand on the hills. ``hover``: ``(start_s, length_s)``, the drone stops and hovers
    that long from that time (``engine.synth.flight.hover_clock``), turning
    ``hover_turn_deg`` away and back meanwhile (``turn_while_hovering``)."""
    rng = np.random.default_rng(seed)
    camera = PinholeCamera(int(size[0]), int(size[1]), hfov_deg)
    frame_count = max(1, int(math.floor(seconds * fps + 1e-9)))
    times = np.arange(frame_count) / fps
    plan = FlightPlan.sample(rng, seconds, manoeuvres=np.random.default_rng(seed + MANOEUVRE_SEED_OFFSET) if manoeuvres else None)
    if altitude_range_m is not None:
        plan = plan.with_altitude_range(*altitude_range_m)
    # wide lenses must look further down so the top of the frame stays on the ground
    steepest_allowed = -(camera.vfov_deg / 2 + MIN_TOP_DEPRESSION_DEG + plan.pitch_swing_deg)
    plan = dataclasses.replace(plan, pitch_deg=max(-85.0, min(plan.pitch_deg, steepest_allowed)))
    poses = plan.poses(times if hover is None else hover_clock(times, *hover))
    if hover is not None and hover_turn_deg:
        poses = turn_while_hovering(poses, times, *hover, hover_turn_deg)
    hills = None
    if terrain_relief_m > 0:
        extent = 2.0 * max(150.0, plan.speed_mps * seconds)
        hills = Hills.sample(np.random.default_rng(seed + TERRAIN_SEED_OFFSET), extent_m=extent, relief_m=terrain_relief_m)
        poses = [dataclasses.replace(p, up_m=p.up_m + float(hills.height(np.array([p.east_m]), np.array([p.north_m]))[0]))
                 for p in poses]
        bounds = ground_bounds_on_hills(hills, camera, poses, margin_m=20.0)
    else:
        bounds = ground_bounds(camera, poses, margin_m=20.0)
    # ground texture about as fine as the nearest image pixels (0.1-0.5 m), and not huge
    area_m2 = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
    nearest_m = nearest_ground_pixel_m(camera, poses)
    m_per_px = max(float(np.clip(nearest_m, 0.1, 0.5)), math.sqrt(area_m2 / MAX_GROUND_PIXELS))
    # house textures a little finer than the nearest pixels (small frames need little)
    roof_px_per_m = float(np.clip(1.5 / nearest_m, 5.0, ROOF_PX_PER_M))
    scene = generate_scene(
        rng,
        bounds,
        street_heading_deg=plan.heading_deg + float(rng.normal(0, 4)),
        street_offset_m=float(rng.uniform(-15, 15)),
        m_per_px=m_per_px,
        roof_px_per_m=roof_px_per_m,
        light_roof_share=light_roof_share,
    )
    if hills is not None:
        lift_scene(scene, hills)
    return Flight(camera, times, poses, scene, plan, hills)


def render_flyover(
    out_dir: str | Path,
    *,
    seconds: float = 20.0,
    fps: float = 10.0,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    annotate_every: int = 5,
    split: str = "train",
    origin_lat: float = 30.1588,
    origin_lon: float = -85.6602,
    hfov_deg: float = DEFAULT_HFOV_DEG,
    start_utc: dt.datetime | None = None,
    ground_alt_m: float = DEFAULT_GROUND_ALT_M,
    flight_dir: str | Path | None = None,
    jpeg_quality: int = 92,
    manoeuvres: bool = False,
    flight: Flight | None = None,
    terrain_relief_m: float = 0.0,
    altitude_range_m: tuple[float, float] | None = None,
    light_roof_share: float = DEFAULT_LIGHT_ROOF_SHARE,
    orthophoto: bool = True,
    hover: tuple[float, float] | None = None,
    hover_turn_deg: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> FlyoverPaths:
    """Render a synthetic oblique drone flyover and write its video, telemetry and ground truth.

    Parameters
    ----------
    out_dir
        Dataset root: ``annotations/instances_<split>.json`` and ``<split>/`` go here.
    flight_dir
        Where the flight files go (``flight.mp4``, ``flight.gpx``, ``flight.SRT``,
        ``truth.geojson``, ``camera.json``, ``footprints.geojson``, ``nadir.tif``);
        ``out_dir`` when None.
    size
        ``(width, height)`` in pixels; both even (H.264 4:2:0).
    progress
        Called as ``progress(frames_done, frame_count)`` after each rendered frame.
    annotate_every
        Every k-th frame (0, k, 2k, ...) is saved as a JPEG and annotated.
    manoeuvres
        The drone speeds up, slows down and turns as it flies.
    hover
        ``(start_s, length_s)``: the drone stops at ``start_s`` and hovers, camera and
        all, for ``length_s`` seconds of the clip before it flies on.
    hover_turn_deg
        While it hovers, the drone turns this far away (degrees, + to the right) and back,
        as a pilot looking to the side does; the SRT records the turn, the GPX cannot.
    altitude_range_m
        Lowest and highest height above the ground the flight is drawn between
        (default 28-70 m); higher flights see many small, distant roofs.
    light_roof_share
        Share of the houses with light, tan, beige or tile roofs (default 0.2, at most
        0.88): intact roofs the colour of bare decking. Raise it to render
        neighbourhoods of tile roofs, or flights rich in such hard negatives to train on.
    orthophoto
        Write ``nadir.tif``, the scene seen from straight above as an offline basemap
        (GeoTIFF, about 8 MB). A training set needs only the frames: leave it out there.
    terrain_relief_m
        Above 0: hilly ground up to this high; its DEM is written as ``dem.tif``
        (GeoTIFF, absolute elevation, the flight's transverse Mercator CRS).
    flight
        A flight built beforehand (:mod:`engine.synth.survey_paths`: many paths over one
        town) instead of the one ``seed`` draws; its camera, times and poses are used.

    Returns
    -------
    FlyoverPaths
    """
    width, height = (int(v) for v in size)
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(f"size must be even and at least 16x16 pixels; got {width}x{height}")
    if not seconds > 0 or not fps > 0:
        raise ValueError(f"seconds and fps must be positive; got {seconds} s at {fps} fps")
    if not (math.isfinite(terrain_relief_m) and 0.0 <= terrain_relief_m <= 100.0):
        raise ValueError(f"terrain relief must be between 0 and 100 metres; got {terrain_relief_m}")
    if altitude_range_m is not None and not (math.isfinite(altitude_range_m[0]) and math.isfinite(altitude_range_m[1])
                                             and 10.0 <= altitude_range_m[0] <= altitude_range_m[1] <= 200.0):
        raise ValueError(f"altitude range must be LOW,HIGH metres within 10-200 with LOW <= HIGH; got {altitude_range_m}")
    if not (math.isfinite(light_roof_share) and 0.0 <= light_roof_share <= MAX_LIGHT_ROOF_SHARE):
        raise ValueError(f"light roof share must be between 0 and {MAX_LIGHT_ROOF_SHARE:g}; got {light_roof_share}")
    if hover is not None and not (math.isfinite(hover[0]) and math.isfinite(hover[1])
                                  and 0.0 <= hover[0] < seconds and hover[1] > 0.0):
        raise ValueError(f"hover must be START,SECONDS with 0 <= START < {seconds:g} (the clip) and SECONDS > 0; "
                         f"got {hover[0]:g},{hover[1]:g}")
    if hover_turn_deg and (hover is None or not (math.isfinite(hover_turn_deg) and abs(hover_turn_deg) <= 180.0)):
        raise ValueError(f"a turn while hovering needs a hover and at most 180 degrees; got {hover_turn_deg:g}")
    if annotate_every < 1:
        raise ValueError(f"annotate_every must be >= 1; got {annotate_every}")
    if not split or any(c in split for c in "/\\. "):
        raise ValueError(f"split must be a plain name such as 'train'; got {split!r}")
    out_dir = Path(out_dir)
    flight_dir = Path(flight_dir) if flight_dir is not None else out_dir
    start_utc = start_utc or DEFAULT_START_UTC
    if start_utc.tzinfo is None:
        start_utc = start_utc.replace(tzinfo=dt.timezone.utc)

    local = LocalFrame(origin_lat, origin_lon)  # checks the origin before any work
    if flight is None:
        flight = build_flight(seconds=seconds, fps=fps, size=(width, height), seed=seed, hfov_deg=hfov_deg,
                              manoeuvres=manoeuvres, terrain_relief_m=terrain_relief_m,
                              altitude_range_m=altitude_range_m, light_roof_share=light_roof_share, hover=hover,
                              hover_turn_deg=hover_turn_deg)
    camera, times, poses, scene = flight.camera, flight.times_s, flight.poses, flight.scene
    frame_count = len(times)

    east = np.array([p.east_m for p in poses])
    north = np.array([p.north_m for p in poses])
    lon, lat = local.to_lonlat(east, north)
    records = [
        outputs.FrameRecord(i, float(times[i]), start_utc + dt.timedelta(seconds=float(times[i])), poses[i], float(lat[i]), float(lon[i]), poses[i].up_m, poses[i].up_m + ground_alt_m)
        for i in range(frame_count)
    ]

    flight_dir.mkdir(parents=True, exist_ok=True)
    images_dir = out_dir / split
    if images_dir.exists():
        shutil.rmtree(images_dir)
    images_dir.mkdir(parents=True)
    paths = dict(
        video=flight_dir / "flight.mp4",
        gpx=flight_dir / "flight.gpx",
        srt=flight_dir / "flight.SRT",
        truth=flight_dir / "truth.geojson",
        camera=flight_dir / "camera.json",
        annotations=out_dir / "annotations" / f"instances_{split}.json",
    )

    # ignore slivers an annotator would not outline: 24 px at 1280x720, scaled with the frame
    min_area_px = max(4, round(24 * width * height / (1280 * 720)))
    renderer = FrameRenderer(scene, camera, seed=seed, hills=flight.hills)
    positions = np.array([[p.east_m, p.north_m, p.up_m] for p in poses])
    velocity = np.gradient(positions, times, axis=0) if frame_count > 1 else np.zeros((1, 3))
    video = outputs.VideoWriter(paths["video"], width=width, height=height, fps=fps, creation_time=start_utc)
    images: list[dict] = []
    annotations: list[dict] = []
    try:
        for i, pose in enumerate(poses):
            annotate = i % annotate_every == 0
            frame = renderer.render(pose, frame_index=i, with_ids=annotate, velocity_enu=velocity[i])
            video.write(frame.rgb, i)
            if progress is not None:
                progress(i + 1, frame_count)
            if annotate:
                image_id = len(images) + 1
                file_name = f"seed{seed:04d}_{i:06d}.jpg"
                cv2.imwrite(str(images_dir / file_name), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                images.append({"id": image_id, "file_name": file_name, "width": width, "height": height, "frame_index": i, "pts_s": float(times[i]), "seed": seed})
                annotations += outputs.frame_annotations(frame.surface_ids, scene, image_id=image_id, first_id=len(annotations) + 1, min_area_px=min_area_px)
    finally:
        video.close()

    outputs.write_coco(paths["annotations"], images, annotations, description=f"damagemap synthetic flyover, seed {seed}, split {split}")
    outputs.write_gpx(paths["gpx"], records, name=f"damagemap synth seed {seed}")
    outputs.write_srt(paths["srt"], records, fps=fps, hfov_deg=hfov_deg)
    outputs.write_truth_geojson(paths["truth"], scene, local)
    # The scene as a relief team would have it: building outlines without damage, and an
    # orthophoto (a nadir rendering) to use as the offline basemap.
    footprints = nadir.write_footprints_geojson(flight_dir / "footprints.geojson", scene, local)
    ortho = nadir.write_nadir_geotiff(flight_dir / "nadir.tif", scene, local) if orthophoto else None
    outputs.write_camera_json(paths["camera"], camera, records, frame=local, ground_alt_m=ground_alt_m, fps=fps, seed=seed, split=split)
    dem = None
    if flight.hills is not None:
        e0, n0, e1, n1 = scene.bounds_en
        dem = flight.hills.write_geotiff(flight_dir / "dem.tif", local, (e0 - 50.0, n0 - 50.0, e1 + 50.0, n1 + 50.0),
                                         ground_alt_m=ground_alt_m, resolution_m=1.0)
    return FlyoverPaths(dem=dem, footprints=footprints, orthophoto=ortho, out_dir=out_dir, images_dir=images_dir, frame_count=frame_count, annotated_count=len(images), annotation_count=len(annotations), **paths)
