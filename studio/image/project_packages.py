"""A project's packages as its image sees them (Qt-free): which repositories and keys it uses,
and the package layer its lock file makes, fetched and unpacked as needed (from the package cache
when it has them: offline).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from studio.errors import StudioError
from studio.image.entry import FILE, Entry
from studio.image.project import SCRATCH_DIR
from studio.image.package_layer import Layer, Unpacked, build_layer, effects_of, unpack
from studio.image.store import ObjectStore
from studio.packages import fetch
from studio.packages.config import KEYS_DIR, PROGRAMS, Repository, guest_repository_urls, resolve_repositories
from studio.packages.keys import TrustedKeys
from studio.packages.lockfile import Lock, Locked

KEYS_PREFIX = "/etc/apk/keys/"
_layers: dict[str, Layer] = {}  # by everything a layer depends on; layers are immutable


def alpine_version(base: dict[str, Entry], store: ObjectStore) -> str:
    """The base's Alpine release ("3.19.4"), from /etc/alpine-release."""
    entry = base.get("/etc/alpine-release")
    if entry is None or entry.kind != FILE:
        raise StudioError("the base has no /etc/alpine-release: which Alpine repositories fit it is unknown; "
                          "add repositories explicitly with `studio packages repo add`")
    return store.read(entry.sha256).decode(errors="replace").strip()


def repositories_of(project, base: dict[str, Entry], store: ObjectStore | None = None,
                    names: list[str] | None = None) -> list[Repository]:
    """The project's repositories (or `names`) where they are today: alpine:main and
    alpine:community on today's mirror (the setting `studio new` uses) for the base's release."""
    from studio.image.base import mirror_url

    names = project.packages.repositories if names is None else names
    needs_release = any(n.startswith("alpine:") for n in names)
    version = alpine_version(base, store or ObjectStore()) if needs_release else ""
    return [Repository(r.name, programs_repository(project).as_uri()) if r.name == PROGRAMS else r
            for r in resolve_repositories(names, version, mirror_url())]


def programs_repository(project) -> Path:
    """The project's own repository (its programs, packaged), in its scratch folder: built output."""
    return Path(project.root) / SCRATCH_DIR / "programs"


def project_keys(project) -> dict[str, bytes]:
    """Public keys the user added (PROJECT/keys/NAME.rsa.pub), by file name."""
    folder = Path(project.root) / KEYS_DIR
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.pub"))} if folder.is_dir() else {}


def trusted_keys(project, base: dict[str, Entry], store: ObjectStore | None = None) -> TrustedKeys:
    """What apk in the image would trust: the base's /etc/apk/keys plus the project's keys."""
    store = store or ObjectStore()
    pems = {path[len(KEYS_PREFIX):]: store.read(e.sha256) for path, e in base.items()
            if path.startswith(KEYS_PREFIX) and e.kind == FILE and "/" not in path[len(KEYS_PREFIX):]}
    pems.update(project_keys(project))
    return TrustedKeys.from_pems({n: p for n, p in pems.items() if b"PUBLIC KEY" in p},
                                 f"the image's /etc/apk/keys and {Path(project.root) / KEYS_DIR}")


def wanted_for(locked: list[Locked], repositories: list[Repository], trusted: TrustedKeys) -> list[fetch.Wanted]:
    by_name = {r.name: r for r in repositories}
    wanted = []
    for item in locked:
        repository = by_name.get(item.repository)
        if repository is None:
            raise StudioError(f"{item.name} {item.version} is locked to repository {item.repository}, which the "
                              "project no longer lists: add it back, or run `studio packages update`")
        wanted.append(fetch.Wanted(item.name, item.version, item.checksum, item.size,
                                   fetch.package_url(repository.url, item.filename), trusted, item.datahash))
    return wanted


def unpacked_for(project, base: dict[str, Entry], locked: list[Locked], progress=None, cancelled=None,
                 store: ObjectStore | None = None) -> list[Unpacked]:
    """The locked packages unpacked into the object store: from the unpack cache, else from the
    package cache, else downloaded (verified against the lock) first."""
    store = store or ObjectStore()
    trusted = None
    result: list[Unpacked] = []
    missing: list[Locked] = []
    for item in locked:
        cached = _cached_unpack(item, store)
        if cached is None:
            missing.append(item)
        result.append(cached)
    if missing:
        trusted = trusted_keys(project, base, store)
        opened = fetch.fetch_packages(wanted_for(missing, repositories_of(project, base, store), trusted),
                                      progress, cancelled)
        unpacked = {name: unpack(apk, store) for name, apk in opened.items()}
        result = [u if u is not None else unpacked[item.name] for u, item in zip(result, locked)]
    return result


