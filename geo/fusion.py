"""Fusing the observations of one physical damage, seen in many frames, into a site.

1. **Association** (frame by frame, in time order): each observation joins the open
   site whose latest ground position is nearest, within ``gate_m``; a site takes at most
   one observation per frame, so two damages side by side stay apart. Sites unseen for
   ``max_gap_s`` close; time when nothing could be placed (``blind``: a hover under
   telemetry without a heading) does not count, so a damage seen before and after such a
   hover stays one site.
2. **Triangulation**: the rays through a site's mask centroids, from several camera
   positions, meet at the damage's 3-D position (a roof is metres above the ground;
   projecting it onto the ground plane would throw it metres beyond). With too little
   parallax the site stays on the ground plane.
3. **Merging**: sites that never share a frame and sit within ``merge_m`` of each other
   are one damage seen twice (e.g. before and after an occlusion). Sites that do share
   frames are one damage when, in most of those frames, their detections overlap by
   ``same_frame_overlap`` of the smaller one and they lie within ``same_damage_m``: the
   detector often draws a box on a whole damaged roof and others on its parts, or two
   levels on one patch, and an analyst reviews that damage once.
4. **Attributes**: level by a score-weighted vote (reviewed detections, where present,
   alone vote; the most severe level with a third of the votes wins, see
   :func:`vote_level`), confidence,
   counts, first/last frame, best frame, footprint (union of the members' footprints on
   the site's plane).
5. **Confirmation** (:func:`count_views`): how many analysed frames showed the site's
   position (it projects inside the image) and how many of them detected it. Real damage
   is detected again and again while it stays in view; a detection in one frame of the
   twenty that showed the spot is the detector firing on an intact roof. The frames are
   weighed as distinct views (:mod:`geo.views`): a hover's near-identical frames are one
   look, however many there are. A site is *confirmed* when a person confirmed one of
   its detections, or when it was detected in at least ``min_seen_views`` of the views
   that showed it (every one of them, when fewer showed it) and in at least
   ``min_seen_ratio`` of them (:func:`is_confirmed`). Unconfirmed sites stay in the
   project and in the review, but not on the map.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from core.camera import CameraPose, PinholeCamera, project_points_from
from core.last_few import KeptByMembers
from core.types import DamageLevel, DamageSite, Observation
from geo.local import LocalFrame
from geo.observe import Projected, on_planes, point_on_plane, polygon_lonlat
from geo.parallel import threaded_map
from geo.views import ViewSettings, count_distinct, distinct_views

if TYPE_CHECKING:  # pragma: no cover
    from geo.uncertainty import ErrorBudget


@dataclass(frozen=True)
class FusionSettings:
    """Tuning of :func:`fuse_observations` (metres, seconds, degrees).

    ``gate_m`` grows with range (``gate_per_range``) since far positions are noisier;
    ``ray_sigma_rad`` is the angular noise of a mask centroid's ray; ``roof_height_m`` is
    the prior height of roof damage (refined from the well-triangulated sites of the same
    flight), debris lies on the ground. ``min_seen_views`` and ``min_seen_ratio`` decide
    which sites are confirmed (:func:`is_confirmed`), counting distinct views (``views``:
    when consecutive frames are one); frames farther from a site than
    ``view_range_factor`` times its farthest sighting do not count as showing it.
    ``same_frame_overlap``: the share of the smaller of two detections in one frame that
    must lie inside the other for both to be one damage, when the two sites lie within
    ``same_damage_m`` of each other (see the module docstring).
    """

    gate_m: float = 4.0
    gate_per_range: float = 0.03
    max_gap_s: float = 3.0
    level_mismatch_m: float = 1.0
    merge_m: float = 1.0
    merge_per_range: float = 0.02
    min_overlap: float = 0.3
    ground_gap_m: float = 2.5
    ray_sigma_rad: float = 0.002
    roof_height_m: float = 4.0
    height_sigma_m: float = 4.0
    min_parallax_deg: float = 5.0
    truncated_weight: float = 0.1
    max_height_m: float = 60.0
    min_seen_views: int = 2
    min_seen_ratio: float = 0.2
    view_range_factor: float = 2.0
    same_frame_overlap: float = 0.5
    same_damage_m: float = 4.0
    views: ViewSettings = field(default_factory=ViewSettings)


def prior_height(level: DamageLevel, settings: FusionSettings) -> float:
    """Debris lies on the ground; other damage is on roofs."""
    return 0.0 if level == DamageLevel.DEBRIS else settings.roof_height_m


@dataclass(frozen=True, eq=False)
class FusedSite:
    """A :class:`DamageSite` with its members (placed on the site's plane), its local
    3-D position and footprint (local metres), and the 1-sigma horizontal uncertainty of
    its position (metres).

    ``frames_in_view`` analysed frames showed the site's position, ``frames_seen`` of them
    detected it; ``views_in_view`` and ``views_seen`` count the same as distinct views
    (:mod:`geo.views`; equal to the frames unless the drone hovered). ``confirmed`` says
    whether that is enough (see :func:`count_views`; until it has run, every site counts
    as confirmed)."""

    site: DamageSite
    members: tuple[Projected, ...]
    position_m: np.ndarray = field(repr=False)
    footprint: object = field(repr=False)
    triangulated: bool = False
    uncertainty_m: float = 0.0
    #: why: ``geo.uncertainty.ErrorBudget`` of the site and of each member (same order),
    #: filled by ``geo.uncertainty.budget_sites`` (``None``/empty before)
    budget: ErrorBudget | None = field(default=None, repr=False)
    member_budgets: tuple[ErrorBudget, ...] = field(default=(), repr=False)
    frames_seen: int = 0
    frames_in_view: int = 0
    views_seen: int = 0
    views_in_view: int = 0
    confirmed: bool = True
    #: the prior heights per level it was placed with (:func:`site_heights`: the flight's),
    #: which a site a reviewer's split or merge builds again is placed with too
    heights: tuple[tuple[DamageLevel, float], ...] = field(default=(), repr=False)

    @property
    def seen_ratio(self) -> float:
        """``frames_seen / frames_in_view`` (1.0 before :func:`count_views`)."""
        return self.frames_seen / self.frames_in_view if self.frames_in_view else 1.0

    @property
    def observations(self) -> list[Observation]:
        return [m.observation for m in self.members]


# ----------------------------------------------------------------------------- kept between builds
#: How many built sites, and located tracks, are kept between map builds (:func:`build_site`,
#: :func:`site_heights`): a long flight's sites a few times over.
SITE_CACHE_SIZE = 5_000


#: How many overlaps of two footprints are kept between map builds (:func:`_overlap`): a
#: long flight's weighed pairs of boxes that meet.
PAIR_CACHE_SIZE = 50_000

_built_sites = KeptByMembers(SITE_CACHE_SIZE)
_located_tracks = KeptByMembers(SITE_CACHE_SIZE)
_overlaps = KeptByMembers(PAIR_CACHE_SIZE)
_farthest_sightings = KeptByMembers(SITE_CACHE_SIZE)
_ground_unions = KeptByMembers(SITE_CACHE_SIZE)


def clear_cache() -> None:
    """Forget the kept sites, located tracks, overlaps, sightings' reaches and ground
    unions (tests, benchmarks)."""
    _built_sites.clear()
    _ground_unions.clear()
    _located_tracks.clear()
    _overlaps.clear()
    _farthest_sightings.clear()


# ----------------------------------------------------------------------------- association
def _association_points(projected: Sequence[Projected], settings: FusionSettings) -> tuple[np.ndarray, np.ndarray]:
    """Where each sighting is associated, ``float[N, 2]`` (its ray at its level's prior
    height, :func:`geo.observe.point_on_plane`, else its ground point), and its gate,
    ``float[N]`` (metres, growing with its range): the flight's sightings all at once, each
    the same numbers as one alone (elementwise arithmetic), not a few calls per sighting
    at every build."""
    points = np.array([p.ground_xy for p in projected], dtype=np.float64).reshape(-1, 2)
    origins = np.array([p.ray_origin for p in projected], dtype=np.float64).reshape(-1, 3)
    directions = np.array([p.ray_direction for p in projected], dtype=np.float64).reshape(-1, 3)
    planes = np.array([prior_height(p.detection.level, settings) for p in projected], dtype=np.float64)
    meets = ~((directions[:, 2] >= -1e-6) | (origins[:, 2] <= planes))  # point_on_plane's test
    t = (origins[meets, 2] - planes[meets]) / -directions[meets, 2]
    points[meets] = (origins[meets] + t[:, None] * directions[meets])[:, :2]
    reach = np.hypot(points[:, 0] - origins[:, 0], points[:, 1] - origins[:, 1])
    gates = np.maximum(settings.gate_m, settings.gate_per_range * reach)
    for k, p in enumerate(projected):
        if p.heading_sigma_deg > 0:  # a frame placed by the camera's turns read from the video
            gates[k] += _heading_slack_m(float(reach[k]), p.heading_sigma_deg)
    return points, gates


def _overlap(a: Projected, b: Projected) -> float:
    """The share of the smaller footprint the two have in common (0 when either has none);
    kept between map builds for the same two (:data:`PAIR_CACHE_SIZE`)."""
    ba, bb = a.footprint_box, b.footprint_box
    if ba is None or bb is None or ba[2] < bb[0] or bb[2] < ba[0] or ba[3] < bb[1] or bb[3] < ba[1]:
        return 0.0  # apart: no intersection to compute (most pairs the association weighs)

    def share() -> float:
        smaller = min(a.footprint_area, b.footprint_area)
        return float(a.footprint.intersection(b.footprint).area / smaller) if smaller > 0 else 0.0

    return float(_overlaps.get_or_compute((a, b), (), share))


def _seeing_clock(blind: Sequence[tuple[float, float]]) -> Callable[[float], float]:
    """Video time -> the time before it when things could be seen: ``blind`` spans
    (sorted or not, not overlapping) do not count."""
    if not blind:
        return lambda t: t
    spans = sorted(blind)
    starts = np.array([start for start, _ in spans])
    lengths = np.array([max(0.0, end - start) for start, end in spans])
    before = np.concatenate([[0.0], np.cumsum(lengths)])

    def clock(t: float) -> float:
        k = int(np.searchsorted(starts, t, side="right"))  # the spans that began by t
        if k == 0:
            return t
        return t - float(before[k - 1]) - min(max(t - float(starts[k - 1]), 0.0), float(lengths[k - 1]))

    return clock


def associate(projected: list[Projected], settings: FusionSettings,
              blind: Sequence[tuple[float, float]] = ()) -> list[list[Projected]]:
    """Group observations into tracks (see the module docstring, step 1); ``blind``:
    ``(start, end)`` video times when nothing could be placed, left out of the gaps."""
    clock = _seeing_clock(blind)

    all_points, all_gates = _association_points(projected, settings)
    by_frame: dict[int, list[int]] = defaultdict(list)
    for k, p in enumerate(projected):
        by_frame[p.frame_index].append(k)
    tracks: list[list[Projected]] = []
    last_t: list[float] = []
    last_xy: list[np.ndarray] = []
    open_tracks: list[int] = []  # ascending; a track closed once stays closed (the clock never goes back)
    for frame in sorted(by_frame, key=lambda f: (projected[by_frame[f][0]].observation.t_s, f)):
        items = [projected[k] for k in by_frame[frame]]
        t = clock(items[0].observation.t_s)
        points = all_points[by_frame[frame]]
        # the tracks still open, from those open at the last frame: not a pass over every
        # track of the flight at each frame, which grew with the square of its length
        open_tracks = [k for k in open_tracks if t - last_t[k] <= settings.max_gap_s]
        candidates = _candidates(items, points, all_gates[by_frame[frame]], [tracks[k][-1] for k in open_tracks],
                                 [last_xy[k] for k in open_tracks], settings)
        candidates = sorted((cost, i, open_tracks[j]) for cost, i, j in candidates)
        used_items: set[int] = set()
        used_tracks: set[int] = set()
        for _cost, i, k in candidates:
            if i in used_items or k in used_tracks:
                continue
            used_items.add(i)
            used_tracks.add(k)
            tracks[k].append(items[i])
            last_t[k] = t
            last_xy[k] = points[i]
        for i, p in enumerate(items):
            if i not in used_items:
                open_tracks.append(len(tracks))
                tracks.append([p])
                last_t.append(t)
                last_xy.append(points[i])
    return tracks


def _candidates(items: list[Projected], points: np.ndarray, gates: np.ndarray, lasts: list[Projected],
                last_points: list[np.ndarray], settings: FusionSettings) -> list[tuple[float, int, int]]:
    """``(cost, item, track)`` for each of a frame's observations ``items`` (at
    ``points``, within ``gates``: :func:`_association_points`) that may continue a track
    (its last observation ``lasts[track]`` at ``last_points[track]``): within the item's
    gate, or beyond it with footprints that overlap by ``min_overlap``. The distances of
    all pairs are one array operation, and the footprints are intersected only where their
    boxes meet: a long flight weighs millions of pairs."""
    if not items or not lasts:
        return []
    here = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    there = np.asarray(last_points, dtype=np.float64).reshape(-1, 2)
    distance = np.hypot(here[:, None, 0] - there[None, :, 0], here[:, None, 1] - there[None, :, 1])
    near = distance <= gates[:, None]
    far = ~near
    if far.any():  # beyond the gate: still a candidate where the footprints overlap enough
        boxes_here = _boxes(items)
        boxes_there = _boxes(lasts)
        meet = ((boxes_here[:, None, 0] <= boxes_there[None, :, 2]) & (boxes_there[None, :, 0] <= boxes_here[:, None, 2])
                & (boxes_here[:, None, 1] <= boxes_there[None, :, 3]) & (boxes_there[None, :, 1] <= boxes_here[:, None, 3]))
        for i, j in zip(*np.nonzero(far & meet)):
            if _overlap(items[i], lasts[j]) >= settings.min_overlap:
                near[i, j] = True
    out = []
    for i, j in zip(*np.nonzero(near)):
        i, j = int(i), int(j)
        penalty = 0.0 if items[i].detection.level == lasts[j].detection.level else settings.level_mismatch_m
        out.append((min(float(distance[i, j]), float(gates[i])) + penalty, i, j))
    return out


def _boxes(members: list[Projected]) -> np.ndarray:
    """``float[N, 4]`` footprint boxes (NaN where there is none: it meets nothing)."""
    return np.array([m.footprint_box or (np.nan,) * 4 for m in members], dtype=np.float64).reshape(-1, 4)


# ----------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class RayFit:
    """A least-squares meeting point of rays: the point, each ray's miss distance, and
    the normal matrix (its inverse is the point's covariance when the weights are
    inverse variances)."""

    point: np.ndarray
    residuals: np.ndarray
    normal: np.ndarray

    weights: np.ndarray | None = None

    def scatter_scale(self) -> float:
        """How much more the rays miss the point than their weights say (the square root
        of the weighted misses' sum over its degrees of freedom, at least 1): rays of one
        damage do not meet as independent noise would, the masks' centres falling on
        other parts of it from view to view. 1 with fewer than three rays."""
        if self.weights is None or len(self.residuals) < 3:
            return 1.0
        chi2 = float(np.sum(self.weights * self.residuals**2))
        return math.sqrt(max(1.0, chi2 / (2 * len(self.residuals) - 2)))

    def horizontal_sigma_m(self) -> float:
        """1-sigma horizontal uncertainty along the worst direction."""
        try:
            cov = np.linalg.inv(self.normal)[:2, :2]
        except np.linalg.LinAlgError:
            return math.inf
        return float(math.sqrt(max(np.linalg.eigvalsh(cov).max(), 0.0)))


def triangulate(
    origins: np.ndarray,
    directions: np.ndarray,
    weights: np.ndarray,
    *,
    height_prior: tuple[float, float] | None = None,
) -> RayFit:
    """Weighted least-squares meeting point of rays (``float[N, 3]`` origins and unit
    directions).

    ``height_prior`` ``(z, weight)`` adds ``weight * (Z - z)^2``: with little parallax
    the rays fix a line, and the prior picks the point on it at a plausible height.
    """
    origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
    directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    # each ray's I - d d^T and its product with the ray's origin, all rays at once; summed
    # one ray after another from zero (a cumulative sum adds in that order, where a sum
    # would pair them): the very numbers a loop over the rays gives (a site's
    # triangulation was a few numpy calls per ray)
    m = np.eye(3) - directions[:, :, None] * directions[:, None, :]
    m_o = (m @ origins[:, :, None])[:, :, 0]
    a = np.cumsum(np.concatenate([np.zeros((1, 3, 3)), w[:, None, None] * m]), axis=0)[-1].copy()
    b = np.cumsum(np.concatenate([np.zeros((1, 3)), w[:, None] * m_o]), axis=0)[-1].copy()
    if height_prior is not None:
        a[2, 2] += height_prior[1]
        b[2] += height_prior[1] * height_prior[0]
    point = np.linalg.lstsq(a, b, rcond=None)[0]
    offsets = point - origins
    along = np.sum(offsets * directions, axis=1, keepdims=True)
    residuals = np.linalg.norm(offsets - along * directions, axis=1)
    return RayFit(point, residuals, a, np.asarray(weights, dtype=np.float64))


def _parallax_deg(directions: np.ndarray) -> float:
    mean = directions.mean(axis=0)
    mean /= np.linalg.norm(mean)
    cosines = np.clip(directions @ mean, -1.0, 1.0)
    return 2.0 * math.degrees(float(np.arccos(cosines.min())))


def _ray_weights(members: list[Projected], z_prior: float, settings: FusionSettings, *,
                 by_model: bool = False) -> np.ndarray:
    """Inverse variance of each ray's miss distance: angular noise times range (the mask's
    centroid's, and for a frame placed by the camera's turns read from the video, how far
    off its heading may be)."""
    reaches = _reaches_m(members, z_prior)
    weights = []
    for m, reach in zip(members, reaches.tolist()):
        sigma = max(0.05, math.hypot(settings.ray_sigma_rad, math.radians(m.heading_sigma_deg)) * reach)
        weights.append(max(m.model_weight if by_model else m.weight, 1e-3) / sigma**2)
    return np.array(weights)


def _reaches_m(members: Sequence[Projected], plane_up_m: float, *, missed_m: float = 50.0) -> np.ndarray:
    """How far each member's ray runs from the camera to the plane ``z = plane_up_m``
    (:func:`geo.observe.point_on_plane`; ``missed_m`` for a ray that does not meet it),
    ``float[N]``: all the rays at once, each the number one alone gives."""
    origins = np.array([m.ray_origin for m in members], dtype=np.float64).reshape(-1, 3)
    directions = np.array([m.ray_direction for m in members], dtype=np.float64).reshape(-1, 3)
    meets = ~((directions[:, 2] >= -1e-6) | (origins[:, 2] <= plane_up_m))  # point_on_plane's test
    t = (origins[meets, 2] - plane_up_m) / -directions[meets, 2]
    reaches = np.full(len(origins), float(missed_m))
    points = origins[meets] + t[:, None] * directions[meets]
    reaches[meets] = np.linalg.norm(points - origins[meets], axis=1)
    return reaches


#: A damage's position is the centre of what a view's mask covered of it; views that each
#: cover another part put it anywhere on the damage: one sigma of a point uniform over a
#: length L is L / sqrt(12), about 0.29 L (the length: the square root of the footprint's
#: area on the ground).
EXTENT_SIGMA_FRACTION = 0.29


def extent_sigma_m(members: list[Projected]) -> float:
    """:data:`EXTENT_SIGMA_FRACTION` of the damage's size on the ground (the median of
    its members' footprints); 0 where none has a footprint."""
    areas = [m.footprint_area for m in members if m.footprint_box is not None]
    return EXTENT_SIGMA_FRACTION * math.sqrt(float(np.median(areas))) if areas else 0.0


