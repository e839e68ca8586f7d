"""A package's name, made from what the analyst typed: letters kept, accents dropped."""

from __future__ import annotations

import pytest

from geo.export.products import ProductInfo


@pytest.mark.parametrize(("event", "area", "expected"), [
    ("Séisme Haïti 08/2021: Les Cayes", "AOI 1", "SEISME-HAITI-08-2021-LES-CAYES_AOI1_FEP_DRONE_v01"),
    ("Überschwemmung Straße", "Zône 2", "UBERSCHWEMMUNG-STRASSE_ZONE2_FEP_DRONE_v01"),
    ("Hurricane Michael", "", "HURRICANE-MICHAEL_AOI01_FEP_DRONE_v01"),
    ("Землетрясение", "", "DAMAGEMAP_AOI01_FEP_DRONE_v01"),  # no Latin letters: the fallback
])
def test_the_name_keeps_accented_letters(event, area, expected):
    assert ProductInfo(event=event, area=area or "AOI01").product_name("FEP") == expected
