"""A project's image as an archive (Qt-free): a root filesystem tarball, or Alpine's local backup.

rootfs  OUT.tar.gz: the whole image as a plain root filesystem, laid out as Alpine's own
        minirootfs is ('./', './etc/', './etc/hostname'; GNU tar; numeric owners, no names), for
        `docker import OUT.tar.gz`, `studio new --base OUT.tar.gz` or `tar -xpzf` as root.
apkovl  HOSTNAME.apkovl.tar.gz: what Alpine's `lbu package` writes (alpine-conf's lbu.in: the
        files `apk audit --backup` lists, 'etc/hostname', no leading slash): what the user changed
        under the paths apk protects (/etc, only symlinks in /etc/init.d, all of /etc/apk), plus
        /etc/apk/world, so a diskless Alpine restores the configuration and reinstalls the
        packages at boot. What lbu would not carry is listed in the report, never silently lost.

Both are reproducible: members in path order, every mtime the same ($SOURCE_DATE_EPOCH, else 0),
no user or group names, and a gzip header without a file name or a time: the same image gives
the same bytes.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import os
import re
import secrets
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from studio.errors import StudioError
from studio.fsutil import fsync_dir
from studio.image.entry import DIR, FILE, SYMLINK, Entry
from studio.image.project import Project
from studio.image.store import ObjectStore

Progress = Callable[[str, float], None]
GZIP_LEVEL = 9
APKOVL_SUFFIX = ".apkovl.tar.gz"

# apk-tools 2.14's protected paths (database.c): '+' changed files, '@' symlinks only, '!' every
# file, '-' none. An image's /etc/apk/protected_paths.d/*.list add to them (lbu include writes
# lbu.list there); the most specific pattern wins, a later one on a tie.
DEFAULT_PROTECTED = ("+etc", "@etc/init.d", "!etc/apk")
PROTECTED_LISTS = "/etc/apk/protected_paths.d"
NONE, CHANGED, SYMLINKS, ALL = "-", "+", "@", "!"


@dataclass
class ArchiveReport:
    out: Path
    kind: str  # "rootfs" or "apkovl"
    members: int
    size: int  # bytes of the archive
    seconds: float
    left_out: list[str] = field(default_factory=list)  # what the user changed that the archive lacks, and why
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"wrote {self.out}: {self.kind}, {self.members} members, {self.size / 1e6:.2f} MB "
                 f"in {self.seconds:.2f} s"]
        if self.left_out:
            lines.append("NOT in the archive (lbu would not carry these; a machine restored from it lacks them):")
            lines += [f"  {item}" for item in self.left_out]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def reproducible_mtime() -> int:
    """$SOURCE_DATE_EPOCH (reproducible-builds.org), else 0: every member's modification time."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise StudioError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970; "
                          "unset it or give e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)")
    return int(raw)


# -- the root filesystem ----------------------------------------------------------------------

def export_rootfs(project: Project, out: Path, entries: dict[str, Entry] | None = None, mtime: int | None = None,
                  progress: Progress | None = None, store: ObjectStore | None = None) -> ArchiveReport:
    """Write the image (`entries`, default: the project as saved) as a reproducible rootfs tarball."""
    started = time.perf_counter()
    report = progress or (lambda message, fraction: None)
    mtime = reproducible_mtime() if mtime is None else mtime
    store = store or ObjectStore()
    out = _target(out, f"{project.name}-rootfs.tar.gz")
    report("reading the image", 0.0)
    entries = project.merged() if entries is None else entries
    ordered = sorted(entries, key=_order)
    total = sum(e.size for e in entries.values() if e.kind == FILE) or 1
    done = 0
    with _ArchiveWriter(out) as writer:
        for path in ordered:
            entry = entries[path]
            writer.add("." if path == "/" else "." + path, entry, mtime, store)
            if entry.kind == FILE:
                done += entry.size
                report(f"archiving {path}", 0.05 + 0.9 * done / total)
    notes = _studio_repository_notes(entries, store)
    report("archived", 1.0)
    return ArchiveReport(out, "rootfs", len(ordered), out.stat().st_size, time.perf_counter() - started, notes=notes)


# -- Alpine's local backup (lbu) -------------------------------------------------------------

