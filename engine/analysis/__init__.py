"""The analysis of a project's video, split by job; :mod:`engine.analyze` is its public face."""
