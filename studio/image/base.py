"""Bases: pinned root filesystem tarballs, downloaded or local, imported once into the cache.

A base is named either `alpine:VERSION` (fetched from an Alpine release mirror) or by a local
tarball path (its SHA-512 recorded in the project). Imported bases are cached as an index (JSON)
plus the object store, so opening a project never re-reads the tarball.

Which SHA-512 an Alpine release must have:
  - a release pinned here (ALPINE_RELEASES) has the checksum Alpine published, in the code;
    a mirror that publishes another one for it is refused;
  - any other release the mirror offers takes the checksum the mirror publishes beside it (its
    latest-releases.yaml, or the tarball's .sha512 file): trust on first use. The project then
    records it in studio.toml like a local tarball's, so every later download (another machine,
    another mirror) must match it, and the cache keeps a record of it (`releases/`), so a release
    downloaded once is listed and usable offline.

Listing releases (`list_releases`) reads the mirror as Alpine lays it out: one directory per
branch (`MIRROR/v3.19/`) and in each `releases/x86/latest-releases.yaml`, the records of the
branch's newest release (one per flavor; the minirootfs is flavor `alpine-minirootfs`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from studio import paths, settings
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
FLAVOR = "alpine-minirootfs"
LISTED_BRANCHES = 6  # how many of the mirror's newest branches a listing reads
_VERSION = re.compile(r"^\d{1,3}\.\d{1,3}(\.\d{1,3})?$")  # 3.19 (a branch) or 3.19.4 (a release)
_SHA512 = re.compile(r"^[0-9a-f]{128}$")
_SMALL_FILE = 1 << 20  # listings, latest-releases.yaml and .sha512 files are read up to this size
_NOT_FOUND = (404, 410)

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
    """The mirror to use: the one asked for, else $STUDIO_ALPINE_MIRROR, else the one chosen in
    Settings, else Alpine's CDN."""
    try:
        chosen = settings.alpine_mirror()
    except StudioError:
        chosen = ""  # a broken settings file is reported by the Settings dialog, not here
    return (mirror or os.environ.get(MIRROR_ENV) or chosen or DEFAULT_MIRROR).rstrip("/")


def release_filename(release: str) -> str:
    return f"{FLAVOR}-{release}-{ARCH}.tar.gz"


def release_url(release: str, mirror: str | None = None) -> str:
    branch = ".".join(release.split(".")[:2])
    return f"{mirror_url(mirror)}/v{branch}/releases/{ARCH}/{release_filename(release)}"


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise StudioError(f"alpine:{version} is not an Alpine version: write it like alpine:3.19 (a branch) "
                          "or alpine:3.19.4 (a release).")
    return version


def alpine_source(version: str, mirror: str | None = None, sha512: str | None = None) -> BaseSource:
    """The base `alpine:VERSION`: its download URL on `mirror` and the SHA-512 it must have, the
    pinned one, else `sha512` (the mirror's, or a project's studio.toml), else the one the cache
    recorded when it downloaded that release. Empty when none is known: `fetch` then refuses it
    (a project opened elsewhere brings its own from studio.toml)."""
    release = ALPINE_BRANCHES.get(check_version(version), version)
    pinned = ALPINE_RELEASES.get(release)
    if pinned and sha512 and sha512 != pinned:
        raise StudioError(f"alpine:{release} has the SHA-512 {pinned[:16]}… pinned in Image Studio, not "
                          f"{sha512[:16]}…: the mirror (or studio.toml) names another file. Use another mirror.")
    checksum = pinned or sha512 or _recorded_sha512(release)
    return BaseSource(f"alpine:{version}", release_filename(release), checksum, url=release_url(release, mirror))


def local_source(path: Path) -> BaseSource:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise StudioError(f"{path} does not exist. --base takes alpine:VERSION or a path to a rootfs .tar.gz.")
    return BaseSource(f"file:{path.name}", path.name, file_hash(path, "sha512"), local_path=str(path))


