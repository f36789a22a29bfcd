"""Where the studio finds its resources and keeps its caches.

From a checkout, resources live in the repository (resources/, packaging/). An installed wheel
carries them inside the package, in studio/bundled/ (made by packaging/build_wheel.py), together
with what a checkout builds or takes from the system: the guest kernel, the initramfs and
SeaBIOS. Every location can be overridden by an environment variable so tests and CI can point
the studio at throwaway directories.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from studio import settings

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "bundled"  # only in an installed wheel
REPO_DIR = PACKAGE_DIR.parent
_ROOT = BUNDLED_DIR if BUNDLED_DIR.is_dir() else REPO_DIR
RESOURCES_DIR = _ROOT / "resources"
WEB_DIR = RESOURCES_DIR / "web"
PACKAGING_DIR = _ROOT / "packaging"
BUNDLED_KERNEL = BUNDLED_DIR / "kernel" / "bzImage"
BUNDLED_INITRD = BUNDLED_DIR / "kernel" / "initrd.cpio"
BUNDLED_BIOS = BUNDLED_DIR / "bios" / "bios.bin"


def cache_dir() -> Path:
    """The user's cache for downloaded bases, built kernels and builds: $STUDIO_CACHE_DIR, else
    the folder chosen in Settings (as it was when this process started), else the platform's."""
    override = os.environ.get("STUDIO_CACHE_DIR") or settings.cache_location_at_start()
    path = Path(override) if override else Path(platformdirs.user_cache_dir("image-studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The user's data directory: the default project and the recent-projects list."""
    override = os.environ.get("STUDIO_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir("image-studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path
