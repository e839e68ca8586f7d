"""Exporting a project: the damage map's files and the reviewed frames as training data.

Both clients call :func:`export_project`, so a project exported from the command line
and from the desktop app gives the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ExportError, InputError
from core.last_few import LastFew
from core.settings import ProjectSettings
from core.store import ProjectStore
from services.maps import damage_map as _damage_map
from services.maps import file_stamp
from services.maps import resolve_run

if TYPE_CHECKING:  # pragma: no cover
    from geo.export.html import Thumbnail
    from geo.pitch import FlowView
    from engine.export_coco import CocoExport
    from geo.export.package import PackageResult
    from geo.mapping import DamageMap


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to write where.

    Attributes
    ----------
    out_dir
        The folder (created when missing).
    formats
        Map formats (``geo.export.FILES`` names, or ``"geojson"`` for the four GeoJSON
        files); ``None``: all of them; empty: no map files.
    thumbnails
        Pictures in the HTML map's popups and the KMZ's balloons (decodes the sites' best
        frames).
    coco, coco_include_pending
        Also write the reviewed frames as an ISBDA/COCO data set under
        ``out_dir/training``, optionally labelling the detections still pending review.
    package
        Also write the relief package (:mod:`services.package`) into ``out_dir``; a
        ``"package"`` among ``formats`` asks for it too.
    include_unconfirmed
        The map files show the unconfirmed sites too (``confirmed`` false; see
        :func:`geo.fusion.count_views`); by default they leave them out. The relief
        package always does.
    """

    out_dir: Path
    formats: tuple[str, ...] | None = None
    thumbnails: bool = True
    coco: bool = False
    coco_include_pending: bool = False
    package: bool = False
    include_unconfirmed: bool = False

    @property
    def map_formats(self) -> tuple[str, ...] | None:
        """``formats`` without ``"package"``."""
        if self.formats is None:
            return None
        return tuple(f for f in self.formats if f.strip().lower() != "package")

    @property
    def writes_package(self) -> bool:
        return self.package or (self.formats is not None and any(f.strip().lower() == "package" for f in self.formats))

    @property
    def writes_map(self) -> bool:
        formats = self.map_formats
        return formats is None or len(formats) > 0


@dataclass(frozen=True)
class ExportResult:
    """The files written, in order, and the map they came from (``None`` if no map
    format was asked for)."""

    written: list[Path] = field(default_factory=list)
    damage_map: DamageMap | None = None
    package: PackageResult | None = None
    #: the reviewed frames as an ISBDA/COCO data set (``ExportRequest.coco``)
    training: CocoExport | None = None
    #: the run exported (the latest unless one was asked for)
    run_id: int | None = None

    @property
    def notes(self) -> list[str]:
        """What the person exporting should know, as ``damagemap export`` prints them
        ("note: ..."): the map's notes, then the relief package's (characters the print
        map cannot draw, ...)."""
        return [*(self.damage_map.notes if self.damage_map is not None else ()),
                *(self.package.notes if self.package is not None else ())]

    @property
    def unconfirmed_shown(self) -> int:
        """How many unconfirmed sites the map files show beside the confirmed ones
        (``ExportRequest.include_unconfirmed``; 0 without a map)."""
        return self.damage_map.unconfirmed_shown if self.damage_map is not None else 0


@dataclass(frozen=True, slots=True)
class ExportStep:
    """Where an export is: ``done`` of its ``steps`` finished, and what it does now
    (``"writing damage_map.html"``), for a progress bar."""

    done: int
    steps: int
    doing: str


class _Steps:
    """Tells ``progress`` each step as it starts; the steps counted from the request
    (the pictures counted when the request may need them)."""

    def __init__(self, request: ExportRequest, progress: Callable[[ExportStep], None] | None) -> None:
        from geo.export import resolve_formats

        files = len(resolve_formats(request.map_formats)) if request.writes_map else 0
        maps = request.writes_map or request.writes_package
        formats = request.map_formats
        pictures = request.writes_package or (request.thumbnails and (formats is None or any(
            f in ("html", "kmz") for f in formats)))  # the package's atlas has its close-ups
        self.steps = int(maps) + int(maps and pictures) + files + int(request.coco) + int(request.writes_package)
        self.done = 0
        self._progress = progress

    def __call__(self, doing: str) -> None:
        if self._progress is not None:
            self._progress(ExportStep(min(self.done, self.steps), max(self.steps, self.done + 1), doing))
        self.done += 1

    def writing(self, path: Path) -> None:
        self(f"writing {Path(path).name}")