def ground_union(members: list[Projected]):
    """Union of the members' footprints on the ground plane (local metres), kept between
    calls for the same members: a debris site's is taken to locate it and again for each
    neighbour it may merge with (:func:`merge`), and a field of many sightings is most of
    a map's GEOS time."""
    from shapely.ops import unary_union

    return _ground_unions.get_or_compute(members, (), lambda: unary_union(
        [m.footprint for m in members if m.footprint is not None and not m.footprint.is_empty]))


@dataclass(frozen=True)
class Location:
    """Where one damage is: local metres, whether the rays alone fixed it (parallax of at
    least ``min_parallax_deg``), and its 1-sigma horizontal uncertainty."""

    point: np.ndarray
    well_fixed: bool
    sigma_m: float


def best_per_frame(members: list[Projected]) -> list[Projected]:
    """The highest-scoring member of each frame, in the members' order."""
    best: dict[int, Projected] = {}
    for m in members:
        if m.frame_index not in best or m.weight > best[m.frame_index].weight:
            best[m.frame_index] = m
    kept = {id(m) for m in best.values()}
    return [m for m in members if id(m) in kept]


def _parallax_ok(members: list[Projected], settings: FusionSettings) -> bool:
    directions = np.array([m.ray_direction for m in members])
    return len(members) >= 2 and _parallax_deg(directions) >= settings.min_parallax_deg


