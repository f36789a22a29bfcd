"""A content-addressed store of file contents, shared by every base in the cache.

Objects are named by their SHA-256 and never change once written, so builds can
hard-link them instead of copying. Every write goes to a temporary file with a
name unique to that write, then is renamed into place: two threads or processes
writing the same object (or linking to the same destination) never share a
temporary file, and a reader sees a whole object or none.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from studio import paths
from studio.fsutil import CHUNK, atomic_write, fsync_dir

_TEMP_PREFIX = ".incoming-"  # objects being written; never a valid object name


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

    def add_stream(self, source: BinaryIO, limit: int | None = None) -> tuple[str, int]:
        """Store what `source` yields, read in chunks (never whole in memory); return its
        SHA-256 and size. Reading stops after `limit` bytes when given (a tar member's size).

        The bytes are hashed while they are written to a temporary file in the store, which
        is then renamed to its content's name, or dropped when the store has it already."""
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                while limit is None or size < limit:
                    chunk = source.read(CHUNK if limit is None else min(CHUNK, limit - size))
                    if not chunk:
                        break
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
                sha = digest.hexdigest()
                target = self.path(sha)
                new = not target.exists()
                if new:  # a copy we drop never needs to reach the disk
                    handle.flush()
                    os.fsync(handle.fileno())
            if new:  # (a writer racing us to the same object renames identical bytes: harmless)
                os.chmod(tmp, 0o444)
                target.parent.mkdir(exist_ok=True)
                os.replace(tmp, target)
                fsync_dir(target.parent)
            else:
                os.unlink(tmp)
        except BaseException:
            _unlink_quietly(Path(tmp))
            raise
        return sha, size

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def link_or_copy(self, sha256: str, dest: Path) -> None:
        """Put the object at `dest` (hard link when possible; objects are read-only)."""
        src = self.path(sha256)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(8)}.part")  # unique per call
        try:
            try:
                os.link(src, tmp)
            except OSError:  # another filesystem, or links not allowed: copy
                shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            # Gone after the rename, except when dest was already a link to the object: then
            # rename(2) does nothing and leaves tmp behind.
            _unlink_quietly(tmp)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
