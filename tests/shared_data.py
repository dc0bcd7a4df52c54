"""Where the shared reference data lives: $BULWARK_SHARED_DATA, else <repo>/../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

from tests.require import require

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())


def shared_data_dir() -> Path:
    """The shared data folder; when it is missing, fail under CI=true, else skip the test."""
    folder = Path(os.environ.get("BULWARK_SHARED_DATA") or REPO.parent / "shared" / "data")
    require(folder.is_dir(), f"shared data folder {folder} is missing (set BULWARK_SHARED_DATA)")
    return folder
