"""The words a relief package shows a person, defined once.

A coordination cell reads one package across its README, print map, site atlas, web map,
KMZ balloons and GeoPackage layer descriptions: the same thing has to carry the same
name in each ("EMS grade" in one and "Copernicus EMS" in another reads as two things).
These are human-facing labels and titles only; the files' field names (``ems_grade``,
``best_frame``, ``uncertainty_m``, ``reviewed``, ...) stay as they are, since users'
scripts read them.

Each label is written as it reads inside a sentence; :func:`heading` gives it as a
table row or legend entry starts it.
"""

from __future__ import annotations

#: The product's title on every map of a package (web map, print map, KML/KMZ): the event
#: and the day follow it ("Damage map: Hurricane Michael (GLIDE ...), 2018-10-12").
PRODUCT_TITLE = "Damage map"
#: The print map's line under the title: what the product is.
GRADING_PRODUCT = "building damage grading"
FIRST_ESTIMATE_PRODUCT = "damage sites (first estimate)"

#: damagemap's own damage level of a site: Slight, Severe or Debris.
LEVEL = "level"
#: The Copernicus EMS (EMS-98) grade suggested for a level (the ``ems_grade`` field).
EMS_GRADE = "Copernicus EMS grade"
#: The detections fused into a site (the ``observations`` field).
SIGHTINGS = "sightings"
#: How far the real place may be from the dot (the ``uncertainty_m`` field).
UNCERTAINTY = "position uncertainty"
#: The frame that showed a site best (the ``best_frame`` field, which counts from 0;
#: the maps number frames from 1, as a video player does).
BEST_FRAME = "best frame"
#: The outline of the ground the flight filmed (the ``area_of_interest`` layer).
AREA_FILMED = "area filmed"
#: A person checked the site's detections on screen (the ``reviewed`` field).
REVIEWED = "reviewed by an analyst"
#: What the maps' frame numbers count from, said where a file's ``*_frame`` field is near.
FRAMES_FROM_ONE = "frames count from 1, as a video player counts them"
FRAME_FIELDS_FROM_ZERO = "the *_frame fields count from 0"


def heading(label: str) -> str:
    """``label`` as a table row or a legend entry starts: "Position uncertainty"."""
    return label[:1].upper() + label[1:]


def plus_minus(uncertainty_m: float) -> str:
    """An uncertainty as every map writes it: "±2.3 m"."""
    return f"\u00b1{uncertainty_m:.1f} m"


__all__ = ["AREA_FILMED", "BEST_FRAME", "EMS_GRADE", "FIRST_ESTIMATE_PRODUCT", "FRAMES_FROM_ONE",
           "FRAME_FIELDS_FROM_ZERO", "GRADING_PRODUCT", "LEVEL", "PRODUCT_TITLE", "REVIEWED", "SIGHTINGS",
           "UNCERTAINTY", "heading", "plus_minus"]
