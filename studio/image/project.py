"""A studio project: a pinned base plus an overlay of the user's changes, in a git-friendly directory.

    PROJECT/
      studio.toml     name, base (spec, file name, SHA-512), boot settings
      overlay/        added and modified files and folders, as real files at their image paths
      overlay.toml    what plain files can't carry: modes, owners, symlinks, deletions of base files
      .gitignore      keeps the build output out of version control
      .build/         build output (fs.json, blobs/, boot.json); disposable
      .studio/        unsaved edits' contents, autosave, an interrupted save's journal

The base is never modified: the merged image is computed from base + overlay.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from studio.errors import StudioError
from studio.fsutil import atomic_write
from studio.image import base as bases
from studio.image.entry import DIR, FILE, SYMLINK, Entry, ancestors, normalize
from studio.packages.config import PackageSettings
from studio.packages.lockfile import Lock

SETTINGS_FILE = "studio.toml"
META_FILE = "overlay.toml"
OVERLAY_DIR = "overlay"
BUILD_DIR = ".build"
SCRATCH_DIR = ".studio"  # unsaved contents, autosave, a save's journal (studio.image.save)
FORMAT = 1


@dataclass
class BootSettings:
    # 128 MB is plenty for a serial-console Alpine and its programs, and boots and snapshots
    # faster than 256 MB (the kernel's memory setup is a measurable part of a v86 boot).
    memory_mb: int = 128
    kernel_args: str = ""  # appended to the studio's kernel command line
    # What the running machine may reach over HTTP (studio.boot.guest_net): "repositories" (the
    # project's, the default), "web" (plain HTTP to the internet too) or "off" (no network card).
    network: str = "repositories"
    network_allow: list[str] = field(default_factory=list)  # host:port the guest may reach though local


@dataclass
class Attrs:
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@dataclass
class OverlayMeta:
    """overlay.toml: attribute overrides, symlinks and deletions, keyed by image path."""

    attrs: dict[str, Attrs] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> "OverlayMeta":
        return cls.parse(read_bytes_or_none(path), path)

    @classmethod
    def parse(cls, raw: bytes | None, path: Path) -> "OverlayMeta":
        if raw is None:
            return cls()
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise StudioError(f"{path} is not UTF-8 text ({err}); fix or restore it from version control.") from err
        except tomllib.TOMLDecodeError as err:
            raise StudioError(f"{path} is not valid TOML ({err}); fix or restore it from version control.") from err
        meta = cls()
        for key, value in data.get("attrs", {}).items():
            mode = value.get("mode")
            meta.attrs[normalize(key)] = Attrs(
                int(mode, 8) if isinstance(mode, str) else mode, value.get("uid"), value.get("gid")
            )
        for key, value in data.get("symlinks", {}).items():
            meta.symlinks[normalize(key)] = value["target"] if isinstance(value, dict) else str(value)
        meta.deleted = {normalize(p) for p in data.get("deleted", [])}
        return meta

    def dumps(self) -> str:
        attrs = {}
        for key in sorted(self.attrs):
            a = self.attrs[key]
            row = {}
            if a.mode is not None:
                row["mode"] = f"{a.mode:04o}"
            if a.uid is not None:
                row["uid"] = a.uid
            if a.gid is not None:
                row["gid"] = a.gid
            if row:
                attrs[key] = row
        data = {"deleted": sorted(self.deleted)}
        if attrs:
            data["attrs"] = attrs
        if self.symlinks:
            data["symlinks"] = {key: {"target": self.symlinks[key]} for key in sorted(self.symlinks)}
        header = "# Image Studio overlay metadata: modes, owners, symlinks and deleted base files.\n"
        return header + tomli_w.dumps(data)


# What a save compares the disk against (studio.image.save): for each overlay item, its kind and,
# for files, (size, mtime_ns, inode, mode); anything replaced or touched gets a new stamp.
Stamp = tuple


def stamp_of(path: Path) -> Stamp | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        return (FILE, st.st_size, st.st_mtime_ns, st.st_ino, stat.S_IMODE(st.st_mode))
    return (DIR,) if stat.S_ISDIR(st.st_mode) else ("other",)


@dataclass
class Manifest:
    """The overlay as the studio last read or wrote it: items by image path, and overlay.toml's
    bytes (None: absent). Only what it lists, unchanged, is the studio's to replace or delete."""

    items: dict[str, Stamp] = field(default_factory=dict)
    meta: bytes | None = None