def apkovl_name(hostname: str) -> str:
    return hostname + APKOVL_SUFFIX


def image_hostname(entries: dict[str, Entry], fallback: str, store: ObjectStore | None = None) -> str:
    """The image's /etc/hostname (its first word), else `fallback`: lbu names the archive by it."""
    entry = entries.get("/etc/hostname")
    if entry is not None and entry.kind == FILE and entry.size <= 4096:
        words = _content(entry, store or ObjectStore()).decode(errors="replace").split()
        if words and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}", words[0]):
            return words[0]
    return fallback


def export_apkovl(project: Project, out: Path, entries: dict[str, Entry] | None = None,
                  lower: dict[str, Entry] | None = None, mtime: int | None = None,
                  progress: Progress | None = None, store: ObjectStore | None = None) -> ArchiveReport:
    """Write what `lbu package` would: the user's changes (the image vs the base and packages)
    under apk's protected paths, and all of /etc/apk. An existing folder as `out` gets
    HOSTNAME.apkovl.tar.gz in it, as lbu does."""
    started = time.perf_counter()
    report = progress or (lambda message, fraction: None)
    mtime = reproducible_mtime() if mtime is None else mtime
    store = store or ObjectStore()
    report("reading the image", 0.0)
    lower = project.lower() if lower is None else lower
    entries = project.merged(lower=lower) if entries is None else entries
    out = _target(out, apkovl_name(image_hostname(entries, project.name, store)))
    plan = plan_apkovl(entries, lower, store)
    replaced, notes = _real_repositories(project, entries, lower, store)
    if not Path(out).name.endswith(APKOVL_SUFFIX):
        notes.append(f"Alpine's boot looks for *{APKOVL_SUFFIX} on its boot media: rename {Path(out).name} "
                     f"to {apkovl_name(image_hostname(entries, project.name, store))} there")
    with _ArchiveWriter(out) as writer:
        for i, path in enumerate(plan.members):
            entry = entries[path]
            data = replaced if path == "/etc/apk/repositories" and replaced is not None else None
            writer.add(path.lstrip("/"), entry, mtime, store, data)
            report(f"archiving {path}", 0.1 + 0.85 * (i + 1) / max(1, len(plan.members)))
    report("archived", 1.0)
    return ArchiveReport(out, "apkovl", len(plan.members), out.stat().st_size, time.perf_counter() - started,
                         left_out=plan.left_out, notes=notes)


@dataclass
class ApkovlPlan:
    members: list[str]  # image paths, in archive order
    left_out: list[str]  # "PATH: why", for changes the archive does not carry


def plan_apkovl(entries: dict[str, Entry], lower: dict[str, Entry], store: ObjectStore) -> ApkovlPlan:
    """Which paths `lbu package` would archive for this image, and which changes it would not."""
    rules = protected_rules(entries, store)
    members: list[str] = []
    left: dict[str, str] = {}
    for path in sorted(entries, key=_order):
        if path == "/":
            continue
        entry = entries[path]
        mode = protect_mode(path, rules)
        changed = _changed(entry, lower.get(path), store, hash_content=mode != NONE)
        if entry.kind == DIR:  # apk reports a folder new to the packages, or with other owner/mode
            if mode != NONE and changed:
                members.append(path)
            elif changed:
                left[path] = _why_not(path, entry, mode)
            continue
        if mode == ALL or (changed and (mode == CHANGED or (mode == SYMLINKS and entry.kind == SYMLINK))):
            members.append(path)
        elif changed:
            left[path] = _why_not(path, entry, mode)
    for path in sorted(set(lower) - set(entries), key=_order):
        left[path] = (f"deleted from the image, but an apkovl cannot delete: a machine restored from it "
                      f"still has {path}")
    return ApkovlPlan(members, _collapse(left))


