"""Fixtures for the geo tests: the shared real telemetry samples and small flyovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_helpers import Flyover, map_of, render, samples_dir


@pytest.fixture(scope="session")
def samples() -> Path:
    found = samples_dir()
    if found is None:
        pytest.skip("shared/samples is not beside the repository")
    return found


@pytest.fixture(scope="session")
def flyover(flyover_once) -> Flyover:
    """12 s at 10 fps, 640x360, seed 2: some 20 damaged parts seen in 24 annotated frames."""
    return render(flyover_once, seed=2)


@pytest.fixture(scope="session")
def second_flyover(flyover_once) -> Flyover:
    """Another neighbourhood and flight (seed 1), so the accuracy bounds rest on more sites."""
    return render(flyover_once, seed=1)


@pytest.fixture(scope="session")
def flyover_map(flyover):
    """The damage map of the flyover's ground-truth masks, from its SRT."""
    return map_of(flyover, title="Synthetic flyover")


@pytest.fixture
def survey_of_two_flights(flyover_map):
    """The flyover's map as a survey of two flights of it, two days apart (the survey
    exports' tests: their README, KML, print map, site numbers and contact)."""
    from geo.survey_fusion import FlightMap, fuse_flights

    damage_map, _ = flyover_map
    return fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                         FlightMap("wednesday", damage_map, "2018-10-14")])