def read_bytes_or_none(path: Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


class Project:
    def __init__(self, root: Path, name: str, base: bases.BaseSource, boot: BootSettings,
                 programs: list[dict] | None = None, packages: PackageSettings | None = None):
        self.root = Path(root).resolve()
        self.name = name
        self.base = base
        self.boot = boot
        self.programs = programs or []  # [[programs]] tables; studio.compile.programs gives them meaning
        self.packages = packages or PackageSettings()  # the world and the repositories
        self.lock = Lock.load(self.root)  # what the world resolved to (packages.lock)
        self.version = ""  # the project's own version: its programs' packages carry it (VERSION-rN)
        self.reload_meta()

    def reload_meta(self) -> None:
        """Read overlay.toml again; `meta_bytes` keeps exactly what `meta` was parsed from."""
        self.meta_bytes = self.read_meta_bytes()
        self.meta = OverlayMeta.parse(self.meta_bytes, self.root / META_FILE)

    def read_meta_bytes(self) -> bytes | None:
        return read_bytes_or_none(self.root / META_FILE)

    # -- locations ---------------------------------------------------------
    @property
    def overlay_dir(self) -> Path:
        return self.root / OVERLAY_DIR

    @property
    def build_dir(self) -> Path:
        return self.root / BUILD_DIR

    def overlay_path(self, image_path: str) -> Path:
        """The host path of an image path inside the overlay (never outside it)."""
        return self.overlay_dir.joinpath(*normalize(image_path).strip("/").split("/"))

    # -- life cycle --------------------------------------------------------
    @classmethod
    def open(cls, root: Path) -> "Project":
        root = Path(root)
        settings = root / SETTINGS_FILE
        if not settings.exists():
            raise StudioError(f"{root} is not a studio project (no {SETTINGS_FILE}). "
                              "Create one with `studio new DIR`.")
        try:
            data = tomllib.loads(settings.read_text())
        except tomllib.TOMLDecodeError as err:
            raise StudioError(f"{settings} is not valid TOML ({err}).") from err
        b = data.get("base", {})
        try:
            spec, filename, sha512 = b["spec"], b["file"], b["sha512"]
        except KeyError as err:
            raise StudioError(f"{settings}: [base] lacks {err.args[0]!r}.") from err
        # The download URL is derived from today's mirror setting, never stored: projects move between machines.
        url = bases.alpine_source(spec.split(":", 1)[1]).url if spec.startswith("alpine:") else ""
        base = bases.BaseSource(spec, filename, sha512, url, b.get("source", ""))
        boot = BootSettings(**{k: v for k, v in data.get("boot", {}).items() if k in BootSettings.__annotations__})
        if boot.network not in ("repositories", "web", "off"):
            raise StudioError(f"{settings}: [boot] network = {boot.network!r}: use \"repositories\", \"web\" or \"off\"")
        packages = PackageSettings.from_toml(data.get("packages", {}))
        project = cls(root, data.get("name", root.name), base, boot, data.get("programs", []), packages)
        project.version = str(data.get("version", ""))
        return project

    @classmethod
    def create(cls, root: Path, source: bases.BaseSource, name: str | None = None,
               progress: bases.Progress | None = None, cancelled: bases.Cancelled | None = None) -> "Project":
        """Make a new project on `source`, with the bootable serial-console preset in its overlay."""
        from studio.image import preset

        root = Path(root)
        if (root / SETTINGS_FILE).exists():
            raise StudioError(f"{root} already holds a studio project; open it instead.")
        if root.exists() and any(root.iterdir()):
            raise StudioError(f"{root} exists and is not empty; pick a new directory.")
        index = bases.load_index(source, progress, cancelled)  # refuses unsafe or non-x86 bases
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root, name or _hostname_from(root.resolve().name), source, BootSettings())
        project.overlay_dir.mkdir(exist_ok=True)
        atomic_write(root / ".gitignore", f"/{BUILD_DIR}/\n/{SCRATCH_DIR}/\n")
        project.save_settings()
        preset.apply_serial_console(project, index)
        project.save_meta()
        return project

    def save_settings(self) -> None:
        base = {"spec": self.base.spec, "file": self.base.filename, "sha512": self.base.sha512}
        if self.base.local_path:
            base["source"] = self.base.local_path
        data = {
            "format": FORMAT,
            "name": self.name,
            **({"version": self.version} if self.version else {}),
            "base": base,
            "boot": {"memory_mb": self.boot.memory_mb, "kernel_args": self.boot.kernel_args,
                     "network": self.boot.network, "network_allow": list(self.boot.network_allow)},
        }
        if self.programs:
            data["programs"] = self.programs
        if not self.packages.is_default():
            data["packages"] = self.packages.to_toml()
        atomic_write(self.root / SETTINGS_FILE, "# Image Studio project\n" + tomli_w.dumps(data))

    def save_meta(self) -> None:
        atomic_write(self.root / META_FILE, self.meta.dumps())
        self.meta_bytes = self.read_meta_bytes()

    # -- the merged image ----------------------------------------------------
    def scan_overlay(self) -> dict[str, Stamp]:
        """Every item in the overlay now, with its stamp (nothing followed, nothing read)."""
        listing: dict[str, Stamp] = {}
        if self.overlay_dir.is_dir():
            _walk_overlay(str(self.overlay_dir), "/", {}, None, listing)
        return listing

    def base_index(self, progress: bases.Progress | None = None) -> bases.BaseIndex:
        return bases.load_index(self.base, progress)

    def write_file(self, image_path: str, data: bytes | str, mode: int | None = None) -> None:
        """Put a file into the overlay (atomically); `mode` goes to the metadata."""
        path = normalize(image_path)
        atomic_write(self.overlay_path(path), data, mode=0o755 if mode is not None and mode & 0o111 else 0o644)
        self.meta.deleted.discard(path)
        self.meta.symlinks.pop(path, None)
        if mode is not None:
            self.meta.attrs.setdefault(path, Attrs()).mode = mode

    def lower(self, index: bases.BaseIndex | None = None, progress=None, cancelled=None) -> dict[str, Entry]:
        """The image below the overlay: the base with the locked packages installed (their files,
        apk's database, what their scripts did). Packages missing from the caches are fetched."""
        from studio.image.project_packages import layer_for

        index = index or self.base_index()
        return layer_for(self, index.entries, index.sha512, progress=progress, cancelled=cancelled).entries

    def merged(self, index: bases.BaseIndex | None = None, manifest: Manifest | None = None,
               lower: dict[str, Entry] | None = None) -> dict[str, Entry]:
        """The image as the guest sees it: the lower layers (base and packages), minus deletions,
        plus the overlay and metadata. A `manifest` given is filled with what this very reading
        found (overlay items and the overlay.toml bytes `self.meta` came from)."""
        base = lower if lower is not None else self.lower(index)
        entries = dict(base)
        for gone in self.meta.deleted:
            _remove_subtree(entries, gone)
        listing = manifest.items if manifest is not None else None
        if manifest is not None:
            listing.clear()
            manifest.meta = self.meta_bytes
        if self.overlay_dir.is_dir():
            _walk_overlay(str(self.overlay_dir), "/", base, entries, listing)
        for path, target in self.meta.symlinks.items():
            _remove_subtree(entries, path)
            _ensure_parents(entries, path)
            entries[path] = Entry(path, SYMLINK, *inferred_attrs(SYMLINK, False, None), target=target,
                                  size=len(target.encode()))
        for path, attrs in self.meta.attrs.items():
            entry = entries.get(path)
            if entry is None:
                continue
            entries[path] = entry.evolve(
                mode=entry.mode if attrs.mode is None else attrs.mode,
                uid=entry.uid if attrs.uid is None else attrs.uid,
                gid=entry.gid if attrs.gid is None else attrs.gid,
            )
        return entries