def _changed(entry: Entry, below: Entry | None, store: ObjectStore, hash_content: bool) -> bool:
    """Whether `entry` differs from what the base and packages put there (apk audit's 'A', 'U', 'M')."""
    if below is None or below.kind != entry.kind:
        return True
    if (entry.mode, entry.uid, entry.gid) != (below.mode, below.uid, below.gid):
        return True
    if entry.kind == SYMLINK:
        return entry.target != below.target
    if entry.kind == DIR:
        return False
    if entry.source is None:  # content from the object store: its hash is known
        return entry.sha256 != below.sha256
    if not hash_content:  # an overlay file outside the protected paths: changed, as the tree shows it
        return True
    return entry.size != below.size or (entry.sha256 or _hash_file(entry.source)) != below.sha256


def _why_not(path: str, entry: Entry, mode: str) -> str:
    include = f"'+{path.lstrip('/')}' in {PROTECTED_LISTS}/lbu.list in the image (what `lbu include {path}` writes)"
    if mode == SYMLINKS:
        return f"lbu keeps only symlinks under this folder, and this is a {entry.kind}; to keep it, add {include}"
    if mode == NONE and path.startswith("/etc/"):
        return f"excluded by the image's {PROTECTED_LISTS}; to keep it, add {include}"
    return f"outside the paths lbu saves (/etc); to keep it, add {include}"


def _collapse(left: dict[str, str]) -> list[str]:
    """'PATH: why' lines; a folder left out whole stands for what is under it."""
    lines = []
    tops: list[str] = []
    for path in sorted(left, key=_order):
        top = next((t for t in tops if path.startswith(t + "/")), None)
        if top is not None:
            continue
        tops.append(path)
        under = sum(1 for p in left if p.startswith(path + "/"))
        shown = f"{path}/ (and {under} entries under it)" if under else path
        lines.append(f"{shown}: {left[path]}")
    return lines


@dataclass(frozen=True)
class Rule:
    mode: str
    parts: tuple[str, ...]


def protected_rules(entries: dict[str, Entry], store: ObjectStore) -> list[Rule]:
    """apk's protected paths for this image: its defaults, then the image's protected_paths.d lists."""
    lines = list(DEFAULT_PROTECTED)
    prefix = PROTECTED_LISTS + "/"
    for path in sorted(p for p in entries if p.startswith(prefix) and p.endswith(".list") and "/" not in p[len(prefix):]):
        entry = entries[path]
        if entry.kind == FILE:
            lines += _content(entry, store).decode(errors="replace").splitlines()
    rules = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        mode = line[0] if line[0] in "+-@!" else CHANGED
        pattern = (line[1:] if line[0] in "+-@!" else line).strip("/")
        if pattern:
            rules.append(Rule(mode, tuple(pattern.split("/"))))
    return rules


def protect_mode(path: str, rules: list[Rule]) -> str:
    """How apk treats `path` in a backup: the mode of the most specific matching rule (NONE if none)."""
    parts = path.strip("/").split("/")
    best, depth = NONE, 0
    for rule in rules:
        n = len(rule.parts)
        if n <= len(parts) and n >= depth and all(fnmatch.fnmatchcase(p, r) for p, r in zip(parts, rule.parts)):
            best, depth = rule.mode, n
    return best


def _real_repositories(project: Project, entries: dict[str, Entry], lower: dict[str, Entry],
                       store: ObjectStore) -> tuple[bytes | None, list[str]]:
    """/etc/apk/repositories with the studio's addresses (http://NAME.repo.studio, which only the
    studio's machine reaches) replaced by the repositories' own URLs, and notes on what changed."""
    entry = entries.get("/etc/apk/repositories")
    if entry is None or entry.kind != FILE:
        return None, ["the image has no /etc/apk/repositories: a restored machine installs /etc/apk/world "
                      "only from the repositories its boot media names"]
    text = _content(entry, store).decode(errors="replace")
    if ".repo.studio" not in text:
        return None, []
    from studio.image.project_packages import repositories_of
    from studio.packages.config import guest_repository_urls

    names = project.packages.repositories
    real = {guest: repo.url for guest, repo in zip(guest_repository_urls(names), repositories_of(project, lower, store))}
    lines = [real.get(line.strip(), line) for line in text.splitlines()]
    notes = ["/etc/apk/repositories: the studio's repository addresses are replaced by the repositories' "
             "own URLs (" + ", ".join(real.values()) + ")"]
    local = [url for url in real.values() if url.startswith("file://")]
    if local:
        notes.append(f"{', '.join(local)} is a folder on this computer: a restored machine cannot reach it")
    return ("\n".join(lines) + "\n").encode(), notes


