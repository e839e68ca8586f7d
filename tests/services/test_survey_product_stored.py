"""The event and producer a survey keeps: a value an older version let into
``survey.json`` and this one refuses (a contact with a right-to-left override) is said
naming the manifest, and can be given again."""

from __future__ import annotations

import json

import pytest

from core.survey import Survey, SurveyError
from services import survey as surveys


@pytest.fixture
def survey(tmp_path):
    survey = Survey.create(tmp_path / "town")
    manifest = json.loads(survey.manifest_path.read_text())
    manifest["product"] = {"event": "Cyclone Idai", "contact": "ops@relief.\u202eelpmaxe"}
    survey.manifest_path.write_text(json.dumps(manifest))
    return Survey.open(survey.folder)


def test_a_kept_value_no_longer_valid_is_said_naming_the_manifest(survey):
    with pytest.raises(SurveyError, match=r"survey\.json': the event information kept is not valid"):
        surveys.check_survey_product(survey, analyst="A. Analyst")


def test_a_kept_value_no_longer_valid_can_be_given_again_and_is_kept(survey):
    assert surveys.check_survey_product(survey, contact="+258 84 000 0000")["contact"] == "+258 84 000 0000"
    assert surveys.keep_survey_product(survey, statuses=[], contact="+258 84 000 0000") == ["contact"]
    assert Survey.open(survey.folder).product == {"event": "Cyclone Idai", "contact": "+258 84 000 0000"}
