import dataclasses

import pytest

from core.types import DamageLevel, Detection, Origin, ReviewState, TelemetrySample


@pytest.mark.parametrize("text,level", [("slight", DamageLevel.SLIGHT), ("SEVERE", DamageLevel.SEVERE), ("3", DamageLevel.DEBRIS), (2, DamageLevel.SEVERE)])
def test_damage_level_parses_names_and_ids(text, level):
    assert DamageLevel.parse(text) is level


def test_unknown_level_lists_the_valid_values():
    with pytest.raises(ValueError, match="slight \\(1\\), severe \\(2\\), debris \\(3\\)"):
        DamageLevel.parse("bad")


def test_review_and_origin_parse_case_insensitively():
    assert ReviewState.parse("Accepted") is ReviewState.ACCEPTED
    assert Origin.parse("ADDED") is Origin.ADDED


def test_detection_checks_score_and_box():
    det = Detection(0, DamageLevel.SLIGHT, 0.5, (1.0, 2.0, 3.0, 4.0))
    assert det.final_score == 0.5
    assert dataclasses.replace(det, refined_score=0.6).final_score == 0.6
    with pytest.raises(ValueError, match="score"):
        Detection(0, DamageLevel.SLIGHT, 1.5, (1.0, 2.0, 3.0, 4.0))
    with pytest.raises(ValueError, match="x1 <= x2"):
        Detection(0, DamageLevel.SLIGHT, 0.5, (5.0, 2.0, 3.0, 4.0))


def test_telemetry_sample_refuses_impossible_coordinates():
    with pytest.raises(ValueError, match="lat_deg"):
        TelemetrySample(0.0, 91.0, 0.0)
    with pytest.raises(ValueError, match="lon_deg"):
        TelemetrySample(0.0, 0.0, float("nan"))


@pytest.mark.parametrize(
    ("origin", "review", "reviewed", "confirmed"),
    [
        (Origin.MODEL, ReviewState.PENDING, False, False),
        (Origin.MODEL, ReviewState.ACCEPTED, True, True),
        (Origin.MODEL, ReviewState.REJECTED, True, False),  # looked at, and thrown out
        (Origin.EDITED, ReviewState.PENDING, True, True),  # relabelled or redrawn, then reset
        (Origin.EDITED, ReviewState.REJECTED, True, False),
        (Origin.ADDED, ReviewState.ACCEPTED, True, True),
    ],
)
def test_one_meaning_of_reviewed(origin, review, reviewed, confirmed):
    det = Detection(0, DamageLevel.SLIGHT, 0.3, (0.0, 0.0, 4.0, 4.0), origin=origin, review=review)
    assert (det.reviewed, det.confirmed) == (reviewed, confirmed)
