from pathlib import Path

import pytest

from locator import Settings


def test_defaults_then_environment_then_explicit_overrides():
    env = {"LOCATOR_BOUNDARY_MARGIN_M": "150", "LOCATOR_GEOCODERS": "embedded, remote", "LOCATOR_DATA_DIR": "/srv/d"}
    s = Settings.from_env(env)
    assert s.boundary_margin_m == 150.0 and s.geocoders == ("embedded", "remote") and s.data_dir == Path("/srv/d")
    s2 = Settings.from_env(env, boundary_margin_m=50.0, data_dir=None)
    assert s2.boundary_margin_m == 50.0 and s2.data_dir == Path("/srv/d")
    assert Settings.from_env({}).boundary_margin_m == 300.0


def test_settings_are_frozen_and_replace_makes_a_new_object():
    s = Settings()
    with pytest.raises(AttributeError):
        s.boundary_margin_m = 1  # type: ignore[misc]
    assert s.replace(boundary_margin_m="10").boundary_margin_m == 10.0 and s.boundary_margin_m == 300.0


def test_unknown_setting_is_refused():
    with pytest.raises(TypeError):
        Settings().replace(colour="blue")


def test_empty_environment_value_keeps_the_default():
    assert Settings.from_env({"LOCATOR_REDIS_URL": ""}).redis_url is None


def test_optional_paths_from_the_environment_are_paths():
    assert Settings.from_env({"LOCATOR_INDEX_DIR": "/var/idx"}).index_dir == Path("/var/idx")
    assert Settings.from_env({}).index_dir is None
