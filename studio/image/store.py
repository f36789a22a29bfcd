"""A content-addressed store of file contents, shared by every base in the cache.

Objects are named by their SHA-256 and never change once written, so builds can
hard-link them instead of copying.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from studio import paths
from studio.fsutil import atomic_write


class ObjectStore:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else paths.cache_dir() / "objects"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def add(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            atomic_write(target, data, mode=0o444)
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def link_or_copy(self, sha256: str, dest: Path) -> None:
        """Put the object at `dest` (hard link when possible; objects are read-only)."""
        src = self.path(sha256)
        tmp = dest.with_name(dest.name + ".part")
        try:
            os.link(src, tmp)
        except OSError:
            tmp.write_bytes(src.read_bytes())
        os.replace(tmp, dest)
