"""Detections stored as a finished analysis run, for tests that map, review or export a
project without running a model (the ground truth of a rendered flyover, mostly)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from core.store import ProjectStore
from core.types import Detection, Frame


def write_run(store: ProjectStore, detections: Iterable[Detection], times: Mapping[int, float], *,
              model: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None) -> int:
    """``detections`` as one finished run of ``store``: a stored frame for every entry of
    ``times`` (frame index -> seconds), those without detections included, sized as the
    first mask; ``model`` is the run's model record (default: named "ground truth")."""
    detections = list(detections)
    mask = next(d.mask for d in detections if d.mask is not None)
    run = store.start_run(model=dict(model) if model is not None else {"name": "ground truth"},
                          settings=dict(settings or {}))
    for index in sorted(times):
        frame = Frame(index, times[index], mask.width_px, mask.height_px)
        store.write_frame(run, frame, [replace(d, id=None) for d in detections if d.frame_index == index])
    store.finish_run(run)
    return run


__all__ = ["write_run"]
