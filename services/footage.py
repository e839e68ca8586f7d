"""Whether a project's flight was flown like the footage its run's detector learnt from.

The detector's weights state the heights above the ground it was trained on (the JSON
beside them, ``geo.footage.trained_height_range``). A map compares them with the heights
of its analysed frames; before an analysis starts, the telemetry's own heights give the
same caution early, so an analyst does not spend an hour on a flight the detector will
mostly miss without being told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DamagemapError
from core.model_files import read_model_metadata
from core.store import ProjectStore
from geo.footage import flight_height_note, trained_height_range

if TYPE_CHECKING:  # pragma: no cover
    from geo.telemetry import Track


def trained_heights(store: ProjectStore, run_id: int) -> tuple[float, float] | None:
    """The heights above the ground (m) the run's detector was trained on, from the JSON
    beside its weights; ``None`` when the run names no weights, they moved, or their
    JSON states no range."""
    return _trained_heights(store.run(run_id).model)


def _trained_heights(model: Mapping[str, Any]) -> tuple[float, float] | None:
    """:func:`trained_heights` of a run's model record."""
    weights = model.get("weights")
    metadata = read_model_metadata(weights) if weights else None
    return trained_height_range(metadata) if metadata is not None else None


#: how a flight flown too high can be analysed for more of its small damage
TILES_ADVICE = ("; analysing it with the tiled look (Analysis > Analyse... > Tiled look, or --tiles 2) finds more "
                "of it, with more false sites to review, in about 4x the time")


def _advice(model: Mapping[str, Any]) -> str:
    """:data:`TILES_ADVICE` unless the run (its model record) already looked at its frames in tiles."""
    inference = model.get("inference")
    tiles = inference.get("tiles") if isinstance(inference, Mapping) else None
    return "" if isinstance(tiles, int) and tiles >= 2 else TILES_ADVICE


def flight_height_caution(store: ProjectStore, run_id: int, heights_m: Iterable[float]) -> str | None:
    """``geo.footage.flight_height_note`` for the run's detector and these heights."""
    model = store.run(run_id).model
    trained = _trained_heights(model)
    if trained is None:
        return None
    return flight_height_note(heights_m, trained, too_high_advice=_advice(model))


def telemetry_height_caution(store: ProjectStore, run_id: int, *, track: Track | None = None) -> str | None:
    """The caution from the project's telemetry before any frame is mapped: the heights
    above the take-off point its fixes give. ``None`` when there is nothing to compare:
    no range stated, no telemetry, a log without relative heights, or one that cannot be
    read (the map reports that). ``track``: the project's telemetry already read."""
    from geo.telemetry import read_telemetry

    if store.telemetry_path is None:
        return None
    model = store.run(run_id).model
    trained = _trained_heights(model)
    if trained is None:
        return None
    try:
        track = track if track is not None else read_telemetry(Path(store.telemetry_path))
    except DamagemapError:
        return None
    return flight_height_note((s.alt_rel_m for s in track.samples if s.alt_rel_m is not None), trained,
                              too_high_advice=_advice(model))


__all__ = ["TILES_ADVICE", "flight_height_caution", "telemetry_height_caution", "trained_heights"]
