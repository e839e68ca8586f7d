"""geo.survey_fusion.match_sites: which flights' sites are one damage."""

from types import SimpleNamespace

import numpy as np

from core.types import DamageLevel
from geo.survey_fusion import SurveySettings, match_sites


def _site(flight, east, north, level=DamageLevel.SLIGHT, sigma=0.3, decided=False):
    """A flight's site; ``decided``: a reviewer decided it as a whole (every sighting)."""
    return SimpleNamespace(flight=flight, position=np.array([east, north, 4.0]), footprint=None, sigma_m=sigma,
                           fused=SimpleNamespace(site=SimpleNamespace(level=level),
                                                 members=(SimpleNamespace(reviewed=decided),) * 3))


def test_sites_of_different_flights_at_one_place_are_one_and_far_ones_are_not():
    sites = [_site(0, 0, 0), _site(1, 1.0, 0.5), _site(2, 0.5, -0.5), _site(1, 30, 0)]
    assert sorted(match_sites(sites, SurveySettings())) == [[0, 1, 2], [3]]


def test_two_sites_of_one_flight_stay_apart_each_taking_its_nearest():
    # Two damages 2 m apart on one roof in flight 0; flight 1 saw the first only.
    sites = [_site(0, 0, 0), _site(0, 2.0, 0), _site(1, 0.3, 0)]
    assert sorted(match_sites(sites, SurveySettings())) == [[0, 2], [1]]


def test_uncertain_positions_widen_the_gate_up_to_its_limit_and_levels_weigh_in():
    far = [_site(0, 0, 0), _site(1, 5.0, 0)]
    assert len(match_sites(far, SurveySettings())) == 2  # 5 m apart, both well placed
    loose = [_site(0, 0, 0, sigma=2.0), _site(1, 5.0, 0, sigma=2.0)]
    assert len(match_sites(loose, SurveySettings())) == 1  # 5 m is within their uncertainty
    loose = [_site(0, 0, 0, sigma=9.0), _site(1, 7.0, 0, sigma=9.0)]
    assert len(match_sites(loose, SurveySettings())) == 2  # never beyond max_gate_m
    # The same level wins a tie between two candidates at equal distance.
    sites = [_site(0, 0, 0, DamageLevel.SEVERE), _site(1, 1, 0, DamageLevel.SLIGHT), _site(1, -1, 0, DamageLevel.SEVERE)]
    assert sorted(match_sites(sites, SurveySettings())) == [[0, 2], [1]]


def test_sites_a_reviewer_decided_at_different_levels_are_never_one():
    """Two flights' sites 0.5 m apart, each decided as a whole, one Severe, one Debris: the
    reviewers told them apart, and one survey site would outvote one decision. Undecided,
    or decided alike, they are one."""
    severe, debris = DamageLevel.SEVERE, DamageLevel.DEBRIS
    both = [_site(0, 0, 0, severe, decided=True), _site(1, 0.5, 0, debris, decided=True)]
    assert sorted(match_sites(both, SurveySettings())) == [[0], [1]]
    one = [_site(0, 0, 0, severe, decided=True), _site(1, 0.5, 0, debris)]
    assert sorted(match_sites(one, SurveySettings())) == [[0, 1]]
    alike = [_site(0, 0, 0, debris, decided=True), _site(1, 0.5, 0, debris, decided=True)]
    assert sorted(match_sites(alike, SurveySettings())) == [[0, 1]]
    # nor through a third flight's site between them
    chain = [_site(0, 0, 0, severe, decided=True), _site(1, 0.6, 0, debris, decided=True), _site(2, 0.3, 0)]
    groups = match_sites(chain, SurveySettings())
    assert len(groups) == 2 and not any({0, 1} <= set(g) for g in groups)


