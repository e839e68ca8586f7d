"""What a damage site is, in one line a person reads: a KML placemark's description.

GDAL's older KML driver (QGIS where GDAL was built without libkml) reads only a
placemark's name and description, and a phone's map app shows the description in its
balloon: without one, a site read as "Site 12: Severe" and nothing more. The line is
HTML, as KML's descriptions are, its text escaped; it holds no markup, so a reader that
shows the description as text (a GIS's attribute table) shows it as written.
"""

from __future__ import annotations

import math
from html import escape

from core.text import isolated, one_line
from core.types import frame_number
from geo.export.labels import EMS_GRADE as EMS_GRADE_LABEL, REVIEWED, UNCERTAINTY, plus_minus
from geo.export.records import EMS_GRADE, best_score, clock_time, counted, review_marks, seen_in, unconfirmed_reason
from geo.fusion import FusedSite
from geo.mapping import DamageMap


def site_summary(damage_map: DamageMap, fused: FusedSite) -> str:
    """``fused``'s level and EMS grade, level agreement, best score, how often and when in
    the video it was seen, how sure its position is and why, and who reviewed it:
    "Severe (Copernicus EMS grade: Damaged); level agreement 45%, best score 0.97; seen in 12 frames,
    20 sightings, 2018-10-12 15:00:03-15:00:09 UTC, 3.0-9.5 s into the video (frames 31-96);
    position uncertainty ±2.4 m (gps 1.5 m, geometry 1.2 m); not reviewed by an analyst" (the clock time only where
    something dates the recording)."""
    site = fused.site
    parts = [
        f"{site.level.label} ({EMS_GRADE_LABEL}: {EMS_GRADE[site.level]})",
        f"level agreement {site.confidence:.0%}, best score {best_score(fused):.2f}",
        f"seen in {seen_in(fused)}, {counted(site.observation_count, 'sighting')}, "
        + _clock_span(damage_map, site.first_time_s, site.last_time_s)
        + f"{_video_span(site.first_time_s, site.last_time_s)} "
        f"({_frames(frame_number(site.first_frame), frame_number(site.last_frame))})",
    ]
    if math.isfinite(fused.uncertainty_m):
        why = fused.budget.describe() if fused.budget is not None else ""
        parts.append(f"{UNCERTAINTY} {plus_minus(fused.uncertainty_m)}" + (f" ({why})" if why else ""))
    if not fused.confirmed:
        parts.append(unconfirmed_reason(fused))
    # each name set apart: "محمد, IFRC" keeps its comma between the names, not after the Arabic one
    # one line each: a name recorded with a line break or a terminal escape (an older
    # damagemap's, a login name) would break the description's line or reorder it
    names = sorted({one_line(m.author) for m in review_marks(damage_map, (o.detection_id for o in fused.observations))})
    who = ", ".join(isolated(name) for name in names if name)
    parts.append(f"reviewed by {who}" if site.reviewed and who else REVIEWED if site.reviewed else f"not {REVIEWED}")
    return escape("; ".join(parts), quote=False)


def _clock_span(damage_map: DamageMap, first_s: float, last_s: float) -> str:
    """When the site was seen on the clock a team in the field reads, as the atlas and the
    web map say it ("2018-10-12 15:00:03-15:00:19 UTC, "; a drone's own clock named),
    or "" when nothing dates the recording."""
    first, last = clock_time(damage_map, first_s), clock_time(damage_map, last_s)
    if first is None or last is None:
        return ""
    clock = "UTC" if first[1] == "UTC" else f"({first[1]})"
    span = f"{first[0]:%H:%M:%S}" + ("" if f"{first[0]:%H:%M:%S}" == f"{last[0]:%H:%M:%S}" else f"-{last[0]:%H:%M:%S}")
    return f"{first[0]:%Y-%m-%d} {span} {clock}, "


def _video_span(first_s: float, last_s: float) -> str:
    if f"{first_s:.1f}" == f"{last_s:.1f}":
        return f"{first_s:.1f} s into the video"
    return f"{first_s:.1f}-{last_s:.1f} s into the video"


def _frames(first: int, last: int) -> str:
    return f"frame {first}" if first == last else f"frames {first}-{last}"
