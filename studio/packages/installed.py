"""apk's installed database (Qt-free): `/lib/apk/db/installed`, `/lib/apk/db/scripts.tar` and
`/lib/apk/db/triggers`, read and written byte for byte as apk-tools 2.14 writes them.

`installed` holds one record per package: the package's index fields (package.c
`apk_pkg_write_index_header`), then `r:` replaces, `q:` replaces priority, `s:` repository tag,
`f:` broken flags, then per folder `F:` (+ `M:uid:gid:mode` when not root:root 0755) and per file
in it `R:` (+ `a:uid:gid:mode` when not root:root 0644, + `Z:` the file's `Q1` checksum), and a
blank line (database.c `apk_db_fdb_write`). apk writes the records sorted by package name.

`scripts.tar` holds each package's scripts as `<name>-<version>.<Q1 checksum>.<type>` members
(mode 0755, mtime = the package's build time), `triggers` one line per package with triggers:
`<Q1 checksum> <glob> <glob>...`. apk writes both in its installed-package list order: the order
of the previous database, then the packages installed since, in install order. The writers here
keep the order they are given for those two.

`InstalledRecorder` / `installed_from_apk` say what apk would record for a package it installs,
so the studio can install packages itself and leave a database apk accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from studio.packages.apkfile import SCRIPT_TYPES, ApkFile, DataMember
from studio.packages.formats import ApkFormatError, BytesStream, TarReader, apk_tar_end, apk_tar_entry, xattr_checksum
from studio.packages.index import dependencies, format_index_record, package_from_fields
from studio.packages.model import Dependency, Package, format_dependency

INSTALLED = "lib/apk/db/installed"
SCRIPTS = "lib/apk/db/scripts.tar"
TRIGGERS = "lib/apk/db/triggers"


@dataclass(frozen=True)
class Acl:
    """Owner and permission bits of a folder (M:) or file (a:); `xattrs` is the `Q1` checksum
    apk appends when the member had extended attributes."""

    uid: int = 0
    gid: int = 0
    mode: int = 0o644
    xattrs: str = ""

    def format(self) -> str:
        return f"{self.uid}:{self.gid}:{self.mode:o}" + (f":{self.xattrs}" if self.xattrs else "")

    @classmethod
    def parse(cls, text: str) -> Acl:
        parts = text.split(":", 3)
        if len(parts) < 3:
            raise ValueError(f"not uid:gid:mode: {text!r}")
        return cls(int(parts[0]), int(parts[1]), int(parts[2], 8), parts[3] if len(parts) > 3 else "")


DEFAULT_FOLDER_ACL = Acl(0, 0, 0o755)
DEFAULT_FILE_ACL = Acl(0, 0, 0o644)


@dataclass
class InstalledFile:
    name: str  # within its folder
    acl: Acl = DEFAULT_FILE_ACL
    checksum: str | None = None  # Z:, "Q1..."


@dataclass
class InstalledFolder:
    name: str  # root-relative, "usr/bin"; "" for files at the root
    acl: Acl = DEFAULT_FOLDER_ACL
    files: list[InstalledFile] = field(default_factory=list)


@dataclass
class InstalledPackage:
    """One package of the installed database, with its scripts (from scripts.tar) and
    triggers (from the triggers file)."""

    package: Package
    replaces: list[Dependency] = field(default_factory=list)
    replaces_priority: int = 0
    repository_tag: str = ""
    broken: str = ""  # f: flags, a subset of "fsxS"
    folders: list[InstalledFolder] = field(default_factory=list)
    scripts: dict[str, bytes] = field(default_factory=dict)
    triggers: list[str] = field(default_factory=list)

    def paths(self) -> Iterable[tuple[str, Acl, str | None]]:
        """(root-relative path, acl, checksum) of every folder (checksum None) and file."""
        for folder in self.folders:
            if folder.name:
                yield folder.name, folder.acl, None
            for item in folder.files:
                yield f"{folder.name}/{item.name}" if folder.name else item.name, item.acl, item.checksum


# ---------------------------------------------------------------------------------------------
# installed


def parse_installed(text: str, *, source: str = INSTALLED) -> list[InstalledPackage]:
    """The records of an installed database, in file order. Like apk, a file line (R:, a:, Z:)
    before any F:, or an M: before any F:, is a format error; unknown lower-case fields are
    ignored."""
    packages: list[InstalledPackage] = []
    fields: dict[str, str] = {}
    record: InstalledPackage | None = None
    folder: InstalledFolder | None = None
    current: InstalledFile | None = None
    number = 0

    def finish():
        nonlocal record, fields, folder, current, number
        if fields or record is not None:
            number += 1
            package = package_from_fields(fields, source, number)
            if record is None:
                record = InstalledPackage(package)
            else:
                record.package = package
            packages.append(record)
        record, fields, folder, current = None, {}, None, None

    for line_number, line in enumerate(text.split("\n"), 1):
        if not line:
            finish()
            continue
        if line[1:2] != ":":
            raise ApkFormatError(f"{source}: line {line_number} is not a database field: {line[:80]!r}")
        key, value = line[0], line[2:]
        if key in "FMRaZrqsf":
            if record is None:
                record = InstalledPackage(Package("", ""))
            try:
                if key == "F":
                    folder = InstalledFolder(value)
                    record.folders.append(folder)
                    current = None
                elif key == "M":
                    if folder is None:
                        raise ValueError("M: before any F:")
                    folder.acl = Acl.parse(value)
                elif key == "R":
                    if folder is None:
                        raise ValueError("R: before any F:")
                    current = InstalledFile(value)
                    folder.files.append(current)
                elif key in "aZ":
                    if current is None:
                        raise ValueError(f"{key}: before any R:")
                    if key == "a":
                        current.acl = Acl.parse(value)
                    else:
                        current.checksum = value
                elif key == "r":
                    record.replaces = dependencies(value)
                elif key == "q":
                    record.replaces_priority = int(value)
                elif key == "s":
                    record.repository_tag = value
                elif key == "f":
                    record.broken = value
            except ValueError as exc:
                raise ApkFormatError(f"{source}: line {line_number}: {exc}") from None
        else:
            fields[key] = value
    finish()
    return packages


def format_installed_record(item: InstalledPackage) -> str:
    out = [format_index_record(item.package)]
    if item.replaces:
        out.append("r:" + " ".join(format_dependency(d) for d in item.replaces) + "\n")
    if item.replaces_priority:
        out.append(f"q:{item.replaces_priority}\n")
    if item.repository_tag:
        out.append(f"s:{item.repository_tag}\n")
    if item.broken:
        out.append(f"f:{item.broken}\n")
    for folder in item.folders:
        out.append(f"F:{folder.name}\n")
        if folder.acl != DEFAULT_FOLDER_ACL:
            out.append(f"M:{folder.acl.format()}\n")
        for entry in folder.files:
            out.append(f"R:{entry.name}\n")
            if entry.acl != DEFAULT_FILE_ACL:
                out.append(f"a:{entry.acl.format()}\n")
            if entry.checksum:
                out.append(f"Z:{entry.checksum}\n")
    return "".join(out) + "\n"


def format_installed(packages: Iterable[InstalledPackage]) -> str:
    """The installed database apk writes: records sorted by package name (byte order)."""
    ordered = sorted(packages, key=lambda p: p.package.name.encode())
    return "".join(format_installed_record(p) for p in ordered)


# ---------------------------------------------------------------------------------------------
# scripts.tar and triggers


@dataclass
class ScriptEntry:
    """One scripts.tar member: `<name>-<version>.<checksum>.<script>`."""

    name_version: str
    checksum: str
    script: str
    data: bytes
    mtime: int = 0


def script_member_name(package: Package, script: str) -> str:
    return f"{package.name}-{package.version}.{package.checksum}.{script}"


def format_scripts_tar(packages: Iterable[InstalledPackage]) -> bytes:
    """scripts.tar as apk writes it (`apk_db_scriptdb_write`): per package, in the order given,
    its scripts in apk's script order; apk's own tar members, ended by two zero blocks."""
    out = bytearray()
    for item in packages:
        for script in SCRIPT_TYPES:
            if script in item.scripts:
                name = script_member_name(item.package, script)
                out += apk_tar_entry(name, item.scripts[script], mode=0o755, mtime=item.package.build_time)
    return bytes(out + apk_tar_end())


def parse_scripts_tar(data: bytes, *, source: str = SCRIPTS) -> list[ScriptEntry]:
    """The members of a scripts.tar (apk's reading: the script type after the last '.', the
    checksum between it and the '.' before; members named otherwise are skipped)."""
    reader = TarReader(BytesStream(data), what=source, part="scripts archive")
    entries = []
    while (member := reader.next()) is not None:
        if member.kind != "file":
            continue
        head, dot, script = member.name.rpartition(".")
        name_version, dot2, checksum = head.rpartition(".")
        if not dot or not dot2 or script not in SCRIPT_TYPES:
            continue
        entries.append(ScriptEntry(name_version, checksum, script, reader.read_content(), member.mtime))
    return entries


def format_triggers(packages: Iterable[InstalledPackage]) -> str:
    """The triggers file (`apk_db_triggers_write`): `<checksum> <glob>...` per package with
    triggers, in the order given."""
    return "".join(f"{p.package.checksum} {' '.join(p.triggers)}\n" for p in packages if p.triggers)


def parse_triggers(text: str) -> dict[str, list[str]]:
    """Checksum -> trigger globs."""
    triggers: dict[str, list[str]] = {}
    for line in text.split("\n"):
        checksum, _, rest = line.partition(" ")
        if checksum:
            triggers.setdefault(checksum, []).extend(rest.split())
    return triggers


# ---------------------------------------------------------------------------------------------
# a whole database


def read_database(root: Path) -> list[InstalledPackage]:
    """The installed packages of the image rooted at `root`, with their scripts and triggers
    attached, in installed-file order. Missing files read as empty (a fresh root)."""
    root = Path(root)
    installed = root / INSTALLED
    packages = parse_installed(installed.read_text("utf-8"), source=str(installed)) if installed.exists() else []
    by_checksum = {p.package.checksum: p for p in packages}
    scripts = root / SCRIPTS
    if scripts.exists():
        for entry in parse_scripts_tar(scripts.read_bytes(), source=str(scripts)):
            owner = by_checksum.get(entry.checksum)
            if owner is not None:
                owner.scripts[entry.script] = entry.data
    triggers = root / TRIGGERS
    if triggers.exists():
        for checksum, globs in parse_triggers(triggers.read_text("utf-8")).items():
            owner = by_checksum.get(checksum)
            if owner is not None:
                owner.triggers = globs
    return packages


def write_database(root: Path, packages: list[InstalledPackage]) -> None:
    """Write installed (sorted by name), scripts.tar and triggers (in the order given: pass the
    previous database's order followed by new packages in install order, as apk keeps it)."""
    db = Path(root) / "lib/apk/db"
    db.mkdir(parents=True, exist_ok=True)
    for name, data in (("installed", format_installed(packages).encode()),
                       ("scripts.tar", format_scripts_tar(packages)),
                       ("triggers", format_triggers(packages).encode())):
        partial = db / (name + ".new")
        partial.write_bytes(data)
        partial.replace(db / name)


# ---------------------------------------------------------------------------------------------
# what apk records for a package it installs


class InstalledRecorder:
    """Builds, member by member, the record apk 2.14 writes after installing a package
    (database.c `apk_db_install_file`), so a caller that streams `apk.members()` anyway (to
    unpack them) gets the record in the same pass: `add()` every member, then `record`. Folders
    come in the order the data tar first names them, files in tar order; members whose name starts
    with '.' at the root, and `.keep_*` files, are not recorded (apk skips them); a hard link gets
    its target's checksum. Owners come from the tar's user and group names through
    `uid_of(name, uid)` / `gid_of(name, gid)` (apk looks them up in the image's /etc/passwd and
    /etc/group; by default the numeric ids are kept). The record is only sound once the
    iteration has ended without error (the datahash is checked last)."""

    def __init__(self, apk: ApkFile, *, uid_of: Callable[[str, int], int] | None = None,
                 gid_of: Callable[[str, int], int] | None = None):
        self._uid_of = uid_of or (lambda name, uid: uid)
        self._gid_of = gid_of or (lambda name, gid: gid)
        info = apk.info
        self.record = InstalledPackage(apk.package, replaces=info.replaces, replaces_priority=info.replaces_priority,
                                       scripts=dict(apk.scripts), triggers=info.triggers)
        self._folders: dict[str, InstalledFolder] = {}
        self._checksums: dict[str, str | None] = {}

    def _folder(self, name: str) -> InstalledFolder:
        folder = self._folders.get(name)
        if folder is None:
            folder = self._folders[name] = InstalledFolder(name)
            self.record.folders.append(folder)
        return folder

    def add(self, member: DataMember) -> None:
        if member.path.startswith("."):
            return
        acl = Acl(self._uid_of(member.uname, member.uid), self._gid_of(member.gname, member.gid), member.mode,
                  xattr_checksum(member.xattrs))
        if member.kind == "dir":
            self._folder(member.path).acl = acl
            return
        directory, _, base = member.path.rpartition("/")
        if base.startswith(".keep_") and len(base) > 6:
            return
        checksum = self._checksums.get(member.link_target) if member.kind == "hardlink" else member.checksum
        self._checksums[member.path] = checksum
        self._folder(directory).files.append(InstalledFile(base, acl, checksum))


def installed_from_apk(apk: ApkFile, *, uid_of: Callable[[str, int], int] | None = None,
                       gid_of: Callable[[str, int], int] | None = None) -> InstalledPackage:
    """The record apk 2.14 writes after installing `apk` (see InstalledRecorder). Reads, and so
    verifies, the whole package; to unpack and record in one pass, use InstalledRecorder."""
    recorder = InstalledRecorder(apk, uid_of=uid_of, gid_of=gid_of)
    for member in apk.members():
        recorder.add(member)
    return recorder.record