def test_sites_a_reviewer_decided_as_one_stay_one_whatever_their_distance():
    """A survey site relabelled Debris is placed on the ground in each flight, and each
    flight's oblique view moves it its own way (7 m here): decided as one, it stays one;
    a flight's own two sites still never join, and nor do different decided levels."""
    sites = [_site(0, 0, 0, DamageLevel.DEBRIS, decided=True), _site(1, 7.0, 0, DamageLevel.DEBRIS, decided=True),
             _site(0, 7.2, 0)]
    assert sorted(match_sites(sites, SurveySettings())) == [[0], [1, 2]]  # by distance alone
    assert sorted(match_sites(sites, SurveySettings(), together=[[0, 1]])) == [[0, 1], [2]]
    assert sorted(match_sites(sites, SurveySettings(), together=[[0, 2]])) == [[0], [1, 2]]  # one flight
    mixed = [_site(0, 0, 0, DamageLevel.SEVERE, decided=True), _site(1, 7.0, 0, DamageLevel.DEBRIS, decided=True)]
    assert sorted(match_sites(mixed, SurveySettings(), together=[[0, 1]])) == [[0], [1]]


def test_a_flight_that_saw_a_sites_place_well_and_found_nothing_is_named(flyover_map):
    """The same flight twice, the second's map without its most seen site: the survey names
    the second flight under that site's ``not_found_by``, and nowhere else."""
    from dataclasses import replace

    from geo.export.survey_html import render_survey_html
    from geo.export.survey_records import survey_site_records
    from geo.survey_fusion import FlightMap, fuse_flights

    damage_map, _ = flyover_map
    dropped = max(damage_map.fused, key=lambda f: f.frames_seen)
    blind = replace(damage_map, fused=[f for f in damage_map.fused if f is not dropped])
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"), FlightMap("tuesday", blind, "2018-10-13")])
    lonely = [s for s in built.sites if s.flights == ("monday",)]
    assert len(lonely) == 1 and lonely[0].not_found_by == ("tuesday",)
    assert all(not s.not_found_by for s in built.sites if s is not lonely[0])
    assert any("not_found_by" in note for note in built.notes)
    columns = {props["id"]: props for props, _ in survey_site_records(built)}
    assert columns[lonely[0].id]["not_found_by"] == "tuesday"
    assert "<td>Not found by</td><td>tuesday" in render_survey_html(built)


def test_a_flight_that_found_damage_a_few_metres_off_is_not_said_to_have_found_nothing(flyover_map):
    """One damage placed by two flights 7 m apart (past the gate that joins sites): two
    survey sites, and neither flight "saw the place well and found nothing" at the other's."""
    from geo.survey_fusion import FlightMap, _not_found_by

    damage_map, _ = flyover_map
    seen = max(damage_map.fused, key=lambda f: f.frames_seen).site
    local = damage_map.local
    east, north = local.to_local([seen.lon_deg], [seen.lat_deg])

    def site(flight, metres_east):
        lon, lat = local.to_lonlat(float(east[0]) + metres_east, float(north[0]))
        return SimpleNamespace(flights=(flight,), lon_deg=float(lon), lat_deg=float(lat), footprint_lonlat=(),
                               position_m=np.array([float(east[0]) + metres_east, float(north[0]), 4.0]))

    flights = [FlightMap("monday", damage_map, "2018-10-12"), FlightMap("tuesday", damage_map, "2018-10-13")]
    assert _not_found_by([site("monday", 0.0), site("tuesday", 7.0)], flights, local) == [(), ()]
    # the same place, the other flight's site far away: it saw the place well and found nothing there
    assert _not_found_by([site("monday", 0.0), site("tuesday", 60.0)], flights, local)[0] == ("tuesday",)


def test_the_surveys_note_counts_one_flight_in_the_singular(flyover_map):
    """The survey window shows this note under its flights: "1 flights" read wrong."""
    from geo.survey_fusion import FlightMap, fuse_flights

    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12")])
    assert built.notes[0].startswith("1 flight, ")
