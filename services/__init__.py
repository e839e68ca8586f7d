"""The pipeline under both clients: open a project, analyse, map, export.

The command line (``app.cli``) and the desktop app (``app``) are thin clients of these
functions; nothing here imports Qt, so a headless ``damagemap analyze`` never loads it.
``services`` sits above ``engine`` and ``geo`` and below ``app`` (an import-linter
contract in ``pyproject.toml``):

- :mod:`services.project`: open or create a project for a video, open a project file;
- :mod:`services.analysis`: an :class:`~services.analysis.AnalysisRequest` and the
  generator of per-frame progress;
- :mod:`services.maps`: the damage map, cached on the run, its frames, its review
  history, the project settings and the telemetry file;
- :mod:`services.export`: the map's files and the reviewed frames as training data.

Heavy packages (torch, geopandas) are imported inside the functions that need them.
"""