def parse_base(spec: str, mirror: str | None = None) -> BaseSource:
    """`alpine:VERSION` or a tarball path. An Alpine version not pinned here is looked up: in the
    cache's records (offline), else on the mirror, whose checksum it then takes; an unpinned
    branch (`alpine:3.20`) becomes the mirror's newest release of it (`alpine:3.20.3`)."""
    if not spec.startswith("alpine:"):
        return local_source(Path(spec))
    version = check_version(spec.split(":", 1)[1])
    if ALPINE_BRANCHES.get(version, version) in ALPINE_RELEASES:
        return alpine_source(version, mirror)
    try:
        release = _find_release(version, mirror)
    except MirrorError as err:
        known = ", ".join(sorted(set(ALPINE_BRANCHES) | set(ALPINE_RELEASES)))
        raise StudioError(
            f"alpine:{version} is not a pinned base (pinned: {known}) and the cache has no copy of it; "
            f"asking the mirror for its checksum failed: {err} Pick a pinned or listed release "
            "(the New Project dialog lists them), or pass a local tarball: --base PATH.tar.gz"
        ) from err
    return alpine_source(release.version, mirror, sha512=release.sha512)


def cached_tarball(source: BaseSource) -> Path:
    return paths.cache_dir() / "downloads" / f"{source.sha512[:16]}-{source.filename}"


def fetch(source: BaseSource, progress: Progress | None = None, cancelled: Cancelled | None = None) -> Path:
    """The base tarball in the cache, downloaded or copied there first if needed, checksum verified."""
    report = progress or (lambda message, fraction: None)
    if not _SHA512.match(source.sha512):
        raise StudioError(f"no SHA-512 is known for {source.filename}, so it cannot be checked: pick a pinned or "
                          "listed release (studio new --base alpine:VERSION asks the mirror for it).")
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
    if source.url:
        _record_release(source)
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


def cached_index(source: BaseSource, store: ObjectStore | None = None) -> BaseIndex | None:
    """The imported base when the cache holds it whole; None otherwise (nothing is fetched)."""
    store = store or ObjectStore()
    index_file = _index_path(source.sha512)
    if not index_file.exists():
        return None
    data = json.loads(index_file.read_text())
    if data.get("format") == INDEX_FORMAT and all(
        store.has(row[7]) for row in data["entries"] if row[1] == "file"
    ):
        return _decode(data)
    return None


def load_index(source: BaseSource, progress: Progress | None = None,
               cancelled: Cancelled | None = None, store: ObjectStore | None = None) -> BaseIndex:
    """The imported base, importing (and fetching) it first if the cache lacks it."""
    store = store or ObjectStore()
    cached = cached_index(source, store)
    if cached is not None:
        return cached
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
    atomic_write(_index_path(source.sha512), json.dumps(data, separators=(",", ":")))
    return _decode(data)


def _decode(data: dict) -> BaseIndex:
    entries = {}
    for path, kind, mode, uid, gid, size, mtime, extra in data["entries"]:
        if kind == "file":
            entries[path] = Entry(path, kind, mode, uid, gid, size, mtime, sha256=extra)
        else:
            entries[path] = Entry(path, kind, mode, uid, gid, size, mtime, target=extra)
    return BaseIndex(data["sha512"], data["arch"], entries, data["notes"])


# -- Alpine releases: what the mirror offers, what the cache holds -------------------------------

class MirrorError(StudioError):
    """The mirror could not be read; the message names the URL and the cause."""


