"""GeoJSON (RFC 7946), GeoPackage, KML and CSV writers over :mod:`geo.export.records`."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import TYPE_CHECKING

from core.types import DamageLevel
from geo.antimeridian import antimeridian_safe
from geo.export._atomic import atomic_path, utf8_safe, write_bytes_atomic, write_text_atomic
from geo.export.labels import AREA_FILMED, FRAME_FIELDS_FROM_ZERO, FRAMES_FROM_ONE, heading
from geo.export.records import (
    DATETIME_COLUMNS,
    LAYER_DESCRIPTIONS,
    LAYER_GEOMETRY_TYPES,
    LAYERS,
    SITE_LAYER_SCHEMAS,
    Record,
    as_declared,
    jump_records,
    site_records,
    track_records,
)
from geo.mapping import DamageMap
from geo.uncertainty import PARTS

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping
    from typing import Any

    from shapely.geometry import LineString, Point


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: Decimals of a longitude or latitude in every vector file: 1e-8 degree, about 1 mm.
COORDINATE_DECIMALS = 8


def file_geometry(geometry, geometry_type: str | None):  # noqa: ANN001, ANN201 - shapely geometries
    """``geometry`` as the GeoJSON and GeoPackage write it: split where it crosses 180
    degrees (:func:`geo.antimeridian.antimeridian_safe`), its coordinates to
    :data:`COORDINATE_DECIMALS` (snapped to that grid, so a polygon stays valid), its
    exterior rings counter-clockwise (RFC 7946) and of the layer's ``geometry_type``
    (:func:`geo.export.records.as_declared`)."""
    import shapely

    geometry = antimeridian_safe(geometry)
    if geometry is None:
        return None
    snapped = shapely.set_precision(geometry, 10.0 ** -COORDINATE_DECIMALS)
    if snapped.is_empty and not geometry.is_empty:  # shorter or smaller than the grid: it collapsed
        if geometry.geom_type not in ("LineString", "MultiLineString"):
            return None  # a polygon under a square millimetre: unlocated, as a file writes it
        # a drone that hovered the whole clip: its track is its one place, each point rounded
        snapped = shapely.set_precision(geometry, 10.0 ** -COORDINATE_DECIMALS, mode="pointwise")
    return as_declared(shapely.orient_polygons(snapped), geometry_type)


def feature_collection(records: list[Record], *, name: str, geometry_type: str | None = None) -> dict:
    """``records`` as a FeatureCollection; each geometry as ``geometry_type`` (default: the
    layer ``name``'s in :data:`LAYER_GEOMETRY_TYPES`; none: as it is)."""
    from shapely.geometry import mapping

    geometry_type = geometry_type or LAYER_GEOMETRY_TYPES.get(name)
    features = []
    for props, geometry in records:
        # None: unlocated (RFC 7946 3.2); split where it crosses 180 degrees (3.1.9)
        geometry = file_geometry(geometry, geometry_type)
        feature = {"type": "Feature", "properties": {k: _clean(v) for k, v in props.items()},
                   "geometry": None if geometry is None else mapping(geometry)}
        if "id" in props:
            feature["id"] = props["id"]
        features.append(feature)
    return {"type": "FeatureCollection", "name": name, "features": features}


def write_geojson(path: Path, records: list[Record], *, name: str, geometry_type: str | None = None) -> Path:
    """RFC 7946 GeoJSON: WGS84 lon/lat, no ``crs`` member, counter-clockwise exteriors;
    every feature of the layer's one geometry type (:func:`feature_collection`)."""
    text = json.dumps(feature_collection(records, name=name, geometry_type=geometry_type), ensure_ascii=False,
                      separators=(",", ":"))
    return write_text_atomic(path, text)


def _gpkg_timestamp(damage_map: DamageMap) -> str:
    """The ``last_change`` written into the GeoPackage: the recording's UTC start when
    known, else the Unix epoch; never the clock, so the same map gives the same file."""
    import datetime as dt

    seconds = damage_map.recording_start_utc() or 0.0
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@contextmanager
def _gdal_option(name: str, value: str) -> Iterator[None]:
    import pyogrio

    previous = pyogrio.get_gdal_config_option(name)
    pyogrio.set_gdal_config_options({name: value})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({name: previous})


def write_gpkg_layer(path: Path, layer: str, records: list[Record], *, append: bool,
                     schema: tuple[dict[str, str], str] | None = None) -> None:
    """``records`` as the GeoPackage layer ``layer`` (EPSG:4326), text columns as strings;
    ``append`` adds it to the file, otherwise the file is started anew. A layer of sites
    with no record is written empty with its columns: ``schema`` (columns and geometry
    type, as in :data:`SITE_LAYER_SCHEMAS`), else the layer's in :data:`SITE_LAYER_SCHEMAS`.
    The layer declares its type in :data:`LAYER_GEOMETRY_TYPES`, its features made so,
    whatever this map holds, their coordinates as the GeoJSON's (:func:`file_geometry`)."""
    import geopandas as gpd
    import pandas as pd

    schema = schema or SITE_LAYER_SCHEMAS.get(layer)
    if not records and schema is not None:
        _write_empty_layer(path, layer, schema, append=append)
        return
    geometry_type = LAYER_GEOMETRY_TYPES.get(layer)
    rows = [dict(p) for p, _ in records]
    geometries = [file_geometry(g, geometry_type) for _, g in records]
    frame = utf8_frame(gpd.GeoDataFrame(rows, geometry=geometries, crs="EPSG:4326"))
    for column, values in _column_values(rows).items():
        numbers = [v for v in values if v is not None]
        times = all(isinstance(v, str) and _ISO_TIME.fullmatch(v) for v in numbers)
        if times and (numbers or column in DATETIME_COLUMNS):
            # DATETIME, which a GIS filters as times, not TEXT (a time column: empty or not)
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        elif numbers and len(numbers) < len(values) and all(isinstance(v, int) and not isinstance(v, bool)
                                                            for v in numbers):
            frame[column] = frame[column].astype("Int64")  # not REAL (3.0, 125.0) for the None among them
    for column in _text_columns(frame):
        frame[column] = frame[column].astype("string")
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", mode="a" if append else "w",
                  dataset_options=_dataset_options(append), layer_options=_layer_options(layer),
                  **({"geometry_type": geometry_type} if geometry_type else {}))


