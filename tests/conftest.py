"""Shared fixtures. Real data comes from one setting, LOCATOR_TEST_DATA (CI points it at
../shared/data); tests that need it skip with the reason when it is absent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from locator import Locator, Settings

ROOT = Path(__file__).resolve().parent.parent
TESTS_DATA = Path(__file__).resolve().parent / "data"
PROJECT_DATA = ROOT / "data"


def _shared_dir() -> Path | None:
    raw = os.environ.get("LOCATOR_TEST_DATA")
    path = Path(raw) if raw else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (../shared/data); skips when it is not there."""
    path = _shared_dir()
    if path is None:
        pytest.skip("real test data not found: set LOCATOR_TEST_DATA to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def moselle() -> Locator:
    """The committed default data (Moselle, example bureaux)."""
    return Locator.from_data_dir(PROJECT_DATA, settings=Settings(data_dir=PROJECT_DATA))


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    return TESTS_DATA / "tiny"


@pytest.fixture
def tiny(tiny_dir) -> Locator:
    return Locator.from_data_dir(tiny_dir, settings=Settings(data_dir=tiny_dir))


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path
