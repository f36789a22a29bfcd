"""Write the merged image out as a real directory tree (for QEMU's virtio-9p, or to inspect it).

Owners are applied only when running as root; modes always are (directories get their
mode after their contents are written, so read-only directories can still be filled).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from studio.image.entry import DIR, FILE, SYMLINK
from studio.image.project import Project
from studio.image.store import ObjectStore


def materialize(project: Project, target: Path, store: ObjectStore | None = None) -> int:
    """Write the image into `target` (which must not exist). Returns the number of entries."""
    store = store or ObjectStore()
    target = Path(target)
    target.mkdir(parents=True)
    entries = project.merged()
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    for path in sorted(entries):
        entry = entries[path]
        host = target / path.lstrip("/") if path != "/" else target
        if entry.kind == DIR:
            host.mkdir(exist_ok=True)
        elif entry.kind == SYMLINK:
            os.symlink(entry.target, host)
        elif entry.kind == FILE:
            shutil.copyfile(entry.source or store.path(entry.sha256), host)
    for path in sorted(entries, reverse=True):  # children before parents
        entry = entries[path]
        host = target / path.lstrip("/") if path != "/" else target
        if as_root:
            os.lchown(host, entry.uid, entry.gid)
        if entry.kind != SYMLINK:
            os.chmod(host, entry.mode)
    return len(entries)