#: The GeoPackage version our files declare (``application_id`` "GPKG", ``user_version``
#: 10200). GDAL 3.11 and later write 1.4 unless told: ArcGIS Pro 3.1 and earlier know
#: versions up to 1.3, and a GDAL older than the file (an older QGIS's) opens it with a
#: warning that it "may only be partially supported" (GDAL before 3.2 says so of 1.3 too).
#: Our layers (points, lines and polygons in WGS84, text, numbers and times) use nothing
#: 1.3 or 1.4 added, so 1.2 declares what they are to every reader.
GPKG_VERSION = "1.2"


def _dataset_options(append: bool) -> dict[str, str]:
    """A new file's GeoPackage version (:data:`GPKG_VERSION`); nothing for a layer added."""
    return {} if append else {"VERSION": GPKG_VERSION}


def _layer_options(layer: str) -> dict[str, str]:
    """The GeoPackage layer's description (:data:`LAYER_DESCRIPTIONS`), when it has one."""
    description = LAYER_DESCRIPTIONS.get(layer)
    return {"DESCRIPTION": description} if description else {}


_DTYPES = {"int": "int64", "float": "float64", "str": "string", "bool": "bool", "datetime": "datetime64[ns, UTC]"}


def _write_empty_layer(path: Path, layer: str, schema: tuple[dict[str, str], str], *, append: bool) -> None:
    import geopandas as gpd
    import pandas as pd

    columns, geometry_type = schema
    frame = gpd.GeoDataFrame({name: pd.Series([], dtype=_DTYPES[kind]) for name, kind in columns.items()},
                             geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", mode="a" if append else "w",
                  geometry_type=geometry_type, dataset_options=_dataset_options(append),
                  layer_options=_layer_options(layer))


