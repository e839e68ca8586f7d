"""Building footprints from the user: GeoJSON, GeoPackage, Shapefile or an OpenStreetMap extract.

Read with pyogrio (GDAL): any polygon layer in a CRS GDAL knows is reprojected to WGS84.
An OpenStreetMap ``.osm.pbf`` (or ``.osm``) extract is read with GDAL's own OSM driver
(the ``multipolygons`` layer, features tagged ``building``), so no extra reader is needed.
Each footprint keeps an id: the layer's ``id``/``osm_id``/``osm_way_id``/``fid`` column
when there is one, else its 1-based row number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError, first_line

#: Columns tried, in order, for a footprint's id.
ID_COLUMNS = ("id", "building_id", "osm_id", "osm_way_id", "@id", "fid", "FID", "OBJECTID")
#: The columns of a footprints file a graded building carries on (its name and postal
#: address, OpenStreetMap's keys): what sends a relief team to the right door. A file's
#: ``addr_street`` (a shapefile cannot hold ``:``) counts as ``addr:street``; an
#: OpenStreetMap extract read with GDAL keeps them in ``other_tags``.
ADDRESS_COLUMNS = ("name", "addr:housenumber", "addr:street", "addr:place", "addr:postcode", "addr:city")
#: Footprints larger than this (m^2) are not buildings (a landuse polygon, a campus).
MAX_AREA_M2 = 50_000.0
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")


@dataclass(frozen=True, eq=False)
class Footprints:
    """Building outlines in WGS84 lon/lat.

    ``ids[k]`` names ``polygons[k]`` (a shapely Polygon, exterior counter-clockwise);
    ``heights_m[k]`` is its height when the file gives one (``height``, ``building:levels``
    x 3 m), else ``None``; ``attributes[k]`` holds the file's other columns as text.
    """

    source: str
    ids: tuple[str, ...]
    polygons: tuple[object, ...] = field(repr=False)
    heights_m: tuple[float | None, ...] = field(repr=False)
    attributes: tuple[dict, ...] = field(repr=False, default=())
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_polygons(cls, polygons_lonlat, ids=None, *, source: str = "given",
                      heights_m=None) -> Footprints:
        """Footprints from shapely polygons (or rings of ``(lon, lat)``) already in WGS84."""
        from shapely.geometry import Polygon
        from shapely.geometry.polygon import orient

        shapes = []
        for item in polygons_lonlat:
            polygon = item if hasattr(item, "geom_type") else Polygon(item)
            shapes.append(orient(polygon, 1.0))
        ids = tuple(str(i) for i in ids) if ids is not None else tuple(str(k + 1) for k in range(len(shapes)))
        heights = tuple(heights_m) if heights_m is not None else tuple(None for _ in shapes)
        return cls(source, ids, tuple(shapes), heights, tuple({} for _ in shapes))


def is_osm_file(path: str | Path) -> bool:
    """A footprints file read as an OpenStreetMap extract (``.osm``, ``.osm.pbf``)."""
    name = Path(str(path)).name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def _height(row) -> float | None:  # noqa: ANN001 - a pandas row
    import math

    if not hasattr(row, "get"):
        return None
    tags = _other_tags(row.get("other_tags"))  # an OSM file's height and levels are here
    for key, scale in (("height", 1.0), ("building:height", 1.0), ("building_levels", 3.0),
                       ("building:levels", 3.0), ("levels", 3.0)):
        value = row.get(key)
        if value is None or is_missing(value):
            value = tags.get(key)
        if value is None:
            continue
        try:
            number = float(str(value).replace("m", "").strip()) * scale
        except ValueError:
            continue
        if math.isfinite(number) and 0.0 < number < 500.0:
            return number
    return None


def read_footprints(path: str | Path, *, bbox_lonlat: tuple[float, float, float, float] | None = None) -> Footprints:
    """The building polygons of a vector file, in WGS84; with ``bbox_lonlat`` (west,
    south, east, north), only those meeting it (a city-wide file is read for the area
    flown, not whole).

    A file of several layers (a GeoPackage extract with roads, landuse and buildings) is
    read from its polygon layers (:func:`footprint_layers`).

    Raises
    ------
    InputError
        Naming the file: missing, unreadable, without a CRS (other than GeoJSON, which is
        WGS84 by definition), or holding no polygon.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such footprints file")
    notes: list[str] = []
    layers: tuple[str, ...] = ()
    layer_count = 1
    try:
        if is_osm_file(path):
            frame = _read_osm_multipolygons(path, bbox_lonlat)
            if "building" in frame.columns:
                frame = frame[frame["building"].notna()]
            else:  # GDAL keeps unknown tags in other_tags: '"building"=>"yes",...'
                tags = frame.get("other_tags")
                frame = frame[tags.fillna("").str.contains('"building"=>', regex=False)] if tags is not None else frame[:0]
            notes.append("OpenStreetMap buildings read with GDAL's OSM driver")
        else:
            layer_count = len(_layer_table(path))
            layers = footprint_layers(path)
            frames = [_read_layer(path, layer, bbox_lonlat) for layer in layers]
            frame = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(pd.concat(frames, ignore_index=True),
                                                                         geometry="geometry", crs="EPSG:4326")
            if layer_count > 1:
                notes.append(f"footprints read from the layer{'s' if len(layers) > 1 else ''} {', '.join(layers)} "
                             f"(of the file's {layer_count})")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read footprints ({first_line(exc)})") from None
    if frame.crs is None:  # (each layer read was given one)
        frame = frame.set_crs("EPSG:4326")
    frame = frame.to_crs("EPSG:4326")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if frame.empty:
        where = " over the area flown" if bbox_lonlat is not None else ""
        which = f"the layer{'s' if len(layers) > 1 else ''} {', '.join(layers)}" if layer_count > 1 else "the file"
        raise InputError(f"{path}: no building polygons in {which}{where}")
    id_column = next((c for c in ID_COLUMNS if c in frame.columns and frame[c].notna().all()
                      and frame[c].astype(str).is_unique), None)
    return _from_frame(frame, id_column, str(path), notes)


