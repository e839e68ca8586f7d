"""A native map panel: flight track, drone and camera footprint now, damage sites, heat.

Why native and not the Leaflet HTML in a web view: the panel redraws the drone and its
footprint on every frame of playback, which is a couple of item moves here but a
JavaScript round trip there; it needs no network and no Chromium sandbox, and tests can
click a site with pytest-qt. The offline HTML map (``geo.export``) remains the
shareable artefact; the Export dialog can open it in the browser.

Coordinates are drawn in an equirectangular plane around the track's centre (metres,
north up). Over the few kilometres of a flight this differs from the UTM plane ``geo``
computes in by far less than a pixel; it is only for display. The project's offline
basemap (an orthophoto or MBTiles) is resampled by :func:`geo.basemap.read_basemap`
into the same plane (:meth:`_Plane.crs`, a PROJ equirectangular projection) and drawn
under everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF, QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from app.overlay import level_colour
from core.sites import site_line, views_apart
from core.types import DamageLevel, DamageSite
from geo.antimeridian import bounds_around, display_longitudes

if TYPE_CHECKING:  # pragma: no cover
    from geo.basemap import Basemap
    from geo.fusion import FusedSite
    from services.maps import BuildingOutline
    from services.survey import FlightInSurvey, SiteElsewhere
    from geo.mapping import DamageMap
    from geo.telemetry import Track

_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON_EQUATOR = 111_320.0

#: The buildings' outline while their grades are another run's than the one analysed:
#: no grade's colour (:data:`geo.grading.COLOURS`), so none reads as a grade.
PLAIN_BUILDING_COLOUR = "#5d4037"


class _Plane:
    """lon/lat degrees <-> display metres (x east, y south so Qt's y-down works)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def point(self, lon: float, lat: float) -> QPointF:
        # the shorter way round: a flight across 180° is one place, not the two edges of the world
        east_deg = (lon - self.lon0 + 180.0) % 360.0 - 180.0
        return QPointF(east_deg * self.kx, -(lat - self.lat0) * _M_PER_DEG_LAT)

    def polygon(self, lonlat: Sequence[Sequence[float]]) -> QPolygonF:
        return QPolygonF([self.point(float(lon), float(lat)) for lon, lat in lonlat])

    #: PROJ's equirectangular projection on a sphere whose degree of longitude at the
    #: equator is ``_M_PER_DEG_LON_EQUATOR`` metres: its x is this plane's x exactly,
    #: its y is this plane's ``-y`` times ``Y_FROM_CRS``'s inverse.
    SPHERE_RADIUS_M = _M_PER_DEG_LON_EQUATOR * 180.0 / math.pi
    Y_FROM_CRS = _M_PER_DEG_LAT / _M_PER_DEG_LON_EQUATOR

    def crs(self) -> str:
        """A CRS whose coordinates map linearly onto this plane (:meth:`from_crs`)."""
        return (f"+proj=eqc +lat_ts={self.lat0:.9f} +lat_0={self.lat0:.9f} +lon_0={self.lon0:.9f} "
                f"+x_0=0 +y_0=0 +R={self.SPHERE_RADIUS_M:.4f} +units=m +no_defs +type=crs")

    def from_crs(self, x: float, y: float) -> QPointF:
        """A point of :meth:`crs` in this plane."""
        return QPointF(x, -y * self.Y_FROM_CRS)


class _SiteItem(QGraphicsEllipseItem):
    RADIUS = 6.0

    def __init__(self, site: DamageSite, pos: QPointF) -> None:
        r = self.RADIUS
        super().__init__(-r, -r, 2 * r, 2 * r)
        self.site = site
        #: the highest score threshold it stays on the map at (``MapLayers.site_kept_up_to``)
        self.kept_up_to = 1.0
        self.outline: QGraphicsPolygonItem | None = None
        self.setPos(pos)
        colour = level_colour(site.level)
        self.setBrush(QBrush(colour))
        self.setPen(QPen(QColor(255, 255, 255) if site.reviewed else QColor(20, 20, 20), 1.5))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(5)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.confirmed = True
        #: its best view and best score's times where they are apart (:func:`site_tooltip`)
        self.views_apart_s: tuple[float, float] | None = None
        #: the number of the survey site it is part of (a survey's flight), or None
        self.survey_site_id: int | None = None
        self.update_tooltip()

    def update_tooltip(self) -> None:
        text = site_tooltip(self.site, self.views_apart_s, survey_site_id=self.survey_site_id)
        if not self.confirmed:
            text += "\nunconfirmed: detected in too few of the frames that showed it"
        self.setToolTip(text)

    def show_unconfirmed(self) -> None:
        """Drawn hollow and dashed: detected in too few of the frames that showed it."""
        self.confirmed = False
        pen = QPen(level_colour(self.site.level), 2.0, Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.update_tooltip()


def _views_apart(fused: FusedSite) -> tuple[float, float] | None:
    """A fused site's best view and best score's times where they are apart, as the Sites
    panel's :attr:`core.sites.SiteSummary.best_view_apart` finds them."""
    members = [m for m in fused.members if m.detection.id is not None]
    view = next((m for m in members if m.detection.id == fused.site.best_detection_id), None)
    best = max(members, key=lambda m: float(m.detection.final_score), default=None)
    return views_apart(None if view is None else (float(view.observation.t_s), float(view.detection.final_score)),
                       None if best is None else (float(best.observation.t_s), float(best.detection.final_score)))


def site_tooltip(site: DamageSite, views_apart_s: tuple[float, float] | None = None, *,
                 survey_site_id: int | None = None) -> str:
    """A site as the Sites panel words it (its number, with a survey's flight the survey
    site's beside it, level, best score, sightings and times; ``views_apart_s``: its best
    view and best score's times where apart), then how far its sightings agree on the level."""
    line = site_line(site.id, site.level, site.best_score, site.observation_count,
                     site.frame_count or site.observation_count, site.first_time_s, site.last_time_s,
                     best_view_apart=views_apart_s, survey_site_id=survey_site_id)
    text = f"{line}\nlevel agreement {site.confidence:.0%}"
    if site.reviewed:
        text += " · a reviewer accepted it: kept at any score threshold"
    return text


LonLat = tuple[float, float]


@dataclass(frozen=True)
class HeatImage:
    """A heat grid ready to draw: ``values`` ``float[rows, cols]`` (row 0 north, peak
    above 0) spanning ``north_west`` to ``south_east`` (lon, lat)."""

    values: np.ndarray = field(repr=False)
    north_west: LonLat
    south_east: LonLat


@dataclass(frozen=True)
class MapLayers:
    """What the map panel draws, in lon/lat, whatever it came from.

    Build it with :meth:`from_damage_map` or :meth:`from_track`; the fields are plain
    values, so a test can write one by hand.

    Attributes
    ----------
    source
        The :class:`geo.mapping.DamageMap` or :class:`geo.telemetry.Track` it came from.
    track_segments
        The flight track as ``(lon, lat)`` polylines.
    sites
        The damage sites.
    site_detections
        Per site (same order), the ids of the detections fused into it.
    heat
        The damage density, or ``None``.
    position_at
        Video time (s) -> the drone's ``(lon, lat)``, ``None`` outside the telemetry.
    footprint_at
        Video time (s), range (m) -> the ground the camera sees as a ``(lon, lat)`` ring
        (empty outside the telemetry).
    """

    source: object
    track_segments: tuple[tuple[LonLat, ...], ...]
    sites: tuple[DamageSite, ...] = ()
    site_detections: tuple[frozenset[int], ...] = ()
    #: Per site (same order), the highest score threshold it stays on the map at: its
    #: best score (``DamageSite.best_score``), or 1.0 when a reviewer accepted one of its
    #: sightings (the threshold keeps those whatever their score).
    site_kept_up_to: tuple[float, ...] = ()
    #: per site, whether it is confirmed (``geo.fusion.is_confirmed``); unconfirmed ones
    #: are drawn hollow, on the map only when asked for (``DamageMap.with_unconfirmed``)
    site_confirmed: tuple[bool, ...] = ()
    #: per site, ``(best view's time, best score's time)`` where the site opens at a view
    #: other than its best score's (``core.sites.views_apart``), else ``None``
    site_views_apart: tuple[tuple[float, float] | None, ...] = ()
    #: the unconfirmed sites the map leaves off (its "Show unconfirmed sites" unticked): each
    #: one's sightings and place, so the one the reviewer selects is still ringed where it is
    unconfirmed_left_off: tuple[tuple[frozenset[int], LonLat], ...] = ()
    heat: HeatImage | None = None
    position_at: Callable[[float], LonLat | None] = field(default=lambda _t: None, repr=False)
    footprint_at: Callable[[float, float], list[LonLat]] = field(default=lambda _t, _r: [], repr=False)

    @classmethod
    def from_damage_map(cls, damage_map: DamageMap) -> MapLayers:
        heat = None
        grid = damage_map.heat
        if grid is not None:
            values = np.asarray(grid.values, dtype=np.float64)
            if values.ndim == 2 and values.size and np.isfinite(values).any() and np.nanmax(values) > 0:
                west, south, east, north = grid.bounds_m()
                lon, lat = grid.local.to_lonlat(np.array([west, east]), np.array([north, south]))
                heat = HeatImage(values, (float(lon[0]), float(lat[0])), (float(lon[1]), float(lat[1])))
        return cls(
            source=damage_map,
            track_segments=tuple(tuple(segment) for segment in damage_map.track_segments_lonlat()),
            sites=tuple(damage_map.sites),
            site_detections=tuple(
                frozenset(int(o.detection_id) for o in fused.observations if o.detection_id is not None)
                for fused in damage_map.fused
            ),
            site_kept_up_to=tuple(
                max((1.0 if m.detection.confirmed else float(m.detection.final_score) for m in fused.members),
                    default=1.0)
                for fused in damage_map.fused
            ),
            site_confirmed=tuple(bool(fused.confirmed) for fused in damage_map.fused),
            site_views_apart=tuple(_views_apart(fused) for fused in damage_map.fused),
            unconfirmed_left_off=tuple(
                (frozenset(int(o.detection_id) for o in fused.observations if o.detection_id is not None),
                 (float(fused.site.lon_deg), float(fused.site.lat_deg)))
                for fused in damage_map.unconfirmed
            ),
            heat=heat,
            position_at=damage_map.position_at,
            footprint_at=lambda t_s, range_m: damage_map.camera_footprint_at(t_s, max_range_m=range_m),
        )

    @classmethod
    def from_track(cls, track: Track, *, placed: DamageMap | None = None) -> MapLayers:
        """The flight track alone (before any analysis); with ``placed`` (the track on the
        video's clock, a map of no detection), the drone and its camera's view at each
        moment of the video too."""
        lonlat = np.asarray(track.lonlat(), dtype=np.float64).reshape(-1, 2)
        segment = tuple((float(lon), float(lat)) for lon, lat in lonlat)
        segments = (segment,) if len(segment) > 1 else ()
        if placed is None:
            return cls(source=track, track_segments=segments)
        return cls(source=track, track_segments=segments, position_at=placed.position_at,
                   footprint_at=lambda t_s, range_m: placed.camera_footprint_at(t_s, max_range_m=range_m))


def _basemap_image(basemap: Basemap) -> QImage:
    rgba = np.ascontiguousarray(basemap.image, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class MapWidget(QGraphicsView):
    """Track, drone, footprint, sites and heat of a :class:`geo.mapping.DamageMap` (or
    the track alone), through :class:`MapLayers`.

    Signals
    -------
    site_clicked(int, object)
        The best frame of the clicked site and its best detection id (or ``None``).
    """

    site_clicked = Signal(int, object)

    #: Where an oblique view reaches the horizon, the footprint is cut this far out.
    FOOTPRINT_RANGE_M = 150.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(236, 236, 230))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        # short enough for the window to fit a scaled laptop screen (1280x800 at 150%: 533 logical
        # lines under the video); the legend folds to its heading where the map is too short for it
        self.setMinimumSize(240, 120)
        self._layers: MapLayers | None = None
        self._plane: _Plane | None = None
        self._message = "No project open"
        self._drone: QGraphicsEllipseItem | None = None
        self.heat_item: QGraphicsPixmapItem | None = None
        self.basemap_item: QGraphicsPixmapItem | None = None
        self._basemap: tuple[str, Basemap, QImage] | None = None  # (plane CRS asked for, basemap, image)
        self.building_items: list[QGraphicsPolygonItem] = []
        self._buildings: tuple[BuildingOutline, ...] | None = None
        #: the building items drawn, by what they show (ring, colour, tooltip) on the plane
        #: ``_buildings_plane``: kept over a rebuild, drawn again only where a grade changed
        self._building_drawn: dict[tuple[object, ...], QGraphicsPolygonItem] = {}
        self._buildings_plane: tuple[float, float] | None = None
        #: False: the buildings are drawn in :data:`PLAIN_BUILDING_COLOUR`, their grades
        #: being another run's (:meth:`set_buildings_graded`)
        self._buildings_graded = True
        #: the sites the survey's other flights saw (a survey's flight), drawn hollow
        self.elsewhere_items: list[QGraphicsEllipseItem] = []
        self._elsewhere: tuple[SiteElsewhere, ...] | None = None
        self._in_survey: FlightInSurvey | None = None  # what the survey says of this flight's sites
        self._footprint: QGraphicsPolygonItem | None = None
        self.site_items: list[_SiteItem] = []
        self._site_of_detection: dict[int, _SiteItem] = {}
        self._highlight: QGraphicsEllipseItem | None = None
        self._highlighted_id: int | None = None
        #: detection id -> where its unconfirmed site is, for the sites the map leaves off
        self._left_off_at: dict[int, QPointF] = {}
        self._time_s: float | None = None
        self._threshold = 0.0
        self._fit = True
        self._legend_choice: bool | None = None  # open / folded by a click; None: open when it fits
        self._press_on_legend = False

    def set_score_threshold(self, threshold: float) -> None:
        """Hide the sites that keep no sighting at ``threshold`` (none scores that much,
        and a reviewer accepted none)."""
        self._threshold = float(threshold)
        for item in self.site_items:
            shown = item.kept_up_to >= self._threshold
            item.setVisible(shown)
            if item.outline is not None:
                item.outline.setVisible(shown)
        self.viewport().update()  # the legend says the threshold

    @property
    def visible_sites(self) -> list[DamageSite]:
        return [item.site for item in self.site_items if item.isVisible()]

    @property
    def content(self) -> DamageMap | Track | None:
        """What the panel shows: a damage map, a flight track alone, or nothing."""
        return None if self._layers is None else self._layers.source  # type: ignore[return-value]

    @property
    def layers(self) -> MapLayers | None:
        return self._layers

    @property
    def message(self) -> str:
        return self._message

    def set_map(self, content: DamageMap | Track | None, message: str = "", *,
                placed: DamageMap | None = None) -> None:
        """Show a damage map, or a flight track before any analysis, with ``placed`` its
        drone and camera view along the video (:meth:`MapLayers.from_track`); ``None``
        shows ``message`` instead."""
        from geo.mapping import DamageMap

        if content is None:
            self.set_layers(None, message)
        elif isinstance(content, DamageMap):
            self.set_layers(MapLayers.from_damage_map(content), message)
        else:
            self.set_layers(MapLayers.from_track(content, placed=placed), message)

    def set_layers(self, layers: MapLayers | None, message: str = "") -> None:
        """Draw ``layers`` (``None`` shows ``message`` instead)."""
        scene = self.scene()
        for item in self.building_items:  # kept for the map drawn next (_add_buildings), not deleted with the rest
            scene.removeItem(item)
        scene.clear()
        self._drone = self._footprint = None
        self.heat_item = None
        self.basemap_item = None
        self.building_items = []
        self.elsewhere_items = []
        self.site_items = []
        self._site_of_detection = {}
        self._left_off_at = {}
        self._highlight = None
        self._layers = layers
        self._message = message
        if layers is None:
            self._plane = None
            self._basemap = None
            self._buildings = None
            self._elsewhere = None
            self.viewport().update()
            return
        points = np.array([p for segment in layers.track_segments for p in segment], dtype=np.float64).reshape(-1, 2)
        if not len(points):
            points = np.array([[s.lon_deg, s.lat_deg] for s in layers.sites], dtype=np.float64).reshape(-1, 2)
        if not len(points):
            self._plane = None
            self._message = "The map is empty"
            self.viewport().update()
            return
        lon0 = float(np.mean(display_longitudes(points[:, 0], float(points[0, 0]))))  # across 180° too
        lat0 = float(np.mean(points[:, 1]))
        self._plane = plane = _Plane(lon0, lat0)
        if layers.heat is not None:
            self._add_heat(layers.heat, plane)
        if layers.track_segments:
            path = QPainterPath()
            for segment in layers.track_segments:
                path.moveTo(plane.point(*segment[0]))
                for lon, lat in segment[1:]:
                    path.lineTo(plane.point(lon, lat))
            item = QGraphicsPathItem(path)
            pen = QPen(QColor(40, 90, 200), 2)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setZValue(2)
            scene.addItem(item)
        for site in layers.sites:
            if site.footprint_lonlat:
                outline = QGraphicsPolygonItem(plane.polygon(site.footprint_lonlat))
                colour = level_colour(site.level, 90)
                outline.setBrush(QBrush(colour))
                pen = QPen(level_colour(site.level), 1)
                pen.setCosmetic(True)
                outline.setPen(pen)
                outline.setZValue(3)
                scene.addItem(outline)
            item = _SiteItem(site, plane.point(site.lon_deg, site.lat_deg))
            item.outline = outline if site.footprint_lonlat else None
            scene.addItem(item)
            self.site_items.append(item)
        for kept_up_to, item in zip(layers.site_kept_up_to, self.site_items):
            item.kept_up_to = kept_up_to
        for apart, item in zip(layers.site_views_apart, self.site_items):
            item.views_apart_s = apart
        self._number_in_survey()
        for confirmed, item in zip(layers.site_confirmed, self.site_items):
            if not confirmed:
                item.show_unconfirmed()
        self.set_score_threshold(self._threshold)
        for detection_ids, item in zip(layers.site_detections, self.site_items):
            for detection_id in detection_ids:
                self._site_of_detection[detection_id] = item
        for detection_ids, (lon, lat) in layers.unconfirmed_left_off:
            at = plane.point(lon, lat)
            self._left_off_at.update(dict.fromkeys(detection_ids, at))
        if self._highlighted_id is not None:
            self.highlight_detection(self._highlighted_id)
        self._footprint = QGraphicsPolygonItem()
        pen = QPen(QColor(30, 30, 30), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._footprint.setPen(pen)
        self._footprint.setBrush(QBrush(QColor(255, 255, 255, 50)))
        self._footprint.setZValue(4)
        scene.addItem(self._footprint)
        self._drone = QGraphicsEllipseItem(-7, -7, 14, 14)
        self._drone.setBrush(QBrush(QColor(20, 20, 20)))
        self._drone.setPen(QPen(QColor(255, 255, 255), 2))
        self._drone.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._drone.setZValue(6)
        scene.addItem(self._drone)
        if self._time_s is not None:
            self.set_time(self._time_s)
        # Frame the track, the sites and the footprint now; the view keeps that framing.
        bounds = scene.itemsBoundingRect()
        margin = max(bounds.width(), bounds.height()) * 0.06 + 10
        scene.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))
        if self._basemap is not None and self._basemap[0] == plane.crs():
            self._add_basemap()  # the same plane: the basemap read for it still fits
        else:
            self._basemap = None
        self._add_buildings()  # the last graded ones until the panel gives the new grades
        self._add_elsewhere()
        if self._fit:
            self.fit()

    #: The basemap is read this much wider than the track and the sites.
    BASEMAP_MARGIN_M = 60.0
    #: ... over a box rounded out to this grid (degrees, about 100 m), so the small moves
    #: of sites after an edit keep the basemap already read.
    BASEMAP_GRID_DEG = 0.001

    def basemap_request(self) -> tuple[tuple[float, float, float, float], str] | None:
        """What to read a basemap for: the ``(west, south, east, north)`` lon/lat of the
        track and the sites, rounded out to :attr:`BASEMAP_GRID_DEG`, and the CRS of the
        map's plane (``None``: nothing shown); read it :attr:`BASEMAP_MARGIN_M` wider.
        Across 180° the box is continuous there (east past 180), as the basemap reads it."""
        if self._layers is None or self._plane is None:
            return None
        points = [p for segment in self._layers.track_segments for p in segment]
        points += [(s.lon_deg, s.lat_deg) for s in self._layers.sites]
        lonlat = np.array(points, dtype=np.float64).reshape(-1, 2)
        if not len(lonlat):
            return None
        lon = display_longitudes(lonlat[:, 0], self._plane.lon0)  # across 180°: the area, not the world
        box = bounds_around([[lon.min(), lonlat[:, 1].min(), lon.max(), lonlat[:, 1].max()]], self._plane.lon0)
        grid = self.BASEMAP_GRID_DEG
        west, south = np.floor(np.array(box[:2]) / grid) * grid
        east, north = np.ceil(np.array(box[2:]) / grid) * grid
        return (round(float(west), 6), round(float(south), 6), round(float(east), 6), round(float(north), 6)), \
            self._plane.crs()

    def set_basemap(self, basemap: Basemap | None, crs: str | None = None) -> bool:
        """Draw ``basemap`` (read in ``crs``, as :meth:`basemap_request` said) under the
        map; ``None`` removes it. Returns ``False`` (and draws nothing) when the map's
        plane is no longer ``crs`` (a basemap read for an earlier map)."""
        if self.basemap_item is not None:
            self.scene().removeItem(self.basemap_item)
            self.basemap_item = None
        self._basemap = None
        if basemap is None or self._plane is None or crs != self._plane.crs():
            self.viewport().update()
            return basemap is None
        self._basemap = (crs, basemap, _basemap_image(basemap))
        self._add_basemap()
        self.viewport().update()  # the legend names it
        return True

    def set_buildings(self, buildings: Sequence[BuildingOutline] | None) -> None:
        """Draw graded building footprints (``None``: none) above the basemap, under the
        heat, track and sites, filled in their grade's colour."""
        self._buildings = None if buildings is None else tuple(buildings)
        self._add_buildings()
        self.viewport().update()  # the legend lists their grades

    @property
    def buildings(self) -> tuple[BuildingOutline, ...] | None:
        return self._buildings

    def set_buildings_graded(self, graded: bool) -> None:
        """Fill the buildings in their grade's colour, or (``False``) draw them all in the
        plain footprint style: their grades are another run's than the one analysed now."""
        if graded != self._buildings_graded:
            self._buildings_graded = graded
            self._add_buildings()
            self.viewport().update()  # the legend names the style

    @property
    def buildings_graded(self) -> bool:
        return self._buildings_graded

    def _add_buildings(self) -> None:
        from geo.grading import COLOURS

        scene = self.scene()
        for item in self.building_items:
            if item.scene() is scene:
                scene.removeItem(item)
        self.building_items = []
        drawn, self._building_drawn = self._building_drawn, {}
        if self._buildings is None or self._plane is None:
            return
        plane = (self._plane.lon0, self._plane.lat0)
        if plane != self._buildings_plane:  # another plane: every outline placed anew
            drawn, self._buildings_plane = {}, plane
        graded = self._buildings_graded
        for building in self._buildings:
            colour = COLOURS.get(building.level, "#9e9e9e") if graded else PLAIN_BUILDING_COLOUR
            tooltip = f"Building: {building.label}" if graded else "Building (graded when the analysis ends)"
            for ring in building.rings:
                key = (ring, colour, tooltip)
                item = drawn.pop(key, None)
                if item is None:
                    item = self._building_item(ring, QColor(colour), tooltip)
                self._building_drawn[key] = item
                scene.addItem(item)
                self.building_items.append(item)

    def set_flight_in_survey(self, view: FlightInSurvey | None) -> None:
        """A survey's flight (``None``: none): its sites say the survey site's number beside
        their own, and the sites its other flights saw are drawn (:meth:`set_sites_elsewhere`)."""
        self._in_survey = view
        self._number_in_survey()
        self.set_sites_elsewhere(None if view is None else view.elsewhere)

    def _number_in_survey(self) -> None:
        view = self._in_survey
        for item in self.site_items:
            context = None if view is None else view.site_context(item.site.id, item.site.lon_deg, item.site.lat_deg)
            item.survey_site_id = None if context is None else context.survey_site_id
            item.update_tooltip()

    def _building_item(self, ring: tuple[tuple[float, float], ...], colour: QColor, tooltip: str) -> QGraphicsPolygonItem:
        """One ring of a building outline, in its grade's colour."""
        assert self._plane is not None
        fill = QColor(colour)
        fill.setAlpha(70)
        pen = QPen(colour, 1.5)
        pen.setCosmetic(True)
        item = QGraphicsPolygonItem(self._plane.polygon(ring))
        item.setPen(pen)
        item.setBrush(QBrush(fill))
        item.setZValue(0.5)
        item.setToolTip(tooltip)
        return item

    def set_sites_elsewhere(self, sites: Sequence[SiteElsewhere] | None) -> None:
        """Draw the sites the survey's other flights saw (``None``: none), hollow rings in
        their level's colour under this flight's sites, each naming its flight."""
        self._elsewhere = None if sites is None else tuple(sites)
        self._add_elsewhere()
        self.viewport().update()  # the legend counts them

    @property
    def sites_elsewhere(self) -> tuple[SiteElsewhere, ...] | None:
        return self._elsewhere

    def _add_elsewhere(self) -> None:
        for item in self.elsewhere_items:
            self.scene().removeItem(item)
        self.elsewhere_items = []
        if not self._elsewhere or self._plane is None:
            return
        for site in self._elsewhere:
            item = QGraphicsEllipseItem(-5, -5, 10, 10)
            item.setPos(self._plane.point(site.lon_deg, site.lat_deg))
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            item.setPen(QPen(level_colour(site.level), 2.0))
            item.setBrush(QBrush(QColor(255, 255, 255, 120)))
            item.setZValue(2.5)  # over the track, under this flight's own sites
            when = f" ({site.date[:10]})" if site.date else ""
            decided = ", reviewed" if site.reviewed else ""
            in_survey = "" if site.survey_site_id is None else f" (survey site {site.survey_site_id})"
            item.setToolTip(f"Flight {site.flight}{when}: site {site.site_id}{in_survey}, "
                            f"{site.level.label}{decided}")
            self.scene().addItem(item)
            self.elsewhere_items.append(item)
        # the view can be dragged to them (its framing stays on this flight)
        spots = QPolygonF([item.pos() for item in self.elsewhere_items]).boundingRect()
        margin = max(spots.width(), spots.height()) * 0.06 + 10
        self.scene().setSceneRect(self.scene().sceneRect().united(spots.adjusted(-margin, -margin, margin, margin)))

    @property
    def basemap(self) -> Basemap | None:
        return None if self._basemap is None else self._basemap[1]

    def _add_basemap(self) -> None:
        assert self._basemap is not None and self._plane is not None
        _crs, basemap, image = self._basemap
        west, south, east, north = basemap.bounds
        top_left = self._plane.from_crs(west, north)
        bottom_right = self._plane.from_crs(east, south)
        item = QGraphicsPixmapItem(QPixmap.fromImage(image))
        item.setPos(top_left)
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        item.setTransform(QTransform.fromScale((bottom_right.x() - top_left.x()) / image.width(),
                                               (bottom_right.y() - top_left.y()) / image.height()))
        item.setZValue(0)
        item.setToolTip(f"Basemap: {Path(basemap.source).name}")
        self.scene().addItem(item)
        self.basemap_item = item

    def _add_heat(self, heat: HeatImage, plane: _Plane) -> None:
        """The heat grid as a translucent image."""
        values = heat.values
        norm = np.clip(np.nan_to_num(values) / np.nanmax(values), 0.0, 1.0)
        rgba = np.zeros(norm.shape + (4,), dtype=np.uint8)
        rgba[..., 0] = 255
        rgba[..., 1] = (210 * (1 - norm)).astype(np.uint8)
        rgba[..., 3] = (160 * np.sqrt(norm)).astype(np.uint8)
        rgba = np.ascontiguousarray(rgba)
        h, w = norm.shape
        image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        item = QGraphicsPixmapItem(QPixmap.fromImage(image))
        top_left = plane.point(*heat.north_west)
        bottom_right = plane.point(*heat.south_east)
        item.setPos(top_left)
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        item.setTransform(QTransform.fromScale((bottom_right.x() - top_left.x()) / w, (bottom_right.y() - top_left.y()) / h))
        item.setZValue(1)
        self.scene().addItem(item)
        self.heat_item = item

    def set_time(self, t_s: float) -> None:
        """Move the drone and its camera footprint to video time ``t_s``."""
        self._time_s = t_s
        if self._layers is None or self._plane is None or self._drone is None or self._footprint is None:
            return
        position = self._layers.position_at(t_s)
        ring = self._layers.footprint_at(t_s, self.FOOTPRINT_RANGE_M)
        if position is not None:
            self._drone.setPos(self._plane.point(*position))
            self._drone.setVisible(True)
        else:
            self._drone.setVisible(False)
        if len(ring) >= 3:
            self._footprint.setPolygon(self._plane.polygon(ring))
            self._footprint.setVisible(True)
        else:
            self._footprint.setVisible(False)

    def highlight_detection(self, detection_id: int | None) -> _SiteItem | None:
        """Ring the site a detection was fused into (the selection in the review table).

        An unconfirmed site the map leaves off ("Show unconfirmed sites" unticked) is
        ringed too, dashed, where it is: the Sites list goes on to those once the map's
        are decided, and the map showed no ring for any of them."""
        self._highlighted_id = detection_id
        item = None if detection_id is None else self._site_of_detection.get(int(detection_id))
        left_off = None if item is not None or detection_id is None else self._left_off_at.get(int(detection_id))
        if item is None and left_off is None:
            if self._highlight is not None:
                self._highlight.setVisible(False)
            return None
        if self._highlight is None:
            self._highlight = QGraphicsEllipseItem(-11, -11, 22, 22)
            self._highlight.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            self._highlight.setZValue(7)
            self.scene().addItem(self._highlight)
        style = Qt.PenStyle.SolidLine if left_off is None else Qt.PenStyle.DashLine
        self._highlight.setPen(QPen(QColor(255, 230, 0), 3, style))
        self._highlight.setToolTip("" if left_off is None else
                                   "An unconfirmed site, left off the map (Show unconfirmed sites draws them)")
        self._highlight.setPos(item.pos() if item is not None else left_off)
        self._highlight.setVisible(True)
        return item

    @property
    def ringed_left_off(self) -> QPointF | None:
        """Where the ring is when it marks an unconfirmed site the map leaves off."""
        if self._highlight is None or not self._highlight.isVisible() or self._highlighted_id is None:
            return None
        if int(self._highlighted_id) in self._site_of_detection:
            return None
        return self._left_off_at.get(int(self._highlighted_id))

    @property
    def highlighted_site(self) -> DamageSite | None:
        if self._highlight is None or not self._highlight.isVisible() or self._highlighted_id is None:
            return None
        item = self._site_of_detection.get(int(self._highlighted_id))
        return None if item is None else item.site

    @property
    def drone_item(self) -> QGraphicsEllipseItem | None:
        return self._drone

    @property
    def footprint_item(self) -> QGraphicsPolygonItem | None:
        return self._footprint

    def fit(self) -> None:
        self._fit = True
        if self._plane is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self._fit = False
            self.scale(1.25**steps, 1.25**steps)
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press_on_legend = (event.button() == Qt.MouseButton.LeftButton and self._plane is not None
                                 and self.legend_rect().contains(event.position()))
        if self._press_on_legend:  # a click on the legend folds or opens it, and drags nothing
            self.toggle_legend()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._press_on_legend:
            self._press_on_legend = False
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = event.position().toPoint()
        where = self.mapToScene(point)
        under = [item for item in self.items(point) if isinstance(item, _SiteItem) and item.isVisible()]
        if under:  # dots overlap where sites are close: the one whose centre is nearest the click
            nearest = min(under, key=lambda i: (i.scenePos().x() - where.x()) ** 2 + (i.scenePos().y() - where.y()) ** 2)
            self.click_site(nearest.site)

    def click_site(self, site: DamageSite) -> None:
        self.site_clicked.emit(int(site.best_frame), site.best_detection_id)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        painter.save()
        painter.resetTransform()
        font = QFont()
        font.setPixelSize(12)
        painter.setFont(font)
        if self._plane is None:
            painter.setPen(QColor(60, 60, 60))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            painter.restore()
            return
        self._draw_legend(painter)
        self._draw_scale_bar(painter)
        painter.restore()

    #: The legend's rows, in order.
    LEGEND = ("Slight", "Severe", "Debris", "reviewed site", "flight track", "drone", "camera view", "damage heat")

    def legend_rows(self) -> list[str]:
        """The legend's rows now: :attr:`LEGEND` and the basemap's file when one is drawn."""
        rows = list(self.LEGEND)
        if any(not item.confirmed for item in self.site_items):
            rows.insert(rows.index("reviewed site") + 1, "unconfirmed site")
        if self._buildings and self._buildings_graded:
            rows += ["building: no visible damage", "building: not assessed"]
        elif self._buildings:
            rows.append("building: not graded yet")
        if self.elsewhere_items:
            rows.append(f"other flights' sites ({len(self.elsewhere_items)})")
        if self._basemap is not None:
            rows.append(f"basemap: {Path(self._basemap[1].source).name}")
        return rows

    #: where the legend's box starts (viewport pixels) and the height of one of its rows
    _LEGEND_ORIGIN = (10, 10)
    _LEGEND_ROW = 17

    @property
    def legend_open(self) -> bool:
        """Whether the legend shows its rows or only its heading. Until it is clicked it is
        open where it takes at most half the map's height, so a short map panel keeps its
        map (and its scale bar) in view."""
        if self._legend_choice is not None:
            return self._legend_choice
        rows = len(self.legend_rows()) + 1
        return 2 * (self._LEGEND_ORIGIN[1] + rows * self._LEGEND_ROW) <= self.viewport().height()

    def toggle_legend(self) -> None:
        """Fold an open legend to its heading, or open a folded one (what a click on it does)."""
        self._legend_choice = not self.legend_open
        self.viewport().update()

    def _legend_heading(self) -> str:
        heading = f"Sites scoring ≥ {self._threshold:.2f}" if self._threshold > 0 else "Sites"
        return ("▾ " if self.legend_open else "▸ ") + heading + ("" if self.legend_open else " · legend")

    def legend_rect(self) -> QRectF:
        """The legend's box in viewport pixels (its heading alone when folded)."""
        font = QFont()
        font.setPixelSize(12)
        metrics = QFontMetrics(font)
        x, y = self._LEGEND_ORIGIN
        rows = self.legend_rows() if self.legend_open else []
        width = max(120, metrics.horizontalAdvance(self._legend_heading()) + 12,
                    *(metrics.horizontalAdvance(name) + 30 for name in rows))
        return QRectF(x - 4, y - 4, width, (len(rows) + 1) * self._LEGEND_ROW + 6)

    def _draw_legend(self, painter: QPainter) -> None:
        """What each mark means, with the score the sites are shown from."""
        (x, y), row = self._LEGEND_ORIGIN, self._LEGEND_ROW
        rows = self.legend_rows() if self.legend_open else []
        painter.fillRect(self.legend_rect(), QColor(255, 255, 255, 215))
        painter.setPen(QColor(20, 20, 20))
        painter.drawText(QPointF(x, y + 12), self._legend_heading())
        for i, name in enumerate(rows, start=1):
            top = y + i * row
            icon = QRectF(x, top + 2, 11, 11)
            painter.setPen(QPen(QColor(20, 20, 20), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if name in ("Slight", "Severe", "Debris"):
                painter.setBrush(level_colour(DamageLevel.parse(name)))
                painter.drawEllipse(icon)
            elif name == "reviewed site":
                painter.setBrush(QColor(160, 160, 160))
                painter.setPen(QPen(QColor(255, 255, 255), 1.5))
                painter.drawEllipse(icon)
            elif name == "unconfirmed site":
                painter.setPen(QPen(QColor(90, 90, 90), 1.5, Qt.PenStyle.DashLine))
                painter.drawEllipse(icon)
            elif name == "flight track":
                painter.setPen(QPen(QColor(40, 90, 200), 2))
                painter.drawLine(QPointF(icon.left(), icon.center().y()), QPointF(icon.right(), icon.center().y()))
            elif name == "drone":
                painter.setBrush(QColor(20, 20, 20))
                painter.drawEllipse(icon)
            elif name == "camera view":
                painter.setPen(QPen(QColor(30, 30, 30), 1, Qt.PenStyle.DashLine))
                painter.setBrush(QColor(255, 255, 255, 50))
                painter.drawPolygon(QPolygonF([icon.bottomLeft(), icon.topLeft() + QPointF(-1, 0),
                                               icon.topRight() + QPointF(1, 0), icon.bottomRight()]))
            elif name.startswith("building: "):
                from geo.grading import COLOURS, NONE, NOT_ASSESSED

                colour = QColor(PLAIN_BUILDING_COLOUR if name.endswith("not graded yet")
                                else COLOURS[NONE if name.endswith("no visible damage") else NOT_ASSESSED])
                painter.setPen(QPen(colour, 1.5))
                colour.setAlpha(70)
                painter.setBrush(colour)
                painter.drawRect(icon)
            elif name.startswith("other flights' sites"):
                painter.setPen(QPen(QColor(90, 90, 90), 2))
                painter.setBrush(QColor(255, 255, 255))
                painter.drawEllipse(icon.adjusted(1, 1, -1, -1))
            elif name.startswith("basemap: ") and self._basemap is not None:
                painter.drawImage(icon, self._basemap[2])
                painter.drawRect(icon)
            else:
                painter.fillRect(icon, QColor(255, 120, 0, 150))
            painter.setPen(QColor(20, 20, 20))
            painter.drawText(QPointF(x + 18, top + 12), name)

    def _draw_scale_bar(self, painter: QPainter) -> None:
        metres_per_px = 1.0 / max(1e-9, self.transform().m11())
        target = metres_per_px * 100
        nice = 10 ** math.floor(math.log10(target)) if target > 0 else 1
        for factor in (5, 2, 1):
            if nice * factor <= target:
                nice *= factor
                break
        length_px = nice / metres_per_px
        x0 = 12
        y0 = self.viewport().height() - 14
        painter.setPen(QPen(QColor(20, 20, 20), 2))
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + length_px, y0))
        painter.drawLine(QPointF(x0, y0 - 4), QPointF(x0, y0 + 1))
        painter.drawLine(QPointF(x0 + length_px, y0 - 4), QPointF(x0 + length_px, y0 + 1))
        label = f"{nice:g} m" if nice < 1000 else f"{nice / 1000:g} km"
        painter.drawText(QPointF(x0 + length_px + 6, y0 + 4), label)