#: An ISO 8601 time with its zone, as the exports write times (``2018-10-12T15:00:04.500+00:00``).
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _column_values(rows: list[dict]) -> dict[str, list]:
    """Each column of ``rows``, by name, with its value in every row (``None`` where a row
    has none)."""
    keys = sorted({key for row in rows for key in row})
    return {key: [row.get(key) for row in rows] for key in keys}


def _text_columns(frame) -> list[str]:  # noqa: ANN001 - a GeoDataFrame
    from pandas.api.types import is_string_dtype

    return [c for c in frame.columns if c != "geometry" and (frame[c].dtype == object or is_string_dtype(frame[c]))]


def utf8_frame(frame):  # noqa: ANN001, ANN201 - a GeoDataFrame, and a copy of it
    """``frame`` with its text made UTF-8 (:func:`geo.export._atomic.utf8_safe`: the
    bytes of a file name that is not UTF-8 become U+FFFD, as a GeoJSON writer puts them),
    for GDAL, which takes UTF-8 only."""
    frame = frame.copy()
    for column in _text_columns(frame):
        frame[column] = frame[column].map(lambda v: utf8_safe(v) if isinstance(v, str) else v, na_action="ignore")
    return frame


def write_geopackage(path: Path, damage_map: DamageMap) -> Path:
    """Every non-empty layer of :data:`LAYERS` in one GeoPackage (EPSG:4326), and the
    layers of sites (:data:`SITE_LAYER_SCHEMAS`) empty when the map has none.

    ``gpkg_contents.last_change`` is the video's creation time (see
    :func:`_gpkg_timestamp`), so exporting the same map twice gives identical files.
    """
    with atomic_path(path) as temp, _gdal_option("OGR_CURRENT_DATE", _gpkg_timestamp(damage_map)):
        written = 0
        for layer, build in LAYERS.items():
            records = build(damage_map)
            if not records and layer not in SITE_LAYER_SCHEMAS:
                continue
            write_gpkg_layer(temp, layer, records, append=bool(written))
            written += 1
    return path


#: Characters XML 1.0 does not allow (C0 controls but tab and newlines, lone surrogates
#: from undecodable file names, U+FFFE/U+FFFF): KML readers refuse a file holding one.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(tree: ET.Element) -> None:
    """Replace the characters XML 1.0 forbids with U+FFFD in every text and attribute."""
    for element in tree.iter():
        for attribute in ("text", "tail"):
            value = getattr(element, attribute)
            if value:
                setattr(element, attribute, _NOT_XML.sub("\ufffd", value))
        for key, value in element.attrib.items():
            element.attrib[key] = _NOT_XML.sub("\ufffd", value)


def _kml_colour(level: DamageLevel, alpha: int = 255) -> str:
    r, g, b = level.colour_rgb
    return f"{alpha:02x}{b:02x}{g:02x}{r:02x}"  # KML: aabbggrr


