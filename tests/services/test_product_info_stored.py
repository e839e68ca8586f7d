"""The event and producer stored in a project: a stored value an older version let in and
this one refuses (a contact with a right-to-left override) is said, and can be set again."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.store import ProjectStore
from services.package import PRODUCT_KEY, check_product_info, product_info, update_product_info


@pytest.fixture
def store(tmp_path):
    store = ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "flight.mp4")
    store.set_setting(PRODUCT_KEY, {"event": "Cyclone Idai", "contact": "ops@relief.\u202eelpmaxe"})
    yield store
    store.close()


def test_a_stored_value_no_longer_valid_is_said_naming_the_project(store):
    with pytest.raises(InputError, match=r"p\.dmproj: the stored event information is not valid .*set it again"):
        product_info(store)


def test_a_stored_value_no_longer_valid_can_be_set_again(store):
    updated = update_product_info(store, contact="+258 84 000 0000")
    assert (updated.event, updated.contact) == ("Cyclone Idai", "+258 84 000 0000")
    assert product_info(store) == updated


def test_changing_another_field_still_says_the_stored_one_is_not_valid(store):
    with pytest.raises(InputError, match="stored event information is not valid"):
        check_product_info(store, analyst="A. Analyst")
