"""Bases: pinned root filesystem tarballs, downloaded or local, imported once into the cache.

A base is named either `alpine:VERSION` (fetched from an Alpine release mirror,
its SHA-512 pinned here) or by a local tarball path (its SHA-512 recorded in the
project). Imported bases are cached as an index (JSON) plus the object store, so
opening a project never re-reads the tarball.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from studio import paths
from studio.errors import StudioError
from studio.fsutil import CHUNK, atomic_write, file_hash
from studio.image.entry import Entry
from studio.image.store import ObjectStore
from studio.image.tarimport import import_tarball

DEFAULT_MIRROR = "https://dl-cdn.alpinelinux.org/alpine"
MIRROR_ENV = "STUDIO_ALPINE_MIRROR"
ARCH = "x86"  # v86 emulates a 32-bit PC
INDEX_FORMAT = 1

# Alpine minirootfs releases for x86, pinned by the SHA-512 Alpine publishes beside them.
ALPINE_RELEASES = {
    "3.19.4": "acc290d1df5dad86910b2b6d1022b4f9b24e40384654b5e51689e54bac698eb222b3b3c14e01174c4e9188621af4acfdc46e87c6c5ff2a056d481978840a793e",
}
# A branch name picks its newest pinned release.
ALPINE_BRANCHES = {"3.19": "3.19.4"}
DEFAULT_BASE = "alpine:3.19"

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]


class DownloadCancelled(StudioError):
    pass


@dataclass(frozen=True)
class BaseSource:
    """Where a base comes from and the checksum it must have."""

    spec: str  # 'alpine:3.19' or 'file:NAME'
    filename: str
    sha512: str
    url: str = ""  # download URL (alpine bases)
    local_path: str = ""  # original tarball path (local bases)


def mirror_url(mirror: str | None = None) -> str:
    return (mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR).rstrip("/")


def alpine_source(version: str, mirror: str | None = None) -> BaseSource:
    release = ALPINE_BRANCHES.get(version, version)
    if release not in ALPINE_RELEASES:
        known = ", ".join(sorted(set(ALPINE_BRANCHES) | set(ALPINE_RELEASES)))
        raise StudioError(f"alpine:{version} is not a pinned base. Known versions: {known}. "
                          "Or pass a local tarball: --base PATH.tar.gz")
    branch = ".".join(release.split(".")[:2])
    filename = f"alpine-minirootfs-{release}-{ARCH}.tar.gz"
    url = f"{mirror_url(mirror)}/v{branch}/releases/{ARCH}/{filename}"
    return BaseSource(f"alpine:{version}", filename, ALPINE_RELEASES[release], url=url)


def local_source(path: Path) -> BaseSource:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise StudioError(f"{path} does not exist. --base takes alpine:VERSION or a path to a rootfs .tar.gz.")
    return BaseSource(f"file:{path.name}", path.name, file_hash(path, "sha512"), local_path=str(path))


def parse_base(spec: str, mirror: str | None = None) -> BaseSource:
    if spec.startswith("alpine:"):
        return alpine_source(spec.split(":", 1)[1], mirror)
    return local_source(Path(spec))


def cached_tarball(source: BaseSource) -> Path:
    return paths.cache_dir() / "downloads" / f"{source.sha512[:16]}-{source.filename}"


def fetch(source: BaseSource, progress: Progress | None = None, cancelled: Cancelled | None = None) -> Path:
    """The base tarball in the cache, downloaded or copied there first if needed, checksum verified."""
    report = progress or (lambda message, fraction: None)
    target = cached_tarball(source)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if source.local_path:
                with open(source.local_path, "rb") as src:
                    shutil.copyfileobj(src, out)
            else:
                _download(source.url, out, report, cancelled)
        actual = file_hash(tmp, "sha512")
        if actual != source.sha512:
            where = source.url or source.local_path
            raise StudioError(
                f"{source.filename} from {where} has the wrong checksum (sha512 {actual[:16]}…, "
                f"expected {source.sha512[:16]}…). The download is corrupt or the mirror serves another "
                "file; nothing was changed. Try again or use another --mirror."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _download(url: str, out, report: Progress, cancelled: Cancelled | None) -> None:
    try:
        response = urllib.request.urlopen(url, timeout=30)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise StudioError(
            f"cannot download {url}: {getattr(err, 'reason', err)}. Check the network, or point "
            f"--mirror / ${MIRROR_ENV} at a reachable Alpine mirror (file:// and http:// work)."
        ) from err
    with response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(CHUNK // 4):
            if cancelled and cancelled():
                raise DownloadCancelled(f"download of {url} cancelled")
            out.write(chunk)
            done += len(chunk)
            report(f"downloading {url.rsplit('/', 1)[-1]}: {done // 1024} KiB", done / total if total else 0.0)


@dataclass
class BaseIndex:
    """An imported base: its entries, by image path, plus what the import noted."""

    sha512: str
    arch: str
    entries: dict[str, Entry]
    notes: list[str]


def _index_path(sha512: str) -> Path:
    return paths.cache_dir() / "bases" / f"{sha512[:32]}.json"


def load_index(source: BaseSource, progress: Progress | None = None,
               cancelled: Cancelled | None = None, store: ObjectStore | None = None) -> BaseIndex:
    """The imported base, importing (and fetching) it first if the cache lacks it."""
    store = store or ObjectStore()
    index_file = _index_path(source.sha512)
    if index_file.exists():
        data = json.loads(index_file.read_text())
        if data.get("format") == INDEX_FORMAT and all(
            store.has(row[7]) for row in data["entries"] if row[1] == "file"
        ):
            return _decode(data)
    tarball = fetch(source, progress, cancelled)
    result = import_tarball(tarball, store, progress)
    data = {
        "format": INDEX_FORMAT,
        "sha512": source.sha512,
        "arch": result.arch,
        "notes": result.notes,
        "entries": [
            [e.path, e.kind, e.mode, e.uid, e.gid, e.size, e.mtime, e.sha256 if e.kind == "file" else e.target]
            for e in result.entries.values()
        ],
    }
    atomic_write(index_file, json.dumps(data, separators=(",", ":")))
    return _decode(data)


def _decode(data: dict) -> BaseIndex:
    entries = {}
    for path, kind, mode, uid, gid, size, mtime, extra in data["entries"]:
        if kind == "file":
            entries[path] = Entry(path, kind, mode, uid, gid, size, mtime, sha256=extra)
        else:
            entries[path] = Entry(path, kind, mode, uid, gid, size, mtime, target=extra)
    return BaseIndex(data["sha512"], data["arch"], entries, data["notes"])
