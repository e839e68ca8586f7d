"""Georeferencing: from telemetry and detections to a damage map (no torch, no Qt).

- :mod:`geo.telemetry` reads DJI SRT, GPX and CSV flight logs into a ``Track``;
- :mod:`geo.sync` puts a track on the video's clock and interpolates it per frame;
- :mod:`geo.local` is the local UTM frame (pyproj) all metric work happens in;
- :mod:`geo.camera` turns telemetry into ``core.camera`` poses and fields of view;
- :mod:`geo.observe` places detections on the ground; :mod:`geo.fusion` fuses them into
  damage sites; :mod:`geo.heatmap` is the severity-weighted density;
- :mod:`geo.mapping` builds the ``DamageMap``; :mod:`geo.export` writes GeoJSON,
  GeoPackage, KML, CSV and the offline HTML map;
- :mod:`geo.evaluation` measures sites against a synthetic flyover's truth.
"""