def _read_osm_multipolygons(path: Path, bbox_lonlat):  # noqa: ANN001, ANN202 - a GeoDataFrame
    """The ``multipolygons`` layer of an OpenStreetMap file.

    GDAL's fast node index refuses negative ids, which JOSM gives the objects a mapper
    traced and has not uploaded; such a file is read again with its slower index, which
    takes any id.
    """
    import geopandas as gpd
    import pyogrio

    try:
        return _read_within(lambda box, **kw: gpd.read_file(path, layer="multipolygons", engine="pyogrio",
                                                            bbox=box, **kw), bbox_lonlat)
    except pyogrio.errors.DataLayerError as exc:
        if "CUSTOM_INDEXING" not in str(exc):
            raise
        return _read_within(lambda box, **kw: gpd.read_file(path, layer="multipolygons", engine="pyogrio",
                                                            bbox=box, USE_CUSTOM_INDEXING="NO", **kw), bbox_lonlat)


def _read_within(read, bbox_lonlat):  # noqa: ANN001, ANN202 - read(box, **options) -> a GeoDataFrame
    """``read(box)`` for ``bbox_lonlat``; across 180° (east past 180,
    :func:`geo.antimeridian.bounds_around`) once each side of it and put together, a
    feature met by both read once."""
    import pandas as pd

    from geo.antimeridian import split_bounds

    boxes = None if bbox_lonlat is None else split_bounds(bbox_lonlat)
    if boxes is None or len(boxes) == 1:
        return read(bbox_lonlat if boxes is None else boxes[0])
    frames = [read(box, fid_as_index=True) for box in boxes]
    joined = pd.concat(frames)
    joined = joined[~joined.index.duplicated()].reset_index(drop=True)
    return type(frames[0])(joined, geometry=frames[0].geometry.name, crs=frames[0].crs)


