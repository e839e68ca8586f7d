"""Synthetic oblique drone flyovers over a damaged neighbourhood, with ground truth.

:func:`render_flyover` draws a deterministic (per seed) flight and writes::

    OUT/flight.mp4                       H.264 video, true timestamps, creation_time = start
    OUT/flight.gpx                       GPX 1.1 track (time, ele = absolute altitude)
    OUT/flight.SRT                       DJI (Mavic 3 style) per-frame SRT
    OUT/truth.geojson                    every building footprint (WGS84) + damage level
    OUT/camera.json                      intrinsics, ENU origin, CRS, per-frame pose
    OUT/annotations/instances_<split>.json + OUT/<split>/*.jpg   ISBDA (COCO) annotations

Train and validation sets: each split has its own JSON and image folder, so renders of
different seeds into one OUT merge::

    damagemap synth data --seed 1 --split train --seconds 60
    damagemap synth data --seed 2 --split val --seconds 20

Image file names carry the seed (``seed0001_000005.jpg``); rendering a split again
replaces that split's JSON and folder. The flight files (video,
telemetry, truth, camera) in OUT are those of the latest render; to keep each split's
flight, use ``--splits train,val`` (seeds ``seed``, ``seed+1``, ...), which puts them in
``OUT/flights/<split>/`` and the dataset in OUT, or pass ``flight_dir``.

The scene lives in local ENU metres around the origin (ground at z = 0); WGS84 comes
from a transverse Mercator centred on the origin (its PROJ string is in camera.json).
"""

from engine.synth.flyover import FlyoverPaths, render_flyover

__all__ = ["FlyoverPaths", "render_flyover"]