def _site_pictures(store: ProjectStore, built: DamageMap, *, frames: bool = True) -> tuple[Thumbnail, Thumbnail]:
    """The HTML map's popup pictures, decoded in one pass: each site's best frame by frame
    index (none with ``frames`` false), and its close-up
    (:func:`geo.export.html.closeup_requests`) by site id."""
    from engine.thumbnails import jpeg_site_pictures
    from geo.export.html import closeup_requests

    best = tuple(sorted({site.best_frame for site in built.sites})) if frames else ()
    requests = closeup_requests(built)
    key = (file_stamp(store.video_path), best, tuple(sorted(requests.items())))
    kept = _PICTURES.get(key)
    if kept is None:
        kept = jpeg_site_pictures(store.video_path, best, requests)
        frames_jpeg, closeups = kept
        if len(frames_jpeg) == len(best) and len(closeups) == len(requests):  # none missing: none to try again
            _PICTURES.put(key, kept)
    frames_jpeg, closeups = kept
    return frames_jpeg.get, closeups.get


#: the last export's pictures, by the video file (its stamp) and the frames and parts
#: cut: the relief package exported after the map files (or the map files again) cuts
#: the same, and decoding a long flight's video up to its last site takes seconds
_PICTURES = LastFew(1)


def clear_cache() -> None:
    """Forget the pictures kept from the last export (tests, benchmarks)."""
    _PICTURES.clear()


def _titled(store: ProjectStore, built: DamageMap) -> DamageMap:
    """``built`` titled after the project's event when it names one
    (:func:`geo.export.products.map_title`), for the KML, KMZ and HTML map."""
    from dataclasses import replace

    from geo.export.products import map_title
    from services.package import product_info

    try:
        info = product_info(store)
    except InputError:  # stored info that no longer reads: the map files still go out, titled by the video
        return built
    return replace(built, title=map_title(built, info))


def _export_map(store: ProjectStore, built: DamageMap, out_dir: Path, formats: Sequence[str] | None,
                thumbnail: Thumbnail | None, closeup: Thumbnail | None = None,
                confirmed: DamageMap | None = None, writing: Callable[[Path], None] | None = None) -> list[Path]:
    """``geo.export.export_map``; when the project has building footprints or a basemap
    (:mod:`services.package`), the HTML map shows the graded buildings, the coverage
    and the basemap too. The buildings are graded from ``confirmed`` (the map with its
    confirmed sites only, when ``built`` shows the unconfirmed ones too), as the relief
    package grades them: a site seen in 1 of 16 frames does not make a building
    Destroyed."""
    from geo.export import FILES, export_map, partly_written, resolve_formats
    from services.package import has_product_sources, product_layers

    chosen = resolve_formats(formats)
    if "html" not in chosen or not has_product_sources(store):
        return [Path(p) for p in export_map(built, out_dir, formats=chosen, thumbnail=thumbnail, closeup=closeup,
                                            writing=writing)]
    from geo.export.html import write_html

    layers = product_layers(store, confirmed or built).html_layers()
    others = [f for f in chosen if f != "html"]
    written = [Path(p) for p in export_map(built, out_dir, formats=others, thumbnail=thumbnail, closeup=closeup,
                                           writing=writing)]
    if writing is not None:
        writing(Path(out_dir) / FILES["html"])
    try:
        html = write_html(Path(out_dir) / FILES["html"], built, thumbnail=thumbnail, extra_layers=layers,
                          closeup=closeup)
    except ExportError as exc:
        raise ExportError(f"{exc}{partly_written(Path(out_dir), written)}") from None
    written.insert(chosen.index("html"), Path(html))
    return written


