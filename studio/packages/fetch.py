"""Getting indexes and packages from repositories (Qt-free): file://, http:// and https://, with a
cache in the user's cache folder shared by every project, so that what was fetched once installs
offline afterwards.

    CACHE/packages/indexes/<hash of the index URL>.tar.gz   the last good APKINDEX.tar.gz
    CACHE/packages/apks/<name>-<version>.<C: as hex>.apk    packages, by their index checksum

An index that cannot be fetched is a warning naming its repository; the cached copy serves if
there is one, else that repository is left out. A package is only ever kept once it verified:
its checksum against the index, its signature against the trusted keys, its data against its
datahash (and the lock file's).
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from studio import paths
from studio.errors import StudioError
from studio.packages.apkfile import ApkFile, open_apk
from studio.packages.formats import SignatureError
from studio.packages.config import Repository
from studio.packages.index import read_apkindex
from studio.packages.keys import TrustedKeys
from studio.packages.model import Package

ARCH = "x86"
CHUNK = 1 << 16
TIMEOUT = 30
PARALLEL = 4

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]


class FetchCancelled(StudioError):
    pass


class FetchError(StudioError):
    pass


def cache_root() -> Path:
    return paths.cache_dir() / "packages"


def index_url(repository: Repository, arch: str = ARCH) -> str:
    return f"{repository.url}/{arch}/APKINDEX.tar.gz"


def package_url(repository_url: str, filename: str, arch: str = ARCH) -> str:
    return f"{repository_url}/{arch}/{urllib.parse.quote(filename)}"


def _open(url: str):
    """A readable response for file://, http:// and https:// URLs, with a size (or None)."""
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("file", "http", "https"):
        raise FetchError(f"{url}: only file://, http:// and https:// repositories are supported")
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        raise FetchError(f"{url}: the server answered {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise FetchError(f"{url}: {getattr(err, 'reason', err)}") from err
    length = response.headers.get("Content-Length")
    return response, int(length) if length and length.isdigit() else None


def download(url: str, target: Path, progress: Callable[[int], None] | None = None,
             cancelled: Cancelled | None = None, limit: int = 2 << 30) -> int:
    """Download `url` to `target` (atomically, a unique temporary name beside it); returns bytes.
    A download shorter than the size the server announced is an error, not a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    response, expected = _open(url)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=target.parent)
    done = 0
    try:
        with response, os.fdopen(fd, "wb") as out:
            while chunk := response.read(CHUNK):
                if cancelled and cancelled():
                    raise FetchCancelled(f"download of {url} cancelled")
                out.write(chunk)
                done += len(chunk)
                if done > limit:
                    raise FetchError(f"{url}: more than {limit >> 20} MiB; refusing it")
                if progress:
                    progress(len(chunk))
        if expected is not None and done != expected:
            raise FetchError(f"{url}: the download was cut short ({done} of {expected} bytes)")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return done


# -- indexes ------------------------------------------------------------------------------------
@dataclass
class LoadedIndexes:
    packages: list[Package] = field(default_factory=list)  # each with .repository set to its repo's name
    warnings: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)  # repository name -> its URL now


def index_cache(url: str) -> Path:
    return cache_root() / "indexes" / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".tar.gz")


def load_indexes(repositories: list[Repository], trusted: Callable[[Repository], TrustedKeys],
                 refresh: bool = True, arch: str = ARCH, cancelled: Cancelled | None = None) -> LoadedIndexes:
    """Every repository's packages, its index fetched anew (`refresh`) or from the cache, its
    signature checked with `trusted(repository)`. A repository that cannot be reached is a
    warning naming it (its cached index serves if there is one); a bad signature is an error."""
    result = LoadedIndexes()
    for repository in repositories:
        url = index_url(repository, arch)
        cached = index_cache(url)
        result.urls[repository.name] = repository.url
        # A folder on this machine is read afresh every time (cheap; the project's own changes).
        if refresh or not cached.exists() or repository.url.startswith("file:"):
            try:
                fresh = cached.with_name(cached.name + ".new")
                download(url, fresh, cancelled=cancelled, limit=256 << 20)
                index = read_apkindex(fresh, trusted(repository), what=f"APKINDEX of {repository.url}")
                os.replace(fresh, cached)  # only a verified index replaces the last good one
            except FetchError as err:
                Path(str(cached) + ".new").unlink(missing_ok=True)
                if cached.exists():
                    age = _age(cached)
                    result.warnings.append(f"repository {repository.url} cannot be reached ({err}); "
                                           f"using its index fetched {age}")
                else:
                    result.warnings.append(f"repository {repository.url} cannot be reached ({err}); "
                                           "its packages are left out")
                    continue
                index = read_apkindex(cached, trusted(repository), what=f"APKINDEX of {repository.url}")
        else:
            index = read_apkindex(cached, trusted(repository), what=f"APKINDEX of {repository.url}")
        for package in index.packages:
            package.repository = repository.name
        result.packages.extend(p for p in index.packages if p.arch in (arch, "noarch", ""))
    return result


def _age(path: Path) -> str:
    seconds = time.time() - path.stat().st_mtime
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} hours ago"
    return f"{int(seconds // 86400)} days ago"


# -- packages ------------------------------------------------------------------------------------
def checksum_hex(checksum: str) -> str:
    """The index's `Q1…` checksum as hex (a file-name-safe form)."""
    if not checksum.startswith("Q1"):
        raise FetchError(f"unsupported package checksum {checksum!r} (expected Q1…)")
    return base64.b64decode(checksum[2:]).hex()


def cached_package(name: str, version: str, checksum: str) -> Path:
    return cache_root() / "apks" / f"{name}-{version}.{checksum_hex(checksum)}.apk"


@dataclass
class Wanted:
    """A package to have in the cache: where to get it and what it must be."""

    name: str
    version: str
    checksum: str
    size: int
    url: str  # where it comes from
    trusted: TrustedKeys
    datahash: str = ""  # from the lock file, when known


def fetch_packages(wanted: list[Wanted], progress: Progress | None = None, cancelled: Cancelled | None = None,
                   workers: int = PARALLEL) -> dict[str, ApkFile]:
    """Make sure every wanted package is in the cache, verified; download what is missing in
    parallel (progress in bytes of the total, cancellable). Returns the opened packages by name.
    Nothing partial is ever kept: a failure names the package and what did not match."""
    report = progress or (lambda message, fraction: None)
    total = sum(w.size for w in wanted) or 1
    done = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def is_cancelled() -> bool:
        return stop.is_set() or bool(cancelled and cancelled())

    def grew(name: str, count: int) -> None:
        with lock:
            done[0] += count
            report(f"downloading {name}", min(0.99, done[0] / total))

    def one(item: Wanted) -> tuple[str, ApkFile]:
        target = cached_package(item.name, item.version, item.checksum)
        what = f"package {item.name}-{item.version}"
        if target.exists():
            try:
                grew(item.name, item.size)
                # Verified whole when it was kept; reading it again (extraction) checks its data again.
                return item.name, _verify(target, item, what)
            except SignatureError:
                pass  # the same package signed by a key this project does not trust: fetch its own copy
        staging = target.with_name(target.name + f".{threading.get_ident()}.part")
        try:
            download(item.url, staging, lambda n: grew(item.name, n), is_cancelled)
            apk = _verify(staging, item, what)
            apk.verify()  # all of it, before it is kept
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)
        return item.name, _verify(target, item, what)

    opened: dict[str, ApkFile] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="apk-fetch") as pool:
        futures = [pool.submit(one, w) for w in wanted]
        try:
            for future in futures:
                name, apk = future.result()
                opened[name] = apk
        except BaseException:
            stop.set()
            raise
    report("packages ready", 1.0)
    return opened


def _verify(path: Path, item: Wanted, what: str) -> ApkFile:
    """Open a package checking its signature, its checksum against the index's and its datahash
    against the lock file's (its data is checked against the datahash when it is read)."""
    apk = open_apk(path, item.trusted, expected_checksum=item.checksum, what=what)
    if item.datahash and apk.info.datahash.lower() != item.datahash.lower():
        raise StudioError(f"{what}: its datahash is {apk.info.datahash}, the lock file says {item.datahash}: "
                          "the repository serves other bytes than the ones locked. Nothing was installed.")
    return apk
