"""One node of an image's root filesystem, and helpers for image paths and modes."""

from __future__ import annotations

import posixpath
import stat
from dataclasses import dataclass, replace

FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
KINDS = (FILE, DIR, SYMLINK)

_TYPE_BITS = {FILE: stat.S_IFREG, DIR: stat.S_IFDIR, SYMLINK: stat.S_IFLNK}


@dataclass(frozen=True, slots=True)
class Entry:
    """A file, directory or symlink at an absolute image path.

    `sha256` is the content hash of a file when known (always, for base files);
    `source` is where an overlay file's content lives on the host, None for base
    content (which lives in the object store under `sha256`); `stamp` is the overlay
    file's (size, mtime_ns, inode), which tells a build whether its cached hash still holds.
    """

    path: str
    kind: str
    mode: int  # permission bits only (0o7777)
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: int = 0
    target: str = ""  # symlink target, as written
    sha256: str = ""
    source: str | None = None
    stamp: tuple[int, int, int] | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.path) or "/"

    @property
    def st_mode(self) -> int:
        """Full st_mode, type bits included, as v86 expects."""
        return _TYPE_BITS[self.kind] | self.mode

    def evolve(self, **changes) -> "Entry":
        return replace(self, **changes)


def normalize(path: str) -> str:
    """An absolute, normalized image path ('/etc/inittab'); refuses paths climbing above '/'."""
    if not path:
        raise ValueError("empty image path")
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(f"image path climbs above the root: {path!r}")
            parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def parent(path: str) -> str:
    return posixpath.dirname(path) if path != "/" else "/"


def child(folder: str, name: str) -> str:
    """The image path of `name` inside `folder` ('/' + 'etc' -> '/etc')."""
    return f"/{name}" if folder == "/" else f"{folder}/{name}"


def ancestors(path: str) -> list[str]:
    """Proper ancestors of an image path, root first: '/a/b/c' -> ['/', '/a', '/a/b']."""
    result = ["/"]
    parts = path.strip("/").split("/")[:-1]
    for i in range(len(parts)):
        result.append("/" + "/".join(parts[: i + 1]))
    return result if path != "/" else []


def mode_string(kind: str, mode: int) -> str:
    """'drwxr-xr-x'-style rendering, like ls -l."""
    return stat.filemode(_TYPE_BITS[kind] | mode)