def _cached_unpack(item: Locked, store: ObjectStore) -> Unpacked | None:
    from studio.image.package_layer import _decode, _unpack_cache, UNPACK_FORMAT

    path = _unpack_cache(item.checksum)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    if data.get("format") != UNPACK_FORMAT or not all(store.has(r[7]) for r in data["rows"] if r[1] == FILE):
        return None
    return _decode(data)


def layer_for(project, base: dict[str, Entry], base_sha: str, lock: Lock | None = None,
              progress=None, cancelled=None) -> Layer:
    """The image below the overlay for `project` with `lock` (default: its lock file)."""
    lock = lock if lock is not None else project.lock
    if not lock.packages and not lock.effects and project.packages.is_default():
        return Layer(base, [])
    store = ObjectStore()
    keys = project_keys(project)
    repositories = repositories_of(project, base, store)
    unbuilt = unbuilt_programs(project, lock, store)
    key = hashlib.sha256(json.dumps([base_sha, lock.dumps(), project.packages.to_toml(),
                                     sorted((n, hashlib.sha256(k).hexdigest()) for n, k in keys.items()),
                                     [r.url for r in repositories], unbuilt]).encode()).hexdigest()
    if key not in _layers:
        present = [i for i in lock.packages if i.name not in unbuilt]
        unpacked = unpacked_for(project, base, present, progress, cancelled, store)
        layer = build_layer(base, unpacked, project.packages, lock,
                            guest_repository_urls(project.packages.repositories), keys,
                            effects_of(lock, store), store)
        layer.notes.extend(f"program {name} is not built on this machine yet: compile it to put its package in "
                           "the image" for name in unbuilt)
        _layers[key] = layer
    return _layers[key]


def unbuilt_programs(project, lock=None, store: ObjectStore | None = None) -> list[str]:
    """Programs whose locked package this machine does not have: a program's package is built by a
    compile on this machine, and a fresh clone of a project (no .studio/) has none yet."""
    lock = lock if lock is not None else project.lock
    store = store or ObjectStore()
    return sorted(i.name for i in lock.packages if i.repository == PROGRAMS and not _at_hand(project, i, store))


def _at_hand(project, item: Locked, store: ObjectStore) -> bool:
    return (_cached_unpack(item, store) is not None
            or fetch.cached_package(item.name, item.version, item.checksum).is_file()
            or (programs_repository(project) / "x86" / item.filename).is_file())


class RepositoryServer:
    """The project's repositories as the running machine sees them (studio.boot.guest_net): the
    index and packages a guest's `apk` asks for, from the same verified cache as the studio's own
    installs (fetched on a miss, so a package fetched once installs offline afterwards)."""

    def __init__(self, project, base: dict[str, Entry]):
        self.project = project
        self.base = base
        self.trusted = trusted_keys(project, base)
        self._files: dict[str, dict[str, object]] = {}  # repository name -> filename -> Package

    def index(self, name: str, url: str) -> Path:
        repository = Repository(name, url)
        loaded = fetch.load_indexes([repository], lambda r: self.trusted, refresh=True)
        cached = fetch.index_cache(fetch.index_url(repository))
        if not cached.exists():
            raise StudioError("; ".join(loaded.warnings) or f"no index for {url}")
        self._files[name] = {p.filename: p for p in loaded.packages}
        return cached

    def package(self, name: str, url: str, filename: str) -> Path:
        if name not in self._files:
            self.index(name, url)
        package = self._files[name].get(filename)
        if package is None:
            raise StudioError(f"no package {filename} in the index of {url}")
        wanted = fetch.Wanted(package.name, package.version, package.checksum, package.size,
                              fetch.package_url(url, filename), self.trusted)
        fetch.fetch_packages([wanted])
        return fetch.cached_package(package.name, package.version, package.checksum)