def _layer_table(path: Path) -> list[tuple[str, str | None]]:
    """``(name, geometry type)`` of each layer of the file (type ``None``: a table
    without geometry)."""
    import pyogrio

    return [(str(name), None if kind is None else str(kind)) for name, kind in pyogrio.list_layers(path)]


def footprint_layers(path: str | Path) -> tuple[str, ...]:
    """The layers of a vector file that hold the building outlines: its only layer; else
    its polygon layers, those named like buildings if any are (else all of them); else
    the layers whose geometry type is not declared (mixed, e.g. GeoJSON), which may hold
    polygons.

    Raises
    ------
    InputError
        Naming the file and its layers when none of them can hold polygons.
    pyogrio.errors.DataSourceError
        If the file cannot be opened.
    """
    path = Path(path)
    table = _layer_table(path)
    if len(table) == 1:
        return (table[0][0],)
    polygons = [name for name, kind in table if kind is not None and "polygon" in kind.lower()]
    undeclared = [name for name, kind in table
                  if kind is not None and kind.lower() in ("unknown", "geometrycollection")]
    chosen = polygons or undeclared
    if not chosen:
        listed = ", ".join(f"{name} ({kind or 'no geometry'})" for name, kind in table) or "none"
        raise InputError(f"{path}: no layer of building polygons in the file; its layers: {listed}")
    buildings = [name for name in chosen if "building" in name.lower()]
    return tuple(buildings or chosen)


def _read_layer(path: Path, layer: str, bbox_lonlat):  # noqa: ANN001, ANN202 - a GeoDataFrame in WGS84
    """One layer of the file (the part meeting ``bbox_lonlat``), in WGS84."""
    import warnings

    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="More than one layer found")
        frame = _read_within(lambda box, **kw: gpd.read_file(path, layer=layer, engine="pyogrio",
                                                             bbox=_bbox_in_file_crs(path, box, layer), **kw),
                             bbox_lonlat)
    if frame.crs is None:
        if path.suffix.lower() in (".geojson", ".json"):
            frame = frame.set_crs("EPSG:4326")
        else:
            raise InputError(f"{path}: the footprints have no coordinate reference system (a Shapefile needs its .prj)")
    return frame.to_crs("EPSG:4326")


def check_footprints(path: str | Path, *, max_features: int = 10_000) -> None:
    """Refuse a footprints file that cannot give buildings, reading as little as can
    tell: that it opens, which layers hold the outlines, their CRS, and the geometry of
    their first ``max_features`` features (a file refused here would fail every export
    that reads it).

    Raises
    ------
    InputError
        Naming the file and the problem.
    """
    import warnings

    import pyogrio

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such footprints file")
    try:
        if is_osm_file(path):
            names = [name for name, _ in _layer_table(path)]
            if "multipolygons" not in names:
                raise InputError(f"{path}: not an OpenStreetMap extract with buildings (no multipolygons layer)")
            return
        layers = footprint_layers(path)
        looked_at = 0
        for layer in layers:
            info = pyogrio.read_info(path, layer=layer)
            if not info.get("crs") and path.suffix.lower() not in (".geojson", ".json"):
                raise InputError(f"{path}: the footprints have no coordinate reference system "
                                 "(a Shapefile needs its .prj)")
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="More than one layer found")
                first = pyogrio.read_dataframe(path, layer=layer, columns=[], max_features=max_features)
            if first.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).any():
                return
            looked_at += len(first)
            if len(first) >= max_features:
                return  # more features than looked at: the export will tell
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read footprints ({first_line(exc)})") from None
    holds = f"its {looked_at} features are not polygons" if looked_at else "it holds no features"
    raise InputError(f"{path}: no building polygons in the file ({holds})")


