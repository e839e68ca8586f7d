"""The window's map draws a flight across 180° longitude (Fiji) as one place."""

from __future__ import annotations

from dataclasses import replace

from app.widgets.map_view import MapLayers, MapWidget
from core.types import DamageLevel, DamageSite


def test_the_map_draws_a_flight_across_180_in_one_place(qtbot):
    west = DamageSite(
        id=1, level=DamageLevel.SEVERE, confidence=0.8, lon_deg=179.9998, lat_deg=-16.8, observation_count=3,
        first_frame=2, last_frame=9, first_time_s=0.2, last_time_s=0.9, best_frame=6, best_detection_id=42,
    )
    east = replace(west, id=2, lon_deg=-179.9998, best_detection_id=50)  # 43 m east of the first, across 180°
    panel = MapWidget()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    panel.set_layers(MapLayers(source=None, track_segments=(((179.9995, -16.8), (-179.9995, -16.8)),),
                               sites=(west, east), site_detections=(frozenset({42}), frozenset({50}))))
    first, second = (item.scenePos() for item in panel.site_items)
    assert 30.0 < second.x() - first.x() < 60.0  # metres, eastwards: not the world's width apart
    assert panel.sceneRect().width() < 1_000.0  # the view framed on the flight
