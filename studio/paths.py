"""Where the studio finds its resources and keeps its caches.

Every location can be overridden by an environment variable so tests and CI
can point the studio at throwaway directories.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
RESOURCES_DIR = REPO_DIR / "resources"
WEB_DIR = RESOURCES_DIR / "web"
PACKAGING_DIR = REPO_DIR / "packaging"


def cache_dir() -> Path:
    """The user's cache for downloaded bases, built kernels and builds."""
    override = os.environ.get("STUDIO_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir("image-studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The user's data directory: the default project and the recent-projects list."""
    override = os.environ.get("STUDIO_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir("image-studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path