def locate(members: list[Projected], settings: FusionSettings, z_prior: float, *, by_model: bool = False) -> Location:
    """3-D position of one damage.

    On the ground (``z_prior == 0``: debris) it is the centre of the union of the
    members' ground footprints, which are exact there and, together, cover the whole
    field even when each view sees only part of it. Elsewhere it is the rays' meeting
    point with a weak prior on its height (``z_prior``, ``height_sigma_m``), kept between
    the ground and ``max_height_m``; far, oblique sightings with little parallax leave
    the height, and so the position, uncertain (``sigma_m``). A site joined from boxes
    of one damage (step 3) is located from its best box in each frame: the rays through
    a roof's box and a patch in it point at different spots. ``by_model``: the rays are
    weighed by the model's scores, a reviewer's accept or not (:func:`site_heights`).
    """
    if z_prior == 0.0:
        union = ground_union(members)
        if not union.is_empty:
            centre = union.centroid
            sigma = max(0.1, settings.ray_sigma_rad * float(np.median(
                [np.linalg.norm(m.ray_origin[:2] - m.ground_xy) for m in members])))
            # the centre of what the views saw of a field they each saw part of
            sigma = math.hypot(sigma, EXTENT_SIGMA_FRACTION * math.sqrt(float(union.area)))
            return Location(np.array([centre.x, centre.y, 0.0]), _parallax_ok(members, settings), sigma)
    members = best_per_frame(members)
    parallax_ok = _parallax_ok(members, settings)
    whole = [m for m in members if not m.truncated]
    if len(whole) < 2 or len(whole) < len(members) / 2:
        # Mostly cut by the image border: each ray points at a different piece of the
        # damage, a poor base for triangulation. Average where the rays meet the plane
        # at the expected height instead.
        points = [p for p in (point_on_plane(m.ray_origin, m.ray_direction, z_prior) for m in members) if p is not None]
        if points:
            reach = float(np.median([np.linalg.norm(p - m.ray_origin) for p, m in zip(points, members)]))
            depression = max(math.radians(1.0), math.asin(min(1.0, max(1e-3, (members[0].ray_origin[2] - z_prior) / reach))))
            sigma = math.hypot(settings.height_sigma_m / math.tan(depression), settings.ray_sigma_rad * reach,
                               extent_sigma_m(members))
            return Location(np.mean(points, axis=0), parallax_ok, sigma)
    usable = members
    origins = np.array([m.ray_origin for m in usable])
    directions = np.array([m.ray_direction for m in usable])
    # A mask cut by the image border has a biased centroid: it counts, but less.
    weights = _ray_weights(usable, z_prior, settings, by_model=by_model) * np.array(
        [settings.truncated_weight if m.truncated else 1.0 for m in usable])
    prior = (z_prior, 1.0 / settings.height_sigma_m**2)
    fit = triangulate(origins, directions, weights, height_prior=prior)
    if len(usable) >= 3:
        keep = fit.residuals <= max(0.5, 3.0 * float(np.median(fit.residuals)))
        if 2 <= keep.sum() < len(usable):
            origins, directions, weights = origins[keep], directions[keep], weights[keep]
            fit = triangulate(origins, directions, weights, height_prior=prior)
    # how well the rays meet, as their weights promise, and as far as they actually miss;
    # and where on the damage each view's mask centre fell (a roof seen whole in one
    # view, in part in another)
    sigma = math.hypot(fit.horizontal_sigma_m() * fit.scatter_scale(), extent_sigma_m(usable))
    if not 0.0 <= fit.point[2] <= settings.max_height_m:
        z = min(max(fit.point[2], 0.0), settings.max_height_m)
        fit = triangulate(origins, directions, weights, height_prior=(z, 1e6 * max(weights.max(), 1.0)))
    well_fixed = len(directions) >= 2 and _parallax_deg(directions) >= settings.min_parallax_deg
    return Location(fit.point, well_fixed, sigma)