def _bbox_in_file_crs(path: Path, bbox_lonlat, layer: str | None = None):  # noqa: ANN001, ANN202
    """``bbox_lonlat`` in the CRS of the file's ``layer`` (what pyogrio filters in)."""
    if bbox_lonlat is None:
        return None
    import pyogrio
    from pyproj import CRS, Transformer

    crs = pyogrio.read_info(path, layer=layer).get("crs")
    if not crs:
        return tuple(bbox_lonlat)
    to_file = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs), always_xy=True)
    return tuple(float(v) for v in to_file.transform_bounds(*bbox_lonlat))


def _from_frame(frame, id_column: str | None, source: str, notes: list[str]) -> Footprints:  # noqa: ANN001
    from shapely.geometry.polygon import orient

    from geo.local import LocalFrame

    centre = frame.geometry.union_all().centroid if hasattr(frame.geometry, "union_all") else frame.unary_union.centroid
    local = LocalFrame.around(float(centre.x), float(centre.y))
    ids, polygons, heights, attributes = [], [], [], []
    too_large = 0
    for k, (index, row) in enumerate(frame.iterrows()):
        geometry = row.geometry
        if not geometry.is_valid:
            geometry = geometry.buffer(0)
        parts = list(getattr(geometry, "geoms", [geometry]))
        parts = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
        if not parts:
            continue
        polygon = max(parts, key=lambda p: p.area)  # a building is one outline; keep the largest part
        east, north = local.to_local(*polygon.exterior.xy)
        from shapely.geometry import Polygon

        if Polygon(zip(east, north)).area > MAX_AREA_M2:
            too_large += 1
            continue
        ids.append(str(row[id_column]) if id_column else str(k + 1))
        polygons.append(orient(polygon, 1.0))
        heights.append(_height(row))
        attributes.append({c: (None if is_missing(row[c]) else str(row[c])) for c in frame.columns
                           if c not in ("geometry", id_column)})
    if too_large:
        notes.append(f"{too_large} polygons larger than {MAX_AREA_M2:,.0f} m^2 left out (not buildings)")
    if not ids:
        raise InputError(f"{source}: no building polygons in the file")
    return Footprints(source, tuple(ids), tuple(polygons), tuple(heights), tuple(attributes), tuple(notes))


def _other_tags(text) -> dict[str, str]:  # noqa: ANN001 - a cell: text, or missing (None, NaN)
    """GDAL's ``other_tags`` of an OpenStreetMap feature (``"addr:street"=>"Rue Pavée",...``) as a dict."""
    import re

    if not isinstance(text, str) or not text:
        return {}
    pattern = r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"'
    return {key.replace('\\"', '"'): value.replace('\\"', '"') for key, value in re.findall(pattern, text)}


def address_of(attributes: dict) -> dict[str, str | None]:
    """The :data:`ADDRESS_COLUMNS` of a footprint's ``attributes`` (:attr:`Footprints.attributes`),
    each ``None`` where the file gives none."""
    tags = _other_tags(attributes.get("other_tags"))
    address: dict[str, str | None] = {}
    for key in ADDRESS_COLUMNS:
        value = next((v for v in (attributes.get(key), attributes.get(key.replace(":", "_")), tags.get(key))
                      if v not in (None, "")), None)
        address[key] = value
    return address


def address_text(address: dict) -> str:
    """One line a person reads: "12 Rue Pavée, 75004 Paris" (house number first), or ""."""
    street = " ".join(v for v in (address.get("addr:housenumber"), address.get("addr:street") or
                                  address.get("addr:place")) if v)
    town = " ".join(v for v in (address.get("addr:postcode"), address.get("addr:city")) if v)
    return ", ".join(v for v in (street, town) if v)


def is_missing(value) -> bool:  # noqa: ANN001
    """A table's empty cell: None, NaN, pandas' NA or NaT (anything else, a list too, is a value)."""
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


__all__ = ["ADDRESS_COLUMNS", "Footprints", "address_of", "address_text", "check_footprints", "footprint_layers",
           "is_missing", "is_osm_file", "read_footprints"]