def _hostname_from(name: str) -> str:
    host = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return host[:63] or "studio"


def _remove_subtree(entries: dict[str, Entry], path: str) -> None:
    if path == "/":
        return
    entries.pop(path, None)
    prefix = path + "/"
    for key in [k for k in entries if k.startswith(prefix)]:
        del entries[key]


def _ensure_parents(entries: dict[str, Entry], path: str) -> None:
    for ancestor in ancestors(path):
        existing = entries.get(ancestor)
        if existing is None or existing.kind != DIR:
            entries[ancestor] = Entry(ancestor, DIR, 0o755)


def inferred_attrs(kind: str, host_executable: bool, below: Entry | None) -> tuple[int, int, int]:
    """(mode, uid, gid) an overlay entry gets when overlay.toml says nothing about it: a file or
    folder replacing a base one of its kind keeps the base's; a new file is 0755 or 0644 by its
    host executable bit, a new folder 0755, a symlink 0777; all owned by root."""
    if below is not None and below.kind == kind:
        return below.mode, below.uid, below.gid
    if kind == FILE:
        return (0o755 if host_executable else 0o644), 0, 0
    return (0o777 if kind == SYMLINK else 0o755), 0, 0


def _walk_overlay(directory: str, image_dir: str, base: dict[str, Entry], entries: dict[str, Entry] | None,
                  listing: dict[str, Stamp] | None = None) -> None:
    """Add the overlay's files and folders to `entries`, and their stamps to `listing`. Host
    symlinks are never followed (symlinks live in overlay.toml)."""
    prefix = "" if image_dir == "/" else image_dir
    with os.scandir(directory) as scan:
        for item in scan:
            path = f"{prefix}/{item.name}"
            st = item.stat(follow_symlinks=False)
            if listing is not None:
                listing[path] = ((FILE, st.st_size, st.st_mtime_ns, st.st_ino, stat.S_IMODE(st.st_mode))
                                 if stat.S_ISREG(st.st_mode) else (DIR,) if stat.S_ISDIR(st.st_mode) else ("other",))
            if entries is None:
                if stat.S_ISDIR(st.st_mode):
                    _walk_overlay(item.path, path, base, None, listing)
                continue
            below = base.get(path)
            current = entries.get(path)
            if stat.S_ISDIR(st.st_mode):
                if current is None or current.kind != DIR:
                    if current is not None:
                        _remove_subtree(entries, path)
                    entries[path] = (below if below is not None and below.kind == DIR
                                     else Entry(path, DIR, *inferred_attrs(DIR, False, None), mtime=int(st.st_mtime)))
                _walk_overlay(item.path, path, base, entries, listing)
            elif stat.S_ISREG(st.st_mode):
                mode, uid, gid = inferred_attrs(FILE, bool(st.st_mode & 0o100), below)
                if current is not None and current.kind == DIR:
                    _remove_subtree(entries, path)
                entries[path] = Entry(path, FILE, mode, uid, gid, st.st_size, int(st.st_mtime), source=item.path,
                                      stamp=(st.st_size, st.st_mtime_ns, st.st_ino))