def _studio_repository_notes(entries: dict[str, Entry], store: ObjectStore) -> list[str]:
    entry = entries.get("/etc/apk/repositories")
    if entry is None or entry.kind != FILE:
        return []
    if b".repo.studio" not in _content(entry, store):
        return []
    return ["/etc/apk/repositories names the studio's repository addresses (http://….repo.studio): they work "
            "when this tarball is a studio base; elsewhere (docker) `apk add` needs the real URLs there "
            "(`studio export --format apkovl` writes them)"]


# -- writing ------------------------------------------------------------------------------

def _order(path: str) -> tuple[str, ...]:
    """Depth-first path order: a folder, then everything under it, names sorted."""
    return tuple(p for p in path.split("/") if p)


def _target(out: Path, default_name: str) -> Path:
    out = Path(out).expanduser()
    if out.is_dir():
        out = out / default_name
    if out.exists():
        with open(out, "rb") as handle:
            if handle.read(2) != b"\x1f\x8b":
                raise StudioError(f"{out} exists and is not a .tar.gz archive; pick another path (nothing was written)")
    if not out.parent.is_dir():
        raise StudioError(f"the folder {out.parent} does not exist; create it or pick another path")
    return out


def _content(entry: Entry, store: ObjectStore) -> bytes:
    if entry.source is not None:
        return Path(entry.source).read_bytes()
    return store.read(entry.sha256)


def _hash_file(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class _ArchiveWriter:
    """A tar.gz written to a temporary file beside `out`, renamed over it when complete: an
    interrupted export never leaves half an archive under the real name."""

    def __init__(self, out: Path):
        self.out = out
        self.tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")

    def __enter__(self) -> "_ArchiveWriter":
        self.raw = open(self.tmp, "wb")
        # No file name, no time, OS "unknown" (Python writes 255): nothing of this host in the header.
        self.gzip = gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=self.raw, mtime=0)
        self.tar = tarfile.open(fileobj=self.gzip, mode="w", format=tarfile.GNU_FORMAT)
        return self

    def add(self, name: str, entry: Entry, mtime: int, store: ObjectStore, data: bytes | None = None) -> None:
        """One member; a file's content is `data`, else read from the overlay or the object store."""
        info = tarfile.TarInfo(name)
        info.mode = entry.mode & 0o7777
        info.uid, info.gid = entry.uid, entry.gid
        info.uname = info.gname = ""
        info.mtime = mtime
        if entry.kind == DIR:
            info.type = tarfile.DIRTYPE
            self.tar.addfile(info)
        elif entry.kind == SYMLINK:
            info.type = tarfile.SYMTYPE
            info.linkname = entry.target
            self.tar.addfile(info)
        elif data is not None:
            info.size = len(data)
            self.tar.addfile(info, io.BytesIO(data))
        else:
            with _open(entry, store) as handle:
                info.size = os.fstat(handle.fileno()).st_size
                try:
                    self.tar.addfile(info, handle)
                except OSError as err:  # tarfile: "unexpected end of data"
                    raise StudioError(f"{entry.path} changed while it was being archived ({err}); "
                                      "export again") from err

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.tar.close()
                self.gzip.close()
                self.raw.flush()
                os.fsync(self.raw.fileno())
            self.raw.close()
            if kind is None:
                os.replace(self.tmp, self.out)
                fsync_dir(self.out.parent)
        except OSError as err:  # a full disk, a folder that went away
            raise StudioError(f"writing {self.out} failed: {err}") from err
        finally:
            self.raw.close()
            self.tmp.unlink(missing_ok=True)
        if isinstance(value, OSError) and not isinstance(value, StudioError):
            raise StudioError(f"writing {self.out} failed: {value}") from value

def _open(entry: Entry, store: ObjectStore) -> BinaryIO:
    try:
        return open(entry.source if entry.source is not None else store.path(entry.sha256), "rb")
    except FileNotFoundError as err:
        where = entry.source or f"the object store ({store.root})"
        raise StudioError(f"{entry.path}: its content is missing from {where}; it changed while exporting, "
                          "or the cache was cleared: export again") from err

