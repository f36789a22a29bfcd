"""The studio's own settings (Qt-free): one small JSON file that the GUI writes and the CLI reads.

    ~/.config/image-studio/settings.json       ($STUDIO_CONFIG_DIR names another folder)
    {"alpine_mirror": "https://…", "cache_dir": "/big/disk/studio-cache",
     "compile_cache_limit": 2147483648, "blob_cache_limit": 1073741824}

A missing file or key means the default. Environment variables still win over the file
($STUDIO_ALPINE_MIRROR, $STUDIO_CACHE_DIR): a test or a one-off command can point elsewhere
without touching what the user chose. The cache location is read once per process
(`cache_location_at_start`): changing it takes effect the next time the studio starts, so a
running studio never splits its caches between two folders.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import platformdirs

from studio.errors import StudioError
from studio.fsutil import atomic_write

CONFIG_ENV = "STUDIO_CONFIG_DIR"
FILE_NAME = "settings.json"
GiB = 1 << 30
MiB = 1 << 20

DEFAULTS: dict[str, object] = {
    "alpine_mirror": "",  # empty: $STUDIO_ALPINE_MIRROR, else Alpine's CDN
    "cache_dir": "",  # empty: $STUDIO_CACHE_DIR, else the platform's user cache folder
    "compile_cache_limit": 2 * GiB,  # compiled programs, least recently used pruned past this
    "blob_cache_limit": 1 * GiB,  # the web export's compressed file contents, likewise
}
LIMIT_KEYS = ("compile_cache_limit", "blob_cache_limit")


def config_dir() -> Path:
    override = os.environ.get(CONFIG_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir("image-studio"))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def load() -> dict[str, object]:
    """Every setting: the file's values over the defaults."""
    path = settings_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return dict(DEFAULTS)
    except (OSError, UnicodeDecodeError) as err:
        raise StudioError(f"cannot read the studio's settings {path} ({err}); fix its permissions, or delete "
                          "it to go back to the defaults") from err
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise StudioError(f"the studio's settings {path} are not valid JSON ({err}); fix the file, or delete it "
                          "to go back to the defaults") from err
    if not isinstance(data, dict):
        raise StudioError(f"the studio's settings {path} must be a JSON object; delete the file to go back "
                          "to the defaults")
    values = dict(DEFAULTS)
    for key, value in data.items():
        if key in DEFAULTS:
            values[key] = _checked(key, value, path)
    return values


def save(changes: dict[str, object]) -> dict[str, object]:
    """Write `changes` (validated first: nothing is written when one is wrong); returns all settings.
    Keys the file holds that this version does not know are kept."""
    path = settings_path()
    wrong = problems(changes)
    if wrong:
        raise StudioError("; ".join(wrong))
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        stored = stored if isinstance(stored, dict) else {}
    except (OSError, ValueError):
        stored = {}
    stored.update(changes)
    atomic_write(path, json.dumps(stored, indent=2, sort_keys=True) + "\n")
    return load()


def problems(changes: dict[str, object]) -> list[str]:
    """What is wrong with `changes`, one message each (empty: `save` would take them)."""
    found = []
    for key, value in changes.items():
        try:
            if key not in DEFAULTS:
                raise StudioError(f"{key!r} is not a studio setting; known: {', '.join(DEFAULTS)}")
            _checked(key, value, None)
        except StudioError as err:
            found.append(str(err))
    return found


def _checked(key: str, value: object, path: Path | None) -> object:
    where = f" in {path}" if path else ""
    if key in LIMIT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StudioError(f"{key}{where} must be a size in bytes (a whole number, 0 or more), not {value!r}")
        return value
    if not isinstance(value, str):
        raise StudioError(f"{key}{where} must be text, not {value!r}")
    value = value.strip()
    if key == "alpine_mirror" and value and not value.startswith(("http://", "https://", "file://")):
        raise StudioError(f"the Alpine mirror{where} must be an http://, https:// or file:// URL "
                          f"(e.g. https://dl-cdn.alpinelinux.org/alpine), not {value!r}")
    if key == "cache_dir" and value and not Path(value).expanduser().is_absolute():
        raise StudioError(f"the cache location{where} must be an absolute folder path, not {value!r}")
    return value


def alpine_mirror() -> str:
    """The mirror the user chose, or '' (then $STUDIO_ALPINE_MIRROR or Alpine's CDN)."""
    return str(load()["alpine_mirror"]).rstrip("/")


def cache_limit(key: str) -> int:
    """A cache's size limit in bytes ('compile_cache_limit' or 'blob_cache_limit')."""
    if key not in LIMIT_KEYS:
        raise KeyError(key)
    try:
        return int(load()[key])
    except StudioError:
        return int(DEFAULTS[key])  # a broken settings file must not stop a compile or an export


@functools.cache
def cache_location_at_start() -> str:
    """The cache folder the user chose, as it was when this process first asked ('' = default):
    a change made while the studio runs takes effect at its next start."""
    try:
        value = str(load()["cache_dir"])
    except StudioError:
        return ""
    return str(Path(value).expanduser()) if value else ""
