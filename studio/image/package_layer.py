"""The package layer of an image (Qt-free): between the base and the user's overlay, the files of
the locked packages, apk's database as apk would have written it, and what the packages'
scripts did.

    base (minirootfs)  ->  package layer  ->  overlay (the user's edits, which win)

A package's files are unpacked once into the object store (cached per package checksum); the
layer is then computed from the base, the unpacked packages and the script effects recorded in
the lock file, in milliseconds. The generated files are the ones apk maintains:
/lib/apk/db/installed (the base's records plus the new ones, with F:/R:/a:/Z: lines),
/lib/apk/db/scripts.tar, /lib/apk/db/triggers, /etc/apk/world and /etc/apk/repositories, and
the project's added keys in /etc/apk/keys. A package replacing a base package (an upgrade) takes
its files away first, as apk would.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from studio import paths
from studio.errors import StudioError
from studio.fsutil import atomic_write
from studio.image.entry import DIR, FILE, SYMLINK, Entry, ancestors, normalize
from studio.image.store import ObjectStore
from studio.packages import installed as db
from studio.packages.apkfile import ApkFile
from studio.packages.config import PackageSettings
from studio.packages.lockfile import Lock

UNPACK_FORMAT = 1
WORLD = "/etc/apk/world"
REPOSITORIES = "/etc/apk/repositories"
KEYS = "/etc/apk/keys"


@dataclass
class Unpacked:
    """A package's files, content in the object store, and the database record apk writes for it."""

    name: str
    version: str
    checksum: str
    record: db.InstalledPackage
    rows: list[list] = field(default_factory=list)  # [path, kind, mode, uname, uid, gname, gid, sha256|target, size]
    notes: list[str] = field(default_factory=list)


def _unpack_cache(checksum: str) -> Path:
    return paths.cache_dir() / "packages" / "unpacked" / (hashlib.sha1(checksum.encode()).hexdigest() + ".json")


def unpack(apk: ApkFile, store: ObjectStore | None = None) -> Unpacked:
    """The package's files in the object store (read, and so verified, once; then cached)."""
    store = store or ObjectStore()
    cache = _unpack_cache(apk.checksum)
    if cache.exists():
        try:
            data = json.loads(cache.read_text())
            if data.get("format") == UNPACK_FORMAT and all(
                    store.has(row[7]) for row in data["rows"] if row[1] == FILE):
                return _decode(data)
        except (ValueError, KeyError):
            pass
    record = db.installed_from_apk(apk)  # reads and verifies every member and the datahash
    rows: list[list] = []
    notes: list[str] = []
    by_path: dict[str, list] = {}
    for member in apk.members():
        if member.path.startswith("."):
            continue  # apk leaves the root's dot files out too
        path = normalize("/" + member.path)
        common = [member.mode & 0o7777, member.uname, member.uid, member.gname, member.gid]
        if member.kind == "dir":
            row = [path, DIR, *common, "", 0]
        elif member.kind == "file":
            sha, size = store.add_stream(member)
            row = [path, FILE, *common, sha, size]
        elif member.kind == "symlink":
            row = [path, SYMLINK, 0o777, *common[1:], member.link_target, len(member.link_target.encode())]
        elif member.kind == "hardlink":
            target = by_path.get(normalize("/" + member.link_target))
            if target is None or target[1] != FILE:
                raise StudioError(f"package {apk.info.name}: hard link {member.path} -> {member.link_target} "
                                  "does not point to a file earlier in the package")
            row = [path, FILE, *common, target[7], target[8]]
        else:
            notes.append(f"{apk.info.name}: skipped {member.kind} {path} (the guest's /dev is devtmpfs)")
            continue
        by_path[path] = row
        rows.append(row)
    unpacked = Unpacked(apk.info.name, apk.info.version, apk.checksum, record, rows, notes)
    atomic_write(cache, json.dumps(_encode(unpacked), separators=(",", ":")))
    return unpacked


def _encode(unpacked: Unpacked) -> dict:
    return {"format": UNPACK_FORMAT, "name": unpacked.name, "version": unpacked.version,
            "checksum": unpacked.checksum, "rows": unpacked.rows, "notes": unpacked.notes,
            "record": db.format_installed_record(unpacked.record),
            "scripts": {k: base64.b64encode(v).decode() for k, v in unpacked.record.scripts.items()},
            "triggers": unpacked.record.triggers}


def _decode(data: dict) -> Unpacked:
    (record,) = db.parse_installed(data["record"])
    record.scripts = {k: base64.b64decode(v) for k, v in data["scripts"].items()}
    record.triggers = list(data["triggers"])
    return Unpacked(data["name"], data["version"], data["checksum"], record, data["rows"], data["notes"])


# -- the layer -------------------------------------------------------------------------------------
def read_text(entries: dict[str, Entry], path: str, store: ObjectStore) -> str:
    entry = entries.get(path)
    if entry is None or entry.kind != FILE:
        return ""
    return store.read(entry.sha256).decode("utf-8", "replace")


def _ids(text: str) -> dict[str, int]:
    """name -> id from /etc/passwd or /etc/group text."""
    found = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2].isdigit():
            found.setdefault(parts[0], int(parts[2]))
    return found


@dataclass
class Layer:
    """The image below the user's overlay: base + packages + script effects."""

    entries: dict[str, Entry]
    base_packages: list[str]  # names the base already had
    notes: list[str] = field(default_factory=list)