def ray_miss_m(member: Projected, position: np.ndarray) -> float:
    """How far ``member``'s ray passes from ``position`` (local metres)."""
    offset = position - member.ray_origin
    along = float(offset @ member.ray_direction)
    return float(np.linalg.norm(offset - along * member.ray_direction))


def overlap_in_shared_frames(a: list[Projected], b: list[Projected], settings: FusionSettings) -> bool:
    """Whether groups ``a`` and ``b`` overlap (``same_frame_overlap`` of the smaller
    footprint) in at least half of the frames that detected both: one damage the detector
    boxed twice."""
    ours: dict[int, list[Projected]] = defaultdict(list)
    theirs: dict[int, list[Projected]] = defaultdict(list)
    for group, by_frame in ((a, ours), (b, theirs)):
        for m in group:
            by_frame[m.frame_index].append(m)
    shared = ours.keys() & theirs.keys()
    overlapping = sum(
        any(_overlap(p, q) >= settings.same_frame_overlap for p in ours[frame] for q in theirs[frame])
        for frame in shared
    )
    return bool(shared) and 2 * overlapping >= len(shared)


def _heading_slack_m(reach_m: float, heading_sigma_deg: float) -> float:
    """How far a position ``reach_m`` from the camera may move for a heading
    ``heading_sigma_deg`` off (0 for headings the telemetry gives)."""
    return reach_m * math.tan(math.radians(heading_sigma_deg)) if heading_sigma_deg > 0 else 0.0


