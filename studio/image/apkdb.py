"""Alpine's package database (/lib/apk/db/installed): which package owns a path, and the
checksum the package shipped for it (Qt-free)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

DB_PATH = "/lib/apk/db/installed"


@dataclass(frozen=True, slots=True)
class Owned:
    package: str
    version: str
    sha1: bytes | None  # from the Z:Q1… line; None for folders and unchecksummed files


def parse_installed(text: str) -> dict[str, Owned]:
    """Map image paths to their owning package. Folders (F:) and files (R:) are both listed."""
    owners: dict[str, Owned] = {}
    package = version = ""
    folder = ""
    last_file = ""
    for line in text.splitlines():
        if not line:
            package = version = folder = last_file = ""
            continue
        key, _, value = line.partition(":")
        if key == "P":
            package = value
        elif key == "V":
            version = value
        elif key == "F":
            folder = "/" + value
            owners.setdefault(folder, Owned(package, version, None))
        elif key == "R":
            last_file = f"{folder}/{value}" if folder else "/" + value
            owners[last_file] = Owned(package, version, None)
        elif key == "Z" and last_file and value.startswith("Q1"):
            owners[last_file] = Owned(package, version, base64.b64decode(value[2:]))
    return owners


def apk_sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()