def build_layer(base: dict[str, Entry], unpacked: list[Unpacked], settings: PackageSettings, lock: Lock,
                repository_urls: list[str], keys: dict[str, bytes], effects: dict[str, Entry | None],
                store: ObjectStore | None = None) -> Layer:
    """The base with `unpacked` (in install order) installed as apk would, the database files
    written, `keys` (name -> PEM) added to /etc/apk/keys, and `effects` (what the scripts did)
    applied last."""
    store = store or ObjectStore()
    entries = dict(base)
    base_db = db.parse_installed(read_text(base, "/" + db.INSTALLED, store))
    new_names = {u.name for u in unpacked}
    kept = [p for p in base_db if p.package.name not in new_names]
    for old in base_db:
        if old.package.name in new_names:  # upgraded (or replaced): its files go first
            for relative, _acl, checksum in old.paths():
                path = "/" + relative
                if checksum is not None or (entries.get(path) and entries[path].kind != DIR):
                    entries.pop(path, None)
    passwd = _ids(read_text(entries, "/etc/passwd", store) + read_text(effects_as_text(effects, store), "/etc/passwd", store))
    group = _ids(read_text(entries, "/etc/group", store) + read_text(effects_as_text(effects, store), "/etc/group", store))
    notes: list[str] = []
    for package in unpacked:
        notes.extend(package.notes)
        for path, kind, mode, uname, uid, gname, gid, extra, size in package.rows:
            owner = passwd.get(uname, uid), group.get(gname, gid)
            for folder in ancestors(path)[1:]:
                if folder not in entries or entries[folder].kind != DIR:
                    entries[folder] = Entry(folder, DIR, 0o755)
            existing = entries.get(path)
            if kind == DIR:
                if existing is None or existing.kind != DIR:
                    _remove_below(entries, path)
                    entries[path] = Entry(path, DIR, mode, *owner)
                else:
                    entries[path] = existing.evolve(mode=mode, uid=owner[0], gid=owner[1])
            else:
                if existing is not None and existing.kind == DIR:
                    _remove_below(entries, path)
                entries[path] = (Entry(path, FILE, mode, *owner, size, sha256=extra) if kind == FILE
                                 else Entry(path, SYMLINK, 0o777, *owner, size, target=extra))
    records = kept + [u.record for u in unpacked]
    _put(entries, "/" + db.INSTALLED, db.format_installed(records).encode(), store)
    _put(entries, "/" + db.SCRIPTS, db.format_scripts_tar(records), store)
    _put(entries, "/" + db.TRIGGERS, db.format_triggers(records).encode(), store)
    base_world = [w for w in read_text(base, WORLD, store).split() if w]
    world = sorted(set(base_world) | set(settings.world))
    _put(entries, WORLD, ("\n".join(world) + "\n").encode(), store)
    _put(entries, REPOSITORIES, "".join(url + "\n" for url in repository_urls).encode(), store)
    for name, pem in keys.items():
        _put(entries, f"{KEYS}/{name}", pem, store)
    for path, entry in sorted(effects.items()):
        if entry is None:
            _remove_below(entries, path)
            entries.pop(path, None)
        else:
            for folder in ancestors(path)[1:]:
                entries.setdefault(folder, Entry(folder, DIR, 0o755))
            if entry.kind != DIR:
                _remove_below(entries, path)
            entries[path] = entry
    return Layer(entries, [p.package.name for p in base_db], notes)


def effects_as_text(effects: dict[str, Entry | None], store: ObjectStore) -> dict[str, Entry]:
    return {p: e for p, e in effects.items() if e is not None and e.kind == FILE}


def _put(entries: dict[str, Entry], path: str, data: bytes, store: ObjectStore) -> None:
    below = entries.get(path)
    mode, uid, gid = (below.mode, below.uid, below.gid) if below is not None and below.kind == FILE else (0o644, 0, 0)
    for folder in ancestors(path)[1:]:
        entries.setdefault(folder, Entry(folder, DIR, 0o755))
    entries[path] = Entry(path, FILE, mode, uid, gid, len(data), below.mtime if below else 0, sha256=store.add(data))


def _remove_below(entries: dict[str, Entry], path: str) -> None:
    prefix = path + "/"
    for key in [k for k in entries if k.startswith(prefix)]:
        del entries[key]


# -- script effects, as the lock file records them ----------------------------------------------------
def effects_of(lock: Lock, store: ObjectStore | None = None) -> dict[str, Entry | None]:
    from studio.packages.lockfile import Effect  # noqa: F401 (the rows' type)

    store = store or ObjectStore()
    found: dict[str, Entry | None] = {}
    for effect in lock.effects:
        path = normalize(effect.path)
        if effect.kind == "deleted":
            found[path] = None
        elif effect.kind == DIR:
            found[path] = Entry(path, DIR, effect.mode, effect.uid, effect.gid)
        elif effect.kind == SYMLINK:
            found[path] = Entry(path, SYMLINK, 0o777, effect.uid, effect.gid, len(effect.target.encode()),
                                target=effect.target)
        else:
            found[path] = Entry(path, FILE, effect.mode, effect.uid, effect.gid, len(effect.content),
                                sha256=store.add(effect.content))
    return found


def record_effects(changes: dict[str, Entry | None], store: ObjectStore | None = None) -> list:
    """The lock file's rows for what scripts changed (contents read from the store)."""
    from studio.packages.lockfile import Effect

    store = store or ObjectStore()
    rows = []
    for path, entry in sorted(changes.items()):
        if entry is None:
            rows.append(Effect(path, "deleted"))
        elif entry.kind == FILE:
            rows.append(Effect(path, FILE, entry.mode, entry.uid, entry.gid,
                               content=store.read(entry.sha256)))
        else:
            rows.append(Effect(path, entry.kind, entry.mode, entry.uid, entry.gid, entry.target))
    return rows