def _kml_value(value: object) -> str:
    """An attribute as KML data: XML Schema's ``true``/``false`` for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: A kind of attribute (as :data:`geo.export.records.SITE_LAYER_SCHEMAS` gives them) as a
#: KML ``<SimpleField>`` type (OGC KML 2.2, 9.8.2). KML has no time type: times stay ISO 8601 text.
KML_FIELD_TYPES = {"int": "int", "float": "double", "str": "string", "bool": "bool", "datetime": "string"}


@dataclass(frozen=True, slots=True)
class KmlSchema:
    """The typed attributes of a KML document's sites: a ``<Schema>`` its placemarks'
    ``<SchemaData>`` refer to, so a GIS (GDAL's LIBKML driver, so QGIS; ArcGIS) reads
    numbers as numbers and sorts them so, where untyped ``<Data>`` reads as text.

    ``id``: the schema's id; ``fields``: each attribute's name and kind (``int``,
    ``float``, ``str``, ``bool`` or ``datetime``), in order."""

    id: str
    fields: Mapping[str, str]

    def __post_init__(self) -> None:
        unknown = {name: kind for name, kind in self.fields.items() if kind not in KML_FIELD_TYPES}
        if unknown:
            raise ValueError(f"KML schema {self.id!r}: unknown attribute kinds {unknown}")


def is_frame_field(name: str) -> bool:
    """Whether attribute ``name`` holds a frame number (``frame``, ``best_frame``, ...),
    counted from 0 where the descriptions and the maps count from 1."""
    return name == "frame" or name.endswith("_frame")


def display_name(name: str) -> str:
    """Attribute ``name`` as a balloon labels it: a frame field says what it counts from
    ("best_frame (from 0)"), since the description above it counts frames from 1."""
    return f"{name} (from 0)" if is_frame_field(name) else name


def balloon_template(schema: KmlSchema) -> str:
    """A site's balloon in Google Earth (a ``<BalloonStyle>`` text, OGC KML 2.2 6.5): its
    name, its description, then each of ``schema``'s attributes by name and value
    (``$[schema/field]``, left empty where the site has none). Google Earth's own balloon
    shows a placemark's description in place of its attributes once it has one: laid out
    here, it shows both. Where frames are among the attributes, a line between the two
    says that the description's frames count from 1 and the attributes' from 0 (the
    description's "frames 31-96" is first_frame 30 in the table)."""
    rows = "".join(f"<tr><td>{display_name(name)}</td><td>$[{schema.id}/{name}]</td></tr>" for name in schema.fields)
    frames = (f"<br/><i>Above, {FRAMES_FROM_ONE}; below, {FRAME_FIELDS_FROM_ZERO}: frame 161 above is 160 below.</i>"
              if any(is_frame_field(name) for name in schema.fields) else "")
    return f"<b>$[name]</b><br/>$[description]{frames}<table>{rows}</table>"


def _kml_schema(doc: ET.Element, ns: str, schema: KmlSchema) -> None:
    """The ``<Schema>``; a frame field's ``<displayName>`` says it counts from 0 (Google
    Earth labels the attribute with it where no balloon template does)."""
    element = ET.SubElement(doc, f"{{{ns}}}Schema", name=schema.id, id=schema.id)
    for name, kind in schema.fields.items():
        field = ET.SubElement(element, f"{{{ns}}}SimpleField", type=KML_FIELD_TYPES[kind], name=name)
        if is_frame_field(name):
            ET.SubElement(field, f"{{{ns}}}displayName").text = display_name(name)


def _write_kml_attributes(extended: ET.Element, ns: str, props: Mapping[str, Any], schema: KmlSchema | None) -> None:
    """A placemark's attributes: typed ``<SchemaData>`` with ``schema`` (an attribute with
    no value left out, so a GIS reads it empty, not as a zero or a blank text), else
    untyped ``<Data>``."""
    if schema is None:
        for key, value in props.items():
            data = ET.SubElement(extended, f"{{{ns}}}Data", name=key)
            ET.SubElement(data, f"{{{ns}}}value").text = _kml_value(value)
        return
    schema_data = ET.SubElement(extended, f"{{{ns}}}SchemaData", schemaUrl=f"#{schema.id}")
    for key in schema.fields:
        value = props.get(key)
        if value is not None and not (isinstance(value, float) and not math.isfinite(value)):
            ET.SubElement(schema_data, f"{{{ns}}}SimpleData", name=key).text = _kml_value(value)


#: A KML placemark of a site: its id, name, level (a :class:`DamageLevel`), attributes and point.
KmlSite = tuple[str, str, DamageLevel, "Mapping[str, Any]", "Point"]


#: The sites' icon in a KML file: a white disc that each level's colour tints. Google Earth
#: ships this one and shows it offline; other readers fetch it, or draw their own marker.
KML_ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"
#: The same icon inside a KMZ (:func:`kmz_bytes`): a phone in the field needs no network.
KMZ_ICON = "files/site.png"


def kml_document(title: str, sites: Iterable[KmlSite], *, lines: Iterable[tuple[str, LineString]] = (),
                 marks: Iterable[tuple[str, Point]] = (), icon: str = KML_ICON,
                 descriptions: Mapping[str, str] | None = None, schema: KmlSchema | None = None,
                 outlines: Iterable[tuple[str, LineString]] = (), description: str = "") -> str:
    """A KML document: ``sites`` as placemarks styled by level in a "Damage sites" document
    within it (with their ``<Schema>``),
    ``lines`` (a flight track: name, line) and ``marks`` (name, point) beside it; ``icon``
    is the sites' icon; ``descriptions``: a site's balloon, HTML, by site id (ElementTree
    escapes, as KML readers expect HTML in a description; characters XML cannot hold,
    such as control characters in a file name, become U+FFFD); ``schema``: the sites'
    attributes typed (:class:`KmlSchema`), else written as untyped ``<Data>``; ``outlines``
    (name, line): the area filmed, drawn as lines (what every phone map app draws);
    ``description``: the document's, HTML, as a site's."""
    ns = "http://www.opengis.net/kml/2.2"
    ET.register_namespace("", ns)
    kml = ET.Element(f"{{{ns}}}kml")
    doc = ET.SubElement(kml, f"{{{ns}}}Document")
    ET.SubElement(doc, f"{{{ns}}}name").text = title
    if description:  # after the name, before the styles: KML 2.2's order in a Document
        ET.SubElement(doc, f"{{{ns}}}description").text = description
    sites = list(sites)
    doubtful = any(props.get("confirmed") is False for *_, props, _ in sites)
    for level in DamageLevel:
        for unconfirmed in (False, True) if doubtful else (False,):
            suffix = "-unconfirmed" if unconfirmed else ""
            style = ET.SubElement(doc, f"{{{ns}}}Style", id=f"level-{level.name.lower()}{suffix}")
            icon_style = ET.SubElement(style, f"{{{ns}}}IconStyle")
            ET.SubElement(icon_style, f"{{{ns}}}color").text = _kml_colour(level, 0x70 if unconfirmed else 255)
            ET.SubElement(icon_style, f"{{{ns}}}scale").text = "0.8" if unconfirmed else "1.1"
            icon_element = ET.SubElement(icon_style, f"{{{ns}}}Icon")
            ET.SubElement(icon_element, f"{{{ns}}}href").text = icon
            if schema is not None:
                ET.SubElement(ET.SubElement(style, f"{{{ns}}}BalloonStyle"), f"{{{ns}}}text").text = \
                    balloon_template(schema)
    track_style = ET.SubElement(doc, f"{{{ns}}}Style", id="track")
    line = ET.SubElement(track_style, f"{{{ns}}}LineStyle")
    ET.SubElement(line, f"{{{ns}}}color").text = "ffd08030"
    ET.SubElement(line, f"{{{ns}}}width").text = "3"
    outlines = list(outlines)
    if outlines:
        outline_style = ET.SubElement(ET.SubElement(doc, f"{{{ns}}}Style", id="area-filmed"), f"{{{ns}}}LineStyle")
        ET.SubElement(outline_style, f"{{{ns}}}color").text = AREA_FILMED_KML_COLOUR
        ET.SubElement(outline_style, f"{{{ns}}}width").text = "2"
    # The sites in a Document of their own, their Schema in it (after its name, before its
    # features: KML 2.2's order): GDAL's LIBKML driver (QGIS) types a layer's fields from
    # the Schema of the layer's own Document; from a Folder it looks the Schema up in the
    # file, which it does in a .kml but not in a .kmz, and read a KMZ's sites without
    # any attribute.
    sites_document = ET.SubElement(doc, f"{{{ns}}}Document")
    ET.SubElement(sites_document, f"{{{ns}}}name").text = "Damage sites"
    if schema is not None:
        _kml_schema(sites_document, ns, schema)
    for site_id, name, level, props, point in sites:
        unconfirmed = props.get("confirmed") is False  # --include-unconfirmed: pale, and said in the name
        placemark = ET.SubElement(sites_document, f"{{{ns}}}Placemark", id=f"site-{site_id}")
        ET.SubElement(placemark, f"{{{ns}}}name").text = name + (" (unconfirmed)" if unconfirmed else "")
        if descriptions and site_id in descriptions:  # before styleUrl, in the order KML 2.2's schema gives
            ET.SubElement(placemark, f"{{{ns}}}description").text = descriptions[site_id]
        ET.SubElement(placemark, f"{{{ns}}}styleUrl").text = (f"#level-{level.name.lower()}"
                                                              f"{'-unconfirmed' if unconfirmed else ''}")
        _write_kml_attributes(ET.SubElement(placemark, f"{{{ns}}}ExtendedData"), ns, props, schema)
        geometry = ET.SubElement(placemark, f"{{{ns}}}Point")
        ET.SubElement(geometry, f"{{{ns}}}coordinates").text = f"{point.x:.8f},{point.y:.8f}"
    for style, named in (("#track", lines), ("#area-filmed", outlines)):
        for name, linestring in named:
            placemark = ET.SubElement(doc, f"{{{ns}}}Placemark")
            ET.SubElement(placemark, f"{{{ns}}}name").text = name
            ET.SubElement(placemark, f"{{{ns}}}styleUrl").text = style
            geometry = ET.SubElement(placemark, f"{{{ns}}}LineString")
            ET.SubElement(geometry, f"{{{ns}}}tessellate").text = "1"
            ET.SubElement(geometry, f"{{{ns}}}coordinates").text = " ".join(
                f"{x:.8f},{y:.8f}" for x, y in linestring.coords)
    for name, point in marks:
        placemark = ET.SubElement(doc, f"{{{ns}}}Placemark")
        ET.SubElement(placemark, f"{{{ns}}}name").text = name
        geometry = ET.SubElement(placemark, f"{{{ns}}}Point")
        ET.SubElement(geometry, f"{{{ns}}}coordinates").text = f"{point.x:.8f},{point.y:.8f}"
    _xml_safe(kml)
    ET.indent(kml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(kml, encoding="unicode")


def site_icon_png(size: int = 48) -> bytes:
    """The sites' icon as a PNG: a white disc in a dark rim on a clear ground. KML tints
    the white with each level's colour; the rim keeps a pale level visible on a light map."""
    from PIL import Image, ImageDraw

    big = size * 4  # drawn large and shrunk: smooth edges
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    rim = big // 10
    draw.ellipse((4, 4, big - 5, big - 5), fill=(40, 40, 40, 255))
    draw.ellipse((4 + rim, 4 + rim, big - 5 - rim, big - 5 - rim), fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(buffer, format="PNG")
    return buffer.getvalue()


def kmz_bytes(document: str, files: Mapping[str, bytes] | None = None) -> bytes:
    """A KMZ: ``document`` (written with ``icon=KMZ_ICON``) as ``doc.kml``, the first entry,
    as readers take the first KML in the archive for the document, its icon beside it,
    and ``files`` (the pictures the document names, by their path in the archive). The
    entries carry no time of writing: the same map gives the same file."""
    buffer = io.BytesIO()
    entries = [("doc.kml", document.encode("utf-8")), (KMZ_ICON, site_icon_png()), *sorted((files or {}).items())]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


#: The GeoJSON's names that a KML attribute cannot take, and the name it takes instead:
#: GDAL's LIBKML driver (so QGIS) reads a placemark's XML id as ``id``, and an attribute
#: ``id`` beside it as ``id2``. The placemark's id is ``site-<id>``; the number is ``site_id``.
KML_RENAMED = {"id": "site_id"}


def kml_site_attributes(props: Mapping[str, Any]) -> dict[str, Any]:
    """A site's attributes under their KML names (:data:`KML_RENAMED`), in order."""
    return {KML_RENAMED.get(key, key): value for key, value in props.items()}


#: The attributes of a flight's sites in its KML and KMZ, typed as in the GeoPackage.
SITE_KML_SCHEMA = KmlSchema("damage_sites", kml_site_attributes(SITE_LAYER_SCHEMAS["damage_sites"][0]))


#: The area filmed's outline in a KML (aabbggrr): the purple of the print and HTML maps' outline.
AREA_FILMED_KML_COLOUR = "ff9a3d6a"
#: Its name on a phone: what the line means, not only what it is.
AREA_FILMED_NAME = f"{heading(AREA_FILMED)} (outside it: not looked at, no news of damage)"


def polygon_outlines(geometry) -> list[LineString]:  # noqa: ANN001 - a shapely geometry or None
    """The rings of ``geometry``'s polygons (exteriors and holes) as lines, for a KML's
    outlines (what every phone map app draws): split where they cross 180 degrees
    (:func:`geo.antimeridian.antimeridian_safe`), as the GIS files' polygons are, not a
    line round the world."""
    from shapely.geometry import LineString

    geometry = antimeridian_safe(geometry)
    if geometry is None:
        return []
    return [LineString(ring.coords) for polygon in getattr(geometry, "geoms", [geometry])
            if polygon.geom_type == "Polygon" and not polygon.is_empty
            for ring in (polygon.exterior, *polygon.interiors)]


def track_names(base: str, count: int) -> list[str]:
    """The names of a track's ``count`` stretches as a phone lists them: ``base`` for the
    only one, else "``base``, segment 2 of 3" (counted from 1, as a person counts)."""
    if count == 1:
        return [base]
    return [f"{base}, segment {k} of {count}" for k in range(1, count + 1)]


def _flight_kml(damage_map: DamageMap, *, icon: str, images: Mapping[str, str] | None = None,
                outlines: Iterable[LineString] = (), description: str = "") -> str:
    """The flight's sites as placemarks styled by level, each described in a line
    (:func:`geo.export.site_summary.site_summary`) after its picture in ``images`` (an
    ``<img>`` by site id), its track, its GPS jumps and ``outlines`` of the area filmed
    (:func:`kml_document`; ``description``: the document's)."""
    from geo.export.site_summary import site_summary

    sites = [(str(props["id"]), f"Site {props['id']}: {props['level'].capitalize()}",
              DamageLevel.parse(props["level"]), kml_site_attributes(props), point)
             for props, point in site_records(damage_map)]
    descriptions = {}
    for fused in damage_map.fused:
        image = (images or {}).get(str(fused.site.id))
        descriptions[str(fused.site.id)] = (f"{image}<br/>" if image else "") + site_summary(damage_map, fused)
    tracks = track_records(damage_map)
    lines = list(zip(track_names(f"Flight track ({damage_map.track.name})", len(tracks)),
                     (linestring for _, linestring in tracks)))
    marks = [(f"GPS jump at {props['time_s']} s (not used)", point) for props, point in jump_records(damage_map)]
    return kml_document(damage_map.title, sites, lines=lines, marks=marks, icon=icon, descriptions=descriptions,
                        schema=SITE_KML_SCHEMA, outlines=[(AREA_FILMED_NAME, line) for line in outlines],
                        description=description)


#: A close-up's width in a KMZ balloon (pixels), as in the HTML map's popups.
KMZ_CLOSEUP_PX = 160


def _kmz_closeups(damage_map: DamageMap, closeup: Callable[[int], bytes | None]) -> tuple[dict[str, str], dict[str, bytes]]:
    """Each site's close-up, outlined, as its balloon's ``<img>`` by site id, and the
    close-ups by their path in the archive; a site without a close-up gets neither."""
    from geo.export.html import closeup_box, picture_bytes

    images: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for index, fused in enumerate(damage_map.fused):
        site = fused.site
        image = kmz_closeup(picture_bytes(closeup, site.id), closeup_box(damage_map, index), site.level.colour_hex,
                            f"files/site-{site.id}.jpg", files)
        if image:
            images[str(site.id)] = image
    return images, files


def kmz_closeup(jpeg: bytes | None, box: tuple[float, float, float, float] | None, colour_hex: str, name: str,
                files: dict[str, bytes]) -> str:
    """A close-up for a KMZ balloon: ``jpeg`` with ``box`` outlined in ``colour_hex``
    (:func:`_outlined`) put in ``files`` as ``name``, and the balloon's ``<img>`` naming
    it, :data:`KMZ_CLOSEUP_PX` wide; "" (nothing put in) without a picture that reads."""
    outlined = _outlined(jpeg, box, colour_hex) if jpeg else None
    if outlined is None:
        return ""
    files[name] = outlined[0]
    height = round(KMZ_CLOSEUP_PX * outlined[2] / max(1, outlined[1]))
    return f'<img src="{html_escape(name)}" width="{KMZ_CLOSEUP_PX}" height="{height}"/>'


def _outlined(jpeg: bytes, box: tuple[float, float, float, float] | None, colour_hex: str,
              ) -> tuple[bytes, int, int] | None:
    """A close-up with the detection's box drawn in (a KML balloon cannot draw over a
    picture, as the HTML map's popup does): ``(JPEG, width, height)``, ``None`` when the
    picture cannot be read."""
    from PIL import Image, ImageDraw

    try:
        with Image.open(io.BytesIO(jpeg)) as opened:
            image = opened.convert("RGB")
    except Exception:  # noqa: BLE001 - not a picture: the site goes without
        return None
    width, height = image.size
    if box is not None:
        left, top, right, bottom = box
        ImageDraw.Draw(image).rectangle((left * width, top * height, right * width - 1, bottom * height - 1),
                                        outline=colour_hex, width=max(2, round(width / 80)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), width, height


def write_kml(path: Path, damage_map: DamageMap) -> Path:
    """The flight's sites, track and GPS jumps as KML (:func:`_flight_kml`)."""
    return write_text_atomic(path, _flight_kml(damage_map, icon=KML_ICON))


def write_kmz(path: Path, damage_map: DamageMap, *, closeup: Callable[[int], bytes | None] | None = None,
              area_filmed: Iterable[LineString] = (), description: str = "") -> Path:
    """The same as :func:`write_kml`, with its icon inside: opens offline on a phone.
    ``closeup(site_id)``: a JPEG of the part of the site's best frame the HTML map's popup
    shows (:func:`geo.export.html.closeup_requests`); each site's balloon then shows it,
    outlined, with what the site is. ``area_filmed``: its outline (lon/lat lines), so
    that no site outside it is not read as no damage there. ``description``: the
    document's (HTML: escape its text), what a phone shows about the file."""
    images, files = _kmz_closeups(damage_map, closeup) if closeup is not None else ({}, {})
    document = _flight_kml(damage_map, icon=KMZ_ICON, images=images, outlines=area_filmed, description=description)
    return write_bytes_atomic(path, kmz_bytes(document, files))


CSV_COLUMNS = ("id", "level", "confidence", "observations", "lon", "lat", "first_time", "last_time",
               "first_time_s", "last_time_s", "first_frame", "last_frame", "best_frame", "reviewed", "height_m",
               "uncertainty_m", "uncertainty_parts", *(f"uncertainty_{name}_m" for name in PARTS), "ems_grade",
               "confirmed", "frames_seen", "frames_in_view", "views_seen", "views_in_view",
               # (added later, so at the end: a spreadsheet or script reading columns by position keeps working)
               "level_code", "best_detection_id", "reviewed_by", "reviewed_at", "triangulated", "best_score")


def spreadsheet_safe(value) -> object:
    """Text starting with = + - @ is a formula to a spreadsheet: quote it (numbers stay numbers)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


#: What starts every CSV we write: Excel on Windows opens UTF-8 without it as the system's
#: ANSI code page ("Île-à-Vache" comes out "ÃŽle-Ã -Vache"), and writes it itself ("CSV UTF-8").
#: pandas, GDAL (so QGIS) and LibreOffice skip it; Python's csv module reads it with
#: ``encoding="utf-8-sig"``.
CSV_BOM = "\ufeff"


def write_csv_text(path: Path, text: str) -> Path:
    """``text``, a CSV table, as UTF-8 after :data:`CSV_BOM`, atomically."""
    return write_text_atomic(path, CSV_BOM + text)


def write_sites_csv(path: Path, damage_map: DamageMap) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for props, point in site_records(damage_map):
        # Numbers, not text: the formula guard below quotes text starting with "-".
        row = dict(props, lon=round(point.x, 8), lat=round(point.y, 8))
        writer.writerow([spreadsheet_safe(row.get(column)) for column in CSV_COLUMNS])
    return write_csv_text(path, buffer.getvalue())