def small_median(values: Sequence[float]) -> float:
    """``float(np.median(values))`` of a few numbers, without numpy's overhead (the merge
    asks for some 75,000 medians of a handful on a long flight): the middle value, or the
    mean of the middle two (``(a + b) / 2``, as numpy works it out); numpy's where one is
    NaN."""
    ordered = sorted(float(v) for v in values)
    count = len(ordered)
    if count == 0 or any(math.isnan(v) for v in ordered):
        return float(np.median(values))
    middle = count // 2
    return ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def merge(groups: list[list[Projected]], settings: FusionSettings, heights: dict[DamageLevel, float]) -> list[list[Projected]]:
    """Join groups that are one damage (step 3): of one voted level, never sharing a
    frame, with rays passing within ``merge_m`` (plus ``merge_per_range`` of the range) of
    each other's position; or, of any level, overlapping in the frames they share
    (:func:`overlap_in_shared_frames`)."""
    levels = [vote_level(g)[0] for g in groups]
    located = [_located(g, settings, heights[lv]).point for g, lv in zip(groups, levels)]
    parent = list(range(len(groups)))
    own_frames = [frozenset(m.frame_index for m in g) for g in groups]
    frames = [set(f) for f in own_frames]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def rays_pass(group: list[Projected], point: np.ndarray) -> bool:
        misses = [ray_miss_m(m, point) for m in group]
        reach = small_median([float(np.linalg.norm(point - m.ray_origin)) for m in group])
        slack = _heading_slack_m(reach, small_median([m.heading_sigma_deg for m in group]))
        return small_median(misses) <= settings.merge_m + settings.merge_per_range * reach + slack

    # Only groups within `reach` of each other can merge: bucket them on a grid of that
    # size so a long video does not compare every pair.
    reach = 10 * settings.gate_m
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, point in enumerate(located):
        cells[(int(point[0] // reach), int(point[1] // reach))].append(k)
    rank = {k: r for r, k in enumerate(sorted(range(len(groups)), key=lambda i: -len(groups[i])))}
    pairs = set()
    for (cx, cy), members in cells.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for i in members:
                    for j in cells.get((cx + dx, cy + dy), ()):
                        if rank[i] < rank[j]:
                            pairs.add((rank[i], rank[j], i, j))
    for _ri, _rj, i, j in sorted(pairs):
        ri, rj = find(i), find(j)
        distance = math.hypot(*(located[i][:2] - located[j][:2]))
        if ri == rj or distance > reach:
            continue
        if frames[ri] & frames[rj]:
            near = distance <= settings.same_damage_m
            if near and own_frames[i] & own_frames[j] and overlap_in_shared_frames(groups[i], groups[j], settings):
                parent[rj] = ri
                frames[ri] |= frames[rj]
            continue
        if levels[i] != levels[j]:
            continue
        if (rays_pass(groups[j], located[i]) and rays_pass(groups[i], located[j])) or (
            heights[levels[i]] == 0.0 and _ground_touch(groups[i], groups[j], settings)
        ):
            parent[rj] = ri
            frames[ri] |= frames[rj]
    merged: dict[int, list[Projected]] = defaultdict(list)
    for k, g in enumerate(groups):
        merged[find(k)].extend(g)
    return [sorted(g, key=lambda m: (m.observation.t_s, m.frame_index)) for g in merged.values()]


def _located(members: list[Projected], settings: FusionSettings, z_prior: float, *, by_model: bool = False) -> Location:
    """:func:`locate`, kept between map builds for the same members (most tracks of a map
    built again after a review decision)."""
    location: Location = _located_tracks.get_or_compute(
        members, (settings, z_prior, by_model), lambda: locate(members, settings, z_prior, by_model=by_model))
    return location


def _ground_touch(a: list[Projected], b: list[Projected], settings: FusionSettings) -> bool:
    """Ground footprints that overlap, or nearly touch (``ground_gap_m``): slivers of
    one debris field seen at the image border at different times."""
    ua, ub = ground_union(a), ground_union(b)
    if ua.is_empty or ub.is_empty:
        return False
    smaller = min(ua.area, ub.area)
    overlap = float(ua.intersection(ub).area / smaller) if smaller > 0 else 0.0
    return overlap >= settings.min_overlap or ua.distance(ub) <= settings.ground_gap_m


def site_heights(groups: list[list[Projected]], settings: FusionSettings) -> dict[DamageLevel, float]:
    """Prior heights per level: debris on the ground; roof damage at the median height
    of this flight's well-triangulated roof sites (``roof_height_m`` lacking three).

    Each site is located here with the model's weights, a reviewer's accept or not: the
    prior is the flight's, and accepting one site must not move the others (nor rejecting
    one: :func:`fuse_observations`' ``roof_evidence``)."""
    heights = {level: prior_height(level, settings) for level in DamageLevel}
    roof = []
    for g in groups:
        level = vote_level(g)[0]
        if level == DamageLevel.DEBRIS:
            continue
        location = _located(g, settings, heights[level], by_model=True)
        if location.well_fixed:
            roof.append(location.point[2])
    if len(roof) >= 3:
        for level in (DamageLevel.SLIGHT, DamageLevel.SEVERE):
            heights[level] = float(np.median(roof))
    return heights


# ----------------------------------------------------------------------------- attributes
#: The share of a site's model votes (summed scores) that a more severe level needs to
#: win over a more common, milder one (see :func:`vote_level`).
SEVERE_VOTE_SHARE = 1.0 / 3.0


def vote_level(members: list[Projected]) -> tuple[DamageLevel, float]:
    """A site's level and confidence from its members' votes.

    Reviewed members alone vote when there are any (a relabelled one votes for its new
    level). Each votes with the model's score for it, and the site takes the most severe
    level holding at least :data:`SEVERE_VOTE_SHARE` of the votes: the detector often
    boxes a damaged roof as Slight and its worst patch again as Severe, and a building
    graded too mild costs a relief team more than one looked at for nothing. Reviewed or
    not, the votes weigh the same, so a site accepted as a whole keeps the level it was
    accepted at. The confidence is the level's summed weight (a reviewed member's is 1)
    over the number of voters, in [0, 1]."""
    reviewed = [m for m in members if m.reviewed]
    voters = reviewed or members
    votes: dict[DamageLevel, float] = defaultdict(float)
    weights: dict[DamageLevel, float] = defaultdict(float)
    for m in voters:
        votes[m.detection.level] += max(float(m.detection.final_score), 1e-6)  # a level named is a vote
        weights[m.detection.level] += m.weight
    floor = SEVERE_VOTE_SHARE * sum(votes.values())
    level = max(lv for lv, total in votes.items() if total >= floor - 1e-9)
    return level, min(1.0, weights[level] / len(voters))


def best_score(members: Iterable[Projected]) -> float:
    """The detector's best score among a site's sightings ``members`` (0 without any),
    whatever a reviewer said of them: what the Sites panel, the map's tooltips and the
    exports call "best score" (``vote_level``'s share is how far they agree on the level,
    not how sure the detector is). The score threshold keeps a site while it keeps one of
    its sightings: one scoring at least the threshold, or one a reviewer accepted."""
    return max((float(m.detection.final_score) for m in members), default=0.0)


def _best_member(members: list[Projected], level: DamageLevel) -> Projected:
    of_level = [m for m in members if m.detection.level == level] or members
    # a frame that is a look at the ground, then a whole view away from its edge: the
    # analyst's thumbnail shows all of it, and sharp
    return max(of_level, key=lambda m: (not m.no_look, not m.truncated, not m.near_edge, round(m.weight, 3),
                                        m.area_px))


def build_site(site_id: int, members: list[Projected], *, camera: PinholeCamera, local: LocalFrame,
               settings: FusionSettings, heights: dict[DamageLevel, float],
               anchor: Collection[int] | None = None) -> FusedSite:
    """One site of ``members``. ``anchor``: the detection ids among them the site is placed
    from, outlined by and shown with (a site a reviewer decided: its decided sightings; the
    sightings a lower threshold let in since neither move nor widen it); all by default.

    The last :data:`SITE_CACHE_SIZE` are kept: the map is built again after every review
    decision, and most sites are built of the very members they were built of before
    (``geo.observe.place_detection`` gives back the same object for a detection that has
    not changed); such a site is given back numbered ``site_id``, not built again."""
    more = (None if anchor is None else frozenset(anchor), tuple(sorted(heights.items())), settings, camera, local.key)
    fused: FusedSite = _built_sites.get_or_compute(members, more, lambda: _build_site(
        site_id, members, camera=camera, local=local, settings=settings, heights=heights, anchor=anchor))
    return fused if fused.site.id == site_id else replace(fused, site=replace(fused.site, id=site_id))


def _build_site(site_id: int, members: list[Projected], *, camera: PinholeCamera, local: LocalFrame,
                settings: FusionSettings, heights: dict[DamageLevel, float],
                anchor: Collection[int] | None = None) -> FusedSite:
    from shapely.ops import unary_union

    basis = [m for m in members if m.detection.id in anchor] if anchor is not None else members
    basis = basis or members
    # kept: a site of one track (most of a long flight's) was located as that track by
    # :func:`merge` already, with the same members and height
    location = _located(basis, settings, heights[vote_level(members)[0]])
    position, triangulated = location.point, location.well_fixed
    plane = float(position[2])
    placed = on_planes(members, camera, local, plane) if plane > 0.01 else list(members)
    level, confidence = vote_level(placed)
    shown = [m for m in placed if m.detection.id in anchor] if anchor is not None else placed
    shown = shown or placed
    best = _best_member(shown, level)
    outlined = [m for m in shown if not m.truncated] or shown
    footprint = unary_union(_footprints_local(outlined, camera, plane, moved={id(m) for m in placed} - {
        id(m) for m in members}))
    lon, lat = local.to_lonlat(position[0], position[1])
    times = [m.observation.t_s for m in placed]
    frames = [m.frame_index for m in placed]
    site = DamageSite(
        id=site_id,
        level=level,
        confidence=round(float(confidence), 4),
        lon_deg=float(lon),
        lat_deg=float(lat),
        observation_count=len(placed),
        first_frame=min(frames),
        last_frame=max(frames),
        first_time_s=float(min(times)),
        last_time_s=float(max(times)),
        best_frame=best.frame_index,
        best_detection_id=best.detection.id,
        footprint_lonlat=polygon_lonlat(footprint, local, simplify_m=0.1),
        reviewed=any(m.reviewed for m in placed),
        best_score=round(best_score(placed), 4),
        frame_count=len(set(frames)),
    )
    return FusedSite(site, tuple(placed), position, footprint, triangulated, location.sigma_m,
                     heights=tuple(sorted(heights.items())))


def _footprints_local(members: Sequence[Projected], camera: PinholeCamera, plane_up_m: float, *,
                      moved: Collection[int] = ()) -> list[Any]:
    """Each member's footprint on the plane ``z = plane_up_m``
    (:func:`geo.observe.footprint_on_plane`): a member :func:`geo.observe.on_planes` placed
    on that very plane (its ``id`` in ``moved``) carries it already; the others' are
    projected together."""
    from geo.observe import footprints_on_plane

    found = [m.footprint if id(m) in moved else None for m in members]
    rest = [k for k, footprint in enumerate(found) if footprint is None]
    for k, footprint in zip(rest, footprints_on_plane(camera, [(members[k].pose, members[k].outline_px) for k in rest],
                                                      plane_up_m)):
        found[k] = footprint
    return found


def fuse_observations(
    projected: list[Projected],
    *,
    camera: PinholeCamera,
    local: LocalFrame,
    settings: FusionSettings | None = None,
    blind: Sequence[tuple[float, float]] = (),
    roof_evidence: list[Projected] | None = None,
) -> list[FusedSite]:
    """Observations -> damage sites (see the module docstring), ids from 1 in order of
    first sighting; ``blind``: video times when nothing could be placed (:func:`associate`).

    ``roof_evidence``: the sightings the flight's roof height is taken from
    (:func:`site_heights`), ``projected`` by default. The map gives those a reviewer
    rejected too, as they were before the reject: a rejected sighting is not damage, but it
    still lies where the roofs are, and rejecting one site must not move the others."""
    settings = settings or FusionSettings()
    if not projected:
        return []
    tracks = associate(projected, settings, blind)
    evidence = tracks if roof_evidence is None else associate(roof_evidence, settings, blind)
    heights = site_heights(evidence, settings)
    groups = merge(tracks, settings, heights)
    groups.sort(key=lambda g: (g[0].observation.t_s, g[0].frame_index, -g[0].weight))
    return _build_sites(groups, camera=camera, local=local, settings=settings, heights=heights)


#: Fewer sites than this are built on the calling thread alone.
THREADED_SITES = 64


def _build_sites(groups: list[list[Projected]], **site_args: Any) -> list[FusedSite]:
    """:func:`build_site` of each group, numbered from 1 in order; a long flight's on a few
    threads (``geo.parallel``): most of a site's time is GEOS joining and scaling its
    sightings' outlines."""
    return threaded_map(lambda k: build_site(k + 1, groups[k], **site_args), range(len(groups)),
                        at_least=THREADED_SITES)


# ----------------------------------------------------------------------------- confirmation
def is_confirmed(views_seen: int, views_in_view: int, settings: FusionSettings | None = None, *,
                 reviewed: bool = False) -> bool:
    """Whether a site detected in ``views_seen`` of the ``views_in_view`` distinct views
    that showed it is real damage (module docstring, step 5): a person confirmed it, or it
    was detected in at least ``min_seen_views`` of those views (all of them when fewer
    showed it) and in at least ``min_seen_ratio`` of them."""
    settings = settings or FusionSettings()
    if reviewed:
        return True
    in_view = max(views_in_view, views_seen)
    if views_seen < min(settings.min_seen_views, in_view):
        return False
    return views_seen >= settings.min_seen_ratio * in_view - 1e-9


#: How many (frame, site) pairs :func:`count_views` projects at once (a few tens of MB).
VIEW_CHUNK_POINTS = 250_000


def _farthest_sighting_m(site: FusedSite) -> float:
    """How far the site's farthest sighting was taken from, kept between map builds for
    the same members and position (most sites of a map built again after a decision)."""
    position = site.position_m
    farthest: float = _farthest_sightings.get_or_compute(
        site.members, (np.asarray(position).tobytes(),),
        lambda: max(float(np.linalg.norm(position - m.ray_origin)) for m in site.members))
    return farthest


def count_views(
    fused: Sequence[FusedSite],
    poses: Mapping[int, CameraPose],
    camera: PinholeCamera,
    settings: FusionSettings | None = None,
    views: Mapping[int, int] | None = None,
) -> list[FusedSite]:
    """Each site with ``frames_in_view`` (the analysed frames, ``poses``, in whose image
    its 3-D position falls, or that detected it), ``frames_seen`` (those that detected it),
    the same counted as distinct views (``views_in_view``, ``views_seen``: a view holds
    the frames :func:`geo.views.distinct_views` makes one look; ``views``, that of
    ``poses``, when the caller has it) and ``confirmed`` (:func:`is_confirmed` on the views).

    A frame farther from the site than ``view_range_factor`` times its farthest sighting
    does not count: far towards the horizon the damage is a few pixels, which no detector
    is expected to see (an oblique camera keeps a spot in view long before it comes near).

    A member placed on a terrain carries a pose lowered by the terrain's height there
    (``geo.observe.project_detection``); the site's position is raised by as much before
    it is projected into the frames' own poses."""
    settings = settings or FusionSettings()
    if not fused:
        return []
    frames = sorted(poses)
    views = views if views is not None else distinct_views(poses, settings.views)
    points = np.array([f.position_m for f in fused], dtype=np.float64).reshape(-1, 3)
    for k, f in enumerate(fused):
        lifts = [poses[m.frame_index].up_m - m.pose.up_m for m in f.members if m.frame_index in poses]
        if lifts:
            points[k, 2] += float(np.median(lifts))
    seen = [{m.frame_index for m in f.members} for f in fused]
    in_view = [set(s) for s in seen]
    w, h = camera.width_px, camera.height_px
    # the farthest a frame may be and still count: a few times the farthest sighting
    reach = settings.view_range_factor * np.array([_farthest_sighting_m(f) for f in fused])
    # every site into a chunk of frames at once: a long flight's thousands of frames one
    # by one were most of the time
    chunk = max(1, VIEW_CHUNK_POINTS // len(points))
    for start in range(0, len(frames), chunk):
        some = frames[start:start + chunk]
        u, v, front, offsets = project_points_from(camera, [poses[frame] for frame in some], points)
        inside = front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        inside &= np.linalg.norm(offsets, axis=2) <= reach
        for i, k in zip(*np.nonzero(inside)):
            in_view[k].add(some[i])
    out = []
    for f, s, v in zip(fused, seen, in_view):
        views_seen, views_in_view = count_distinct(s, views), count_distinct(v, views)
        confirmed = is_confirmed(views_seen, views_in_view, settings, reviewed=f.site.reviewed)
        out.append(replace(f, frames_seen=len(s), frames_in_view=len(v), views_seen=views_seen,
                           views_in_view=views_in_view, confirmed=confirmed))
    return out