def export_project(
    store: ProjectStore,
    request: ExportRequest,
    *,
    run_id: int | None = None,
    settings: ProjectSettings | None = None,
    telemetry_path: Path | None = None,
    dem_path: Path | None = None,
    camera_view: FlowView | None = None,
    progress: Callable[[ExportStep], None] | None = None,
) -> ExportResult:
    """Write a run's exports (the latest run by default); ``progress`` is told each step
    (:class:`ExportStep`) as it starts.

    ``settings`` and ``telemetry_path`` replace the project's for this export only;
    ``dem_path`` (a GeoTIFF DEM/DSM) puts detections on the terrain; ``camera_view``
    (a ``geo.pitch.FlowView``) sets the camera of telemetry without gimbal pitch
    (see :func:`services.maps.damage_map`).

    Raises
    ------
    ExportError
        Naming the file or folder that could not be written, or an unknown format.
    GeoreferenceError, TelemetryError
        If the map cannot be built.
    """
    run_id = resolve_run(store, run_id)
    step = _Steps(request, progress)
    written: list[Path] = []
    built = None
    pictures: tuple[Thumbnail, Thumbnail] | None = None  # the popups' pictures, decoded once for the map and the package alike
    if request.writes_map:
        formats: Sequence[str] | None = request.map_formats
        step("building the damage map")
        built = _damage_map(store, run_id, settings=settings, telemetry_path=telemetry_path, dem_path=dem_path,
                            camera_view=camera_view)
        built = _titled(store, built)
        confirmed = built
        if request.include_unconfirmed:
            built = built.with_unconfirmed()
        from services.maps import video_replaced_note

        # no close-up cut from another file put in the analysed video's place (the map's notes say so)
        if request.thumbnails and (formats is None or "html" in formats or "kmz" in formats) and \
                video_replaced_note(store, run_id) is None:
            # the KMZ shows only the close-ups: no whole-frame thumbnail without an HTML map
            step("cutting each site's pictures from the video")
            pictures = _site_pictures(store, built, frames=formats is None or "html" in formats
                                      or request.writes_package)
        thumbnail, closeup = pictures or (None, None)
        try:
            written += _export_map(store, built, request.out_dir, formats, thumbnail, closeup, confirmed,
                                   writing=step.writing)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
    training = None
    if request.coco:
        from engine.export_coco import export_reviewed_frames

        step("writing the reviewed frames as training data")
        training = export_reviewed_frames(
            store, Path(request.out_dir) / "training", run_id=run_id, include_pending=request.coco_include_pending,
            negatives=True,  # the rejected ones are background, the pending ones "don't know": train ignores them
        )
        if training.image_count:
            written.append(training.annotations_path)
    package = None
    if request.writes_package:
        from services.package import PackageRequest, export_package

        if pictures is None:
            # (the map's pictures, when made, cover the package's sites: its unconfirmed sites are extra);
            # the printed atlas shows each site's close-up even when the popups show no picture
            if built is None:
                step("building the damage map")
            built = built or _damage_map(store, run_id, settings=settings, telemetry_path=telemetry_path,
                                         dem_path=dem_path, camera_view=camera_view)
            step("cutting each site's pictures from the video")
            pictures = _site_pictures(store, built, frames=request.thumbnails)
        thumbnail, closeup = pictures or (None, None)
        step("writing the relief package (print map, site atlas, zip)")
        package = export_package(store, PackageRequest(Path(request.out_dir), thumbnails=request.thumbnails),
                                 run_id=run_id, settings=settings, telemetry_path=telemetry_path, dem_path=dem_path,
                                 camera_view=camera_view, thumbnail=thumbnail, closeup=closeup)
        written += package.files
        built = built or _damage_map(store, run_id, settings=settings, telemetry_path=telemetry_path,
                                     dem_path=dem_path, camera_view=camera_view)
    return ExportResult(written, built, package, training, run_id)


def reviewed_frame_counts(store: ProjectStore) -> dict[int, int]:
    """Per run of the project (by id, in order), how many of its frames are reviewed:
    those its training data holds (:func:`engine.export_coco.reviewed_frame_indices`). A
    re-analysis is a new run, and the reviews stay with the run they were made on."""
    from engine.export_coco import reviewed_frame_indices

    return {run.id: len(reviewed_frame_indices([store.detections(run.id)])) for run in store.runs()}


def reviewed_frames_text(count: int) -> str:
    """How many frames of a run are reviewed, as ``damagemap export --training`` and the
    window both say it ("2 reviewed frame(s)")."""
    return f"{count} reviewed frame(s)"


def reviewed_elsewhere_text(which: str, reviewed: Mapping[int, int]) -> str:
    """Why the training data of ``which`` run came out empty while other runs' frames are
    reviewed (``reviewed``: run id -> reviewed frames, not empty), as ``damagemap export
    --training`` and the window both say it: "no frame of run 2 is reviewed; run 1 has 5
    reviewed frame(s)"."""
    if len(reviewed) == 1:
        (other, count), = reviewed.items()
        return f"no frame of {which} is reviewed; run {other} has {reviewed_frames_text(count)}"
    counts = ", ".join(f"run {other} ({count})" for other, count in reviewed.items())
    return f"no frame of {which} is reviewed; reviewed frames are in {counts}"


__all__ = ["ExportRequest", "ExportResult", "ExportStep", "export_project", "reviewed_elsewhere_text",
           "reviewed_frame_counts", "reviewed_frames_text"]