@dataclass(frozen=True)
class Release:
    """An Alpine minirootfs release for x86, and where its SHA-512 comes from."""

    version: str  # '3.19.4'
    sha512: str
    checksum_from: str  # 'pinned' (in this module), 'mirror' (checksum_url) or 'cache' (recorded at download)
    checksum_url: str = ""  # the mirror file that published the checksum (or the release was downloaded from)
    on_mirror: bool = False
    cached: bool = False
    date: str = ""  # the mirror's release date, when it says
    size: int = 0
    problem: str = ""  # why it must not be used (its checksums disagree); empty when usable

    @property
    def branch(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def filename(self) -> str:
        return release_filename(self.version)

    @property
    def spec(self) -> str:
        return f"alpine:{self.version}"

    @property
    def pinned(self) -> bool:
        return self.checksum_from == "pinned"

    def source(self, mirror: str | None = None) -> BaseSource:
        """The base to create a project on (the checksum this listing trusts)."""
        if self.problem:
            raise StudioError(f"Alpine {self.version} cannot be used: {self.problem}")
        return alpine_source(self.version, mirror, sha512=self.sha512)

    def marks(self) -> list[str]:
        """Short words for a list: 'pinned', 'on the mirror', 'in the cache', 'refused'."""
        words = ["pinned"] if self.pinned else []
        words += ["on the mirror"] if self.on_mirror else []
        words += ["in the cache"] if self.cached else []
        return words + (["refused"] if self.problem else [])

    def trust(self) -> str:
        """Where the checksum comes from and what that means, in a sentence or two for the user."""
        if self.problem:
            return self.problem
        if self.pinned:
            text = "Its SHA-512 is pinned in Image Studio (the one Alpine published); the download must match it."
        elif self.checksum_from == "mirror":
            text = (f"Image Studio does not pin {self.version}: its SHA-512 is the one the mirror publishes "
                    f"({self.checksum_url}). The new project records it in studio.toml, and every later "
                    "download must match it.")
            if _plain_http(self.checksum_url):
                text += " The mirror speaks plain http: anyone on the way could change file and checksum alike."
        else:
            text = (f"Image Studio does not pin {self.version}: its SHA-512 is the one recorded when it was "
                    f"downloaded ({self.checksum_url}), and the new project records it in studio.toml.")
        if self.cached:
            text += " It is in the cache: creating a project needs no network."
        return text


@dataclass
class ReleaseList:
    mirror: str
    releases: list[Release] = field(default_factory=list)  # newest first
    error: str = ""  # why the mirror (or part of it) could not be read; the rest is still listed

    def find(self, version: str) -> Release | None:
        return next((r for r in self.releases if r.version == version), None)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def local_releases() -> list[Release]:
    """The pinned releases and the ones in the cache, without asking any mirror."""
    found: dict[str, Release] = {}
    for version, sha512 in ALPINE_RELEASES.items():
        found[version] = Release(version, sha512, "pinned", cached=_in_cache(version, sha512))
    for record in _release_records():
        version, sha512 = record["version"], record["sha512"]
        if not _in_cache(version, sha512):
            continue
        known = found.get(version)
        if known is None:
            found[version] = Release(version, sha512, "cache", record.get("url", ""), cached=True)
        elif known.sha512 != sha512 and known.checksum_from == "cache":
            found[version] = replace(known, problem=f"the cache holds two different files for {version}; "
                                     f"delete {paths.cache_dir() / 'releases'} to start over.")
    return sorted(found.values(), key=lambda r: version_key(r.version), reverse=True)


def list_releases(mirror: str | None = None, branches: int = LISTED_BRANCHES, timeout: float = 15.0) -> ReleaseList:
    """Every release to offer: the pinned ones, the cached ones and the mirror's newest of each of
    its `branches` newest branches. An unreachable mirror is said in `error`, never raised: the
    pinned and cached releases are listed anyway."""
    url = mirror_url(mirror)
    listing = ReleaseList(url)
    found = {r.version: r for r in local_releases()}
    try:
        offered, problems = mirror_releases(url, branches, timeout)
    except MirrorError as err:
        listing.error = f"{err} Listed: the releases in the cache and those pinned in Image Studio."
        offered, problems = [], []
    for release in offered:
        known = found.get(release.version)
        if known is None:
            found[release.version] = release
        elif known.sha512 == release.sha512:
            found[release.version] = replace(known, on_mirror=True, date=release.date, size=release.size)
        else:
            where = "pinned in Image Studio" if known.pinned else "recorded when it was downloaded"
            found[release.version] = replace(known, on_mirror=True, problem=(
                f"the mirror's SHA-512 for {release.version} ({release.sha512[:16]}…, {release.checksum_url}) "
                f"differs from the one {where} ({known.sha512[:16]}…): the mirror serves another file. "
                "Use another mirror."))
    if problems and not listing.error:
        listing.error = " ".join(problems)
    listing.releases = sorted(found.values(), key=lambda r: version_key(r.version), reverse=True)
    return listing


def mirror_releases(mirror: str | None = None, branches: int = LISTED_BRANCHES,
                    timeout: float = 15.0) -> tuple[list[Release], list[str]]:
    """The mirror's newest release of each of its newest branches, with the mirror's checksums,
    and the problems of branches that could not be read. Raises MirrorError when the mirror
    itself cannot be reached."""
    url = mirror_url(mirror)
    names = mirror_branches(url, timeout)[:branches] or ["latest-stable"]
    releases: list[Release] = []
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=min(4, len(names))) as pool:
        outcomes = list(pool.map(lambda name: _branch_outcome(url, name, timeout), names))
    for outcome in outcomes:
        if isinstance(outcome, MirrorError):
            problems.append(str(outcome))
        else:
            releases.extend(outcome)
    if problems and not releases:
        raise MirrorError(problems[0])
    if not releases:
        raise MirrorError(f"{url} lists no Alpine minirootfs releases for {ARCH} (no {_branch_hint(names)}): "
                          "is it an Alpine mirror, the folder holding v3.19/, v3.20/, …?")
    seen: dict[str, Release] = {}
    for release in releases:  # latest-stable repeats a numbered branch
        seen.setdefault(release.version, release)
    return list(seen.values()), problems


