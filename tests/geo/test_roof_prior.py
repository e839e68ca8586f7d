"""The flight's roof height prior (``geo.fusion.site_heights``) is kept to a decimetre: a
decision that moves the median of the roof sites by millimetres leaves every roof site
where it was, and the map is not built again for it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from core.types import DamageLevel, Detection
from geo import fusion
from geo.fusion import ROOF_PRIOR_STEP_M, FusionSettings, Location, site_heights


def _group(height_m: float) -> list:
    detection = Detection(frame_index=0, level=DamageLevel.SEVERE, score=0.8, box_xyxy_px=(0.0, 0.0, 4.0, 4.0))
    return [SimpleNamespace(detection=detection, weight=0.8, reviewed=False, height_m=height_m)]


def test_a_site_left_out_that_moves_the_median_by_millimetres_leaves_the_prior(monkeypatch):
    monkeypatch.setattr(fusion, "_located", lambda group, settings, z_prior, by_model=False: Location(
        np.array([0.0, 0.0, group[0].height_m]), True, 1.0))
    groups = [_group(h) for h in (5.012, 5.018, 5.021, 5.024, 5.031, 9.5)]
    settings = FusionSettings()
    every = site_heights(groups, settings)
    without_one = site_heights(groups[:-1], settings)  # the median moves from 5.0225 to 5.021
    assert every == without_one
    assert every[DamageLevel.SEVERE] == every[DamageLevel.SLIGHT] == 5.0 and every[DamageLevel.DEBRIS] == 0.0
    assert abs(site_heights(groups[:3], settings)[DamageLevel.SEVERE] / ROOF_PRIOR_STEP_M - 50) < 1e-9