def _branch_hint(names: list[str]) -> str:
    return f"{names[0]}/releases/{ARCH}/latest-releases.yaml" + (f" in {len(names)} branches" if len(names) > 1 else "")


def mirror_branches(mirror: str | None = None, timeout: float = 15.0) -> list[str]:
    """The release branches on the mirror ('v3.20', 'v3.19', …), newest first, from its top
    directory (a local folder for file://, the server's index page for http(s)). Empty when the
    server shows no index; raises MirrorError when the mirror cannot be reached."""
    url = mirror_url(mirror)
    if url.startswith("file:"):
        root = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        try:
            names = [entry.name for entry in os.scandir(root) if entry.is_dir()]
        except OSError as err:
            raise MirrorError(f"cannot read the mirror {url}: {err.strerror or err}. Check the path, or use "
                              "another mirror URL.") from err
    else:
        page = _read_small(url + "/", timeout, missing=(403, 404))  # a server may show no index
        text = page.decode("utf-8", "replace") if page else ""
        names = [name.rstrip("/").rsplit("/", 1)[-1] for name in re.findall(r'href="([^"?#]+)"', text)]
    found = {name for name in names if name.startswith("v") and _VERSION.match(name[1:])}
    return sorted(found, key=version_key, reverse=True)


def parse_latest_releases(text: str) -> list[dict[str, str]]:
    """The records of a latest-releases.yaml: a YAML list of flat mappings (title, desc, branch,
    arch, version, flavor, file, date, size, sha256, sha512, …). Only as much YAML as that shape
    needs: a value continued on more-indented lines (a block scalar `desc: |`, a quoted string
    over several lines) is skipped, so text inside it is never taken for a key."""
    records: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    key_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if stripped == "-" or stripped.startswith("- "):
            current = {}
            records.append(current)
            rest = stripped[1:].lstrip()
            key_indent = indent + (len(stripped) - len(rest)) if rest else None
            stripped = rest
            if not rest:
                continue
        elif current is None:
            continue
        elif key_indent is None:
            key_indent = indent
        elif indent > key_indent:
            continue  # the rest of a multi-line value
        match = re.match(r"^([\w.-]+):(?:\s+(.*))?$", stripped)
        if match:
            current[match[1]] = _scalar(match[2] or "")
    return records


def _scalar(value: str) -> str:
    if value in ("|", ">", "|-", ">-"):
        return ""  # a block scalar: its lines follow, more indented
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def _branch_outcome(url: str, branch: str, timeout: float) -> list[Release] | MirrorError:
    try:
        return _branch_releases(url, branch, timeout)
    except MirrorError as err:
        return err


def _branch_releases(url: str, branch: str, timeout: float) -> list[Release]:
    """The minirootfs releases for x86 in one branch's latest-releases.yaml (none when the branch
    has no x86 releases), with the yaml's SHA-512, or the .sha512 file beside the tarball."""
    index_url = f"{url}/{branch}/releases/{ARCH}/latest-releases.yaml"
    data = _read_small(index_url, timeout, missing=_NOT_FOUND)
    if data is None:
        return []
    releases = []
    for record in parse_latest_releases(data.decode("utf-8", "replace")):
        version = record.get("version", "")
        if record.get("flavor") != FLAVOR or record.get("arch", ARCH) != ARCH or not _VERSION.match(version):
            continue
        if record.get("file", release_filename(version)) != release_filename(version):
            continue  # a file the studio would not find by its version
        sha512, checksum_url = record.get("sha512", "").lower(), index_url
        if not _SHA512.match(sha512):
            sha512, checksum_url = mirror_checksum(version, url, timeout)
        size = record.get("size", "")
        releases.append(Release(version, sha512, "mirror", checksum_url, on_mirror=True,
                                date=record.get("date", ""), size=int(size) if size.isdigit() else 0))
    return releases


def mirror_checksum(version: str, mirror: str | None = None, timeout: float = 15.0) -> tuple[str, str]:
    """The SHA-512 the mirror publishes for a release, from the .sha512 file beside its tarball
    (`HASH  FILENAME`), and that file's URL. Raises MirrorError when it is missing or malformed."""
    sums_url = release_url(version, mirror) + ".sha512"
    data = _read_small(sums_url, timeout, missing=_NOT_FOUND)
    if data is None:
        raise MirrorError(f"the mirror has no {sums_url.rsplit('/', 1)[-1]} ({sums_url}): it does not offer "
                          f"Alpine {version} for {ARCH}.")
    for line in data.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].lstrip("*") == release_filename(version) and _SHA512.match(parts[0].lower()):
            return parts[0].lower(), sums_url
        if len(parts) == 1 and _SHA512.match(parts[0].lower()):
            return parts[0].lower(), sums_url
    raise MirrorError(f"{sums_url} holds no SHA-512 for {release_filename(version)}.")


def _find_release(version: str, mirror: str | None) -> Release:
    """An unpinned `alpine:VERSION` (a release or a branch): the cache's record first (works
    offline), else the mirror's checksum. Raises MirrorError when neither knows it."""
    if version.count(".") == 2:
        for release in local_releases():
            if release.version == version and not release.problem:
                return release
        sha512, checksum_url = mirror_checksum(version, mirror)
        return Release(version, sha512, "mirror", checksum_url, on_mirror=True)
    url = mirror_url(mirror)
    try:
        newest = _branch_releases(url, f"v{version}", 15.0)
    except MirrorError:
        newest = []
    if not newest:  # offline, or the branch has no listing: the newest cached release of it
        newest = [r for r in local_releases() if r.branch == version and not r.problem]
    if not newest:
        raise MirrorError(f"neither the cache nor {url}/v{version}/releases/{ARCH}/latest-releases.yaml "
                          f"lists an Alpine {version} release for {ARCH}.")
    return max(newest, key=lambda r: version_key(r.version))


def _read_small(url: str, timeout: float, missing: tuple[int, ...] = ()) -> bytes | None:
    """A small file from the mirror; None when it does not exist (HTTP status in `missing`)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read(_SMALL_FILE + 1)
    except urllib.error.HTTPError as err:
        if err.code in missing:
            return None
        raise MirrorError(f"{url} answered HTTP {err.code} ({err.reason}).") from err
    except urllib.error.URLError as err:
        if missing and isinstance(err.reason, FileNotFoundError):
            return None
        raise MirrorError(f"cannot reach the mirror ({url}): {err.reason}. Check the network or the mirror URL "
                          f"(${MIRROR_ENV}, --mirror).") from err
    except (OSError, ValueError) as err:
        raise MirrorError(f"cannot reach the mirror ({url}): {err}. Check the network or the mirror URL "
                          f"(${MIRROR_ENV}, --mirror).") from err
    if len(data) > _SMALL_FILE:
        raise MirrorError(f"{url} is larger than {_SMALL_FILE // 1024} KiB: not a release index.")
    return data


def _plain_http(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost", "::1")


# What the cache knows of the Alpine releases it downloaded: one small JSON record per file, written
# once the download matched its checksum, so a release is listed (and its checksum known) offline.

def _records_dir() -> Path:
    return paths.cache_dir() / "releases"


def _record_release(source: BaseSource) -> None:
    match = re.match(rf"^{FLAVOR}-(.+)-{ARCH}\.tar\.gz$", source.filename)
    if not match or not _VERSION.match(match[1]):
        return
    record = {"version": match[1], "file": source.filename, "sha512": source.sha512, "url": source.url}
    atomic_write(_records_dir() / f"{source.sha512[:16]}-{source.filename}.json", json.dumps(record, indent=1))


def _release_records() -> list[dict]:
    records = []
    try:
        files = sorted(_records_dir().glob("*.json"))
    except OSError:
        return []
    for path in files:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a damaged record: the release is simply not listed as cached
        if (isinstance(record, dict) and _VERSION.match(str(record.get("version", "")))
                and _SHA512.match(str(record.get("sha512", "")))):
            records.append(record)
    return records


def _recorded_sha512(release: str) -> str:
    shas = {r["sha512"] for r in _release_records() if r["version"] == release}
    return shas.pop() if len(shas) == 1 else ""


def _in_cache(version: str, sha512: str) -> bool:
    source = BaseSource(f"alpine:{version}", release_filename(version), sha512)
    return cached_tarball(source).exists() or _index_path(sha512).exists()
