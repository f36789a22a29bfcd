"""`.apk` package files (apk v2, as abuild builds them and apk-tools 2.14 installs them), read and
written (Qt-free).

A package is three gzip streams one after the other: the signature (a `.SIGN.RSA.<key>` tar
member), the control tar (`.PKGINFO` and the scripts) and the data tar (the files, each with a pax
record `APK-TOOLS.checksum.SHA1`). The signature covers the compressed control stream;
`.PKGINFO`'s `datahash` is the SHA-256 of the compressed data stream; the package's identity, the
index's `C:`, is `Q1` + base64 of the SHA-1 of the compressed control stream. So the signature, the
identity and the metadata are checked after reading only the first two (small) streams, and the
data stream is checked as it is streamed: nothing here holds a whole package in memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from studio.packages.formats import (
    CHECKSUM_PAX_KEY,
    ApkFormatError,
    BytesStream,
    GunzipReader,
    GzipCompressor,
    IntegrityError,
    RawReader,
    TarEntry,
    TarReader,
    UnsafeMemberError,
    gnu_end_of_archive,
    gzip_member,
    padding,
    pax_record,
    posix_member_header,
    q1,
    read_gzip_member,
)
from studio.packages.keys import (
    SigningKey,
    TrustedKeys,
    choose_signature,
    make_signature_segment,
    read_signatures,
    verify_signature,
)
from studio.packages.model import Dependency, Package, format_dependency, parse_dependencies

# apk's script types, in apk-tools' own order (package.c apk_script_types): scripts.tar and the
# control tar list them in this order.
SCRIPT_TYPES = ("pre-install", "post-install", "pre-deinstall", "post-deinstall", "pre-upgrade", "post-upgrade",
                "trigger")

CONTROL_LIMIT = 16 << 20  # a signature or control stream expanding past this is refused (a bomb)


# ---------------------------------------------------------------------------------------------
# .PKGINFO


@dataclass
class PkgInfo:
    """A package's `.PKGINFO`: `key = value` lines in order (keys may repeat: depend, provides,
    replaces...). Comments are dropped."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def first(self, key: str, default: str = "") -> str:
        for k, v in self.lines:
            if k == key:
                return v
        return default

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.lines if k == key]

    def words(self, key: str) -> list[str]:
        """Every space-separated item of every `key` line (apk reads each line that way)."""
        return [item for v in self.all(key) for item in v.split()]

    @property
    def name(self) -> str:
        return self.first("pkgname")

    @property
    def version(self) -> str:
        return self.first("pkgver")

    @property
    def datahash(self) -> str:
        return self.first("datahash")

    @property
    def triggers(self) -> list[str]:
        return self.words("triggers")

    @property
    def replaces(self) -> list[Dependency]:
        return parse_dependencies(" ".join(self.all("replaces")))

    @property
    def replaces_priority(self) -> int:
        return _int(self.first("replaces_priority", "0"))

    def to_package(self, checksum: str = "", size: int = 0) -> Package:
        """The index record apk makes of this package (`apk index`): `checksum` is C:, `size` the
        file size (S:)."""
        priority = self.first("provider_priority", "")
        return Package(
            name=self.name,
            version=self.version,
            arch=self.first("arch"),
            checksum=checksum,
            size=size,
            installed_size=_int(self.first("size", "0")),
            description=self.first("pkgdesc"),
            url=self.first("url"),
            license=self.first("license"),
            origin=self.first("origin"),
            maintainer=self.first("maintainer"),
            build_time=_int(self.first("builddate", "0")),
            commit=self.first("commit"),
            depends=parse_dependencies(" ".join(self.all("depend"))),
            provides=parse_dependencies(" ".join(self.all("provides"))),
            install_if=parse_dependencies(" ".join(self.all("install_if"))),
            provider_priority=_int(priority) if priority else None,
        )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def parse_pkginfo(text: str) -> PkgInfo:
    """Lines `key = value` (apk splits at the first " = "); comments and other lines ignored."""
    lines = []
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        if sep:
            lines.append((key, value))
    return PkgInfo(lines)


def format_pkginfo(info: PkgInfo, header: str = "# Generated by Image Studio") -> str:
    return header + "\n" + "".join(f"{k} = {v}\n" for k, v in info.lines)


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class DataMember:
    """One member of a package's data tar, checked for safety. `path` is relative to the root
    ("usr/bin/foo", no leading "./" or "/", no trailing "/"); `kind` is file, dir, symlink,
    hardlink, char, block or fifo; `link_target` is the symlink's target as stored, or for a hard
    link the path (same form as `path`) of the earlier file it links to; `sha1` is what apk
    records as Z: (the pax APK-TOOLS.checksum.SHA1: of the content, or of a symlink's target).
    The content of a file is read with `read()` while the iteration stands on this member."""

    path: str
    kind: str
    mode: int
    uid: int
    gid: int
    uname: str
    gname: str
    mtime: int
    size: int
    link_target: str = ""
    sha1: bytes | None = None
    xattrs: dict[str, bytes] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    _reader: _ContentReader | None = field(default=None, repr=False, compare=False)

    @property
    def checksum(self) -> str | None:
        """The Z: value apk writes for this member, `Q1...`, or None."""
        return q1(self.sha1) if self.sha1 is not None else None

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the content (all that is left with -1); b"" at the end."""
        if self._reader is None:
            return b""
        return self._reader.read(size)


class _ContentReader:
    """Reads one member's content from the tar, hashing it; at the end compares with the pax
    checksum (apk records that checksum as Z:, so it must be the content's)."""

    def __init__(self, tar: TarReader, size: int, expected: bytes | None, what: str, path: str):
        self._tar = tar
        self._left = size
        self._expected = expected
        self._hash = hashlib.sha1()
        self._what = what
        self._path = path
        self.active = True

    def read(self, size: int = -1) -> bytes:
        if not self.active:
            raise ApkFormatError(f"{self._what}: {self._path} can only be read while the iteration stands on it")
        if size < 0 or size > self._left:
            size = self._left
        data = self._tar.read_content(size) if size else b""
        self._left -= len(data)
        self._hash.update(data)
        if self._left == 0:
            self._check()
        return data

    def finish(self) -> None:
        while self._left:
            self.read(1 << 16)
        self._check()
        self.active = False

    def _check(self) -> None:
        if self._expected is not None and self._hash.digest() != self._expected:
            self._expected = None
            raise IntegrityError(
                f"{self._what}: the content of {self._path} does not match its checksum in the package "
                "(APK-TOOLS.checksum.SHA1): the package is damaged or was tampered with."
            )
        self._expected = None


class ApkFile:
    """A package file whose signature, identity and metadata have been checked (`open_apk`).
    `members()` streams the data tar."""

    def __init__(self, path: Path, what: str, *, signer: str | None, checksum: str, info: PkgInfo,
                 scripts: dict[str, bytes], data_offset: int, size: int):
        self.path = path
        self.what = what
        self.signer = signer
        self.checksum = checksum
        self.info = info
        self.scripts = scripts
        self.data_offset = data_offset
        self.size = size

    @property
    def package(self) -> Package:
        """The index record of this package (what `apk index` writes for it)."""
        return self.info.to_package(self.checksum, self.size)

    @property
    def triggers(self) -> list[str]:
        return self.info.triggers

    def members(self) -> Iterator[DataMember]:
        """The data tar's members in order, each checked: no absolute names, no `..`, no symbolic
        link whose target leaves the root, no member below a symbolic link of the package, no hard
        link except to a regular file earlier in the package. A file's content must match its
        checksum, and when the iteration ends the compressed data stream must match `datahash`;
        each violation is an ApkFormatError naming the package. Until the iteration has ended the
        members are unverified: extract into staging and keep the result only then."""
        datahash = hashlib.sha256()
        with open(self.path, "rb") as source:
            source.seek(self.data_offset)
            raw = RawReader(source, self.what)
            gunzip = GunzipReader(raw, part="data stream", on_raw=datahash.update)
            tar = TarReader(gunzip, what=self.what, part="data tar")
            guard = _MemberGuard(self.what)
            while (member := tar.next()) is not None:
                data_member = guard.check(member)
                if data_member is None:
                    continue
                if data_member.kind == "file":
                    reader = _ContentReader(tar, member.size, data_member.sha1, self.what, data_member.path)
                    data_member._reader = reader
                    yield data_member
                    reader.finish()
                else:
                    yield data_member
            gunzip.drain()
        expected = self.info.datahash.lower()
        if datahash.hexdigest() != expected:
            raise IntegrityError(
                f"{self.what}: datahash mismatch: the data stream's SHA-256 is {datahash.hexdigest()}, "
                f".PKGINFO promises {expected}: the package is damaged or was tampered with. Download it again."
            )

    def verify(self) -> None:
        """Read the whole data stream once: every checksum and the datahash."""
        for _ in self.members():
            pass


def open_apk(path: Path, trusted: TrustedKeys | None, *, expected_checksum: str | None = None,
             allow_untrusted: bool = False, what: str | None = None) -> ApkFile:
    """Open a package: read its signature and control streams (only those), check the signature
    against `trusted` (unless `allow_untrusted`, apk's --allow-untrusted), its identity against
    `expected_checksum` (the index's C:, when the caller has one) and parse `.PKGINFO` and the
    scripts. Raises an ApkFormatError subclass naming the package (`what`, default "package
    FILE") and what did not match.

    apk itself, installing from a repository, checks only the identity (C: from the signed index)
    and not the package's own signature; to accept exactly what apk accepts there, pass the C:
    and allow_untrusted=True. Installing a file given by path, apk checks the signature."""
    path = Path(path)
    what = what or f"package {path.name}"
    size = path.stat().st_size
    with open(path, "rb") as source:
        raw = RawReader(source, what)
        # The first stream is the signature, or the control stream of an unsigned package.
        first_raw, first = read_gzip_member(raw, limit=CONTROL_LIMIT, part="signature stream")
        signatures = read_signatures(first, what=what)
        if signatures:
            control_raw, control = read_gzip_member(raw, limit=CONTROL_LIMIT, part="control stream")
        else:
            control_raw, control = first_raw, first  # an unsigned package starts with its control stream
        data_offset = raw.consumed
    checksum = q1(hashlib.sha1(control_raw).digest())
    if expected_checksum is not None and checksum != expected_checksum:
        raise IntegrityError(
            f"{what}: checksum mismatch: its control stream is {checksum}, the index says {expected_checksum}. "
            "The file is not the package the index describes (damaged, replaced or a stale mirror)."
        )
    signer = None
    if signatures and not allow_untrusted:
        if trusted is None:
            raise ValueError("open_apk needs trusted keys unless allow_untrusted")
        signature = choose_signature(signatures, trusted, what=what)
        verify_signature(signature, hashlib.new(signature.digest_name, control_raw).digest(), trusted, what=what)
        signer = signature.key_name
    elif not signatures and not allow_untrusted:
        choose_signature([], trusted or TrustedKeys({}, "the trusted keys"), what=what)  # raises "not signed"
    elif signatures:
        signer = signatures[0].key_name
    info, scripts = _read_control(control, what)
    if not info.name or not info.version:
        raise ApkFormatError(f"{what}: its .PKGINFO names no package (pkgname/pkgver missing)")
    if not info.datahash:
        raise ApkFormatError(
            f"{what}: its .PKGINFO has no datahash; apk-tools 2.14 refuses such packages (made by a very old abuild)"
        )
    if len(info.datahash) != 64 or any(c not in "0123456789abcdefABCDEF" for c in info.datahash):
        raise ApkFormatError(f"{what}: its datahash {info.datahash!r} is not a SHA-256")
    return ApkFile(path, what, signer=signer, checksum=checksum, info=info, scripts=scripts,
                   data_offset=data_offset, size=size)


def _read_control(control: bytes, what: str) -> tuple[PkgInfo, dict[str, bytes]]:
    tar = TarReader(BytesStream(control), what=what, part="control tar")
    info: PkgInfo | None = None
    scripts: dict[str, bytes] = {}
    while (member := tar.next()) is not None:
        name = member.name
        if not name.startswith(".") or "/" in name:
            raise ApkFormatError(f"{what}: its control tar holds {name!r}, which is not package metadata")
        if member.kind != "file":
            continue
        if name == ".PKGINFO":
            info = parse_pkginfo(tar.read_content().decode("utf-8", "replace"))
        elif name == ".INSTALL":
            raise ApkFormatError(f"{what}: has an .INSTALL script (apk v1 style), which apk-tools refuses")
        elif name[1:] in SCRIPT_TYPES:
            scripts[name[1:]] = tar.read_content()
    if info is None:
        raise ApkFormatError(f"{what}: has no .PKGINFO (not an apk package, or a damaged one)")
    return info, scripts


def _clean_path(name: str, what: str, *, context: str) -> str | None:
    """A member name as a root-relative path, or None for the root itself. Absolute names and
    `..` are refused."""
    if name.startswith("/"):
        raise UnsafeMemberError(f"{what}: {context} {name!r} is an absolute path; refused (a package may only "
                                "name paths relative to the root)")
    if any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise UnsafeMemberError(f"{what}: {context} {name!r} contains a control character; refused (apk ignores "
                                "such files; a newline would corrupt the installed database)")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeMemberError(f"{what}: {context} {name!r} contains '..'; refused (it could land outside the root)")
    return "/".join(parts) or None


def _resolve_link(link_dir: list[str], target: str) -> list[str] | None:
    """The root-relative components a symlink target names, lexically; None when it climbs above
    the root. Absolute targets are taken inside the root (they are, once in the image)."""
    parts = [] if target.startswith("/") else list(link_dir)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return parts


class _MemberGuard:
    """The safety rules of `ApkFile.members`, applied member by member."""

    def __init__(self, what: str):
        self.what = what
        self.files: set[str] = set()
        self.symlinks: set[str] = set()

    def check(self, member) -> DataMember | None:
        what = self.what
        path = _clean_path(member.name, what, context="member")
        if path is None:
            return None  # "./": the root itself
        parents = path.split("/")[:-1]
        for i in range(1, len(parents) + 1):
            if "/".join(parents[:i]) in self.symlinks:
                raise UnsafeMemberError(f"{what}: member {path!r} lies below the symbolic link {'/'.join(parents[:i])!r} "
                                        "of the same package; refused (it would be written wherever the link points)")
        link_target = ""
        if member.kind == "symlink":
            link_target = member.link_target
            if not link_target:
                raise UnsafeMemberError(f"{what}: symbolic link {path!r} has an empty target; refused")
            if _resolve_link(parents, link_target) is None:
                raise UnsafeMemberError(f"{what}: symbolic link {path!r} -> {link_target!r} points outside the root; "
                                        "refused")
            self.symlinks.add(path)
        elif member.kind == "hardlink":
            target = _clean_path(member.link_target, what, context=f"hard link {path!r} to")
            if target is None or target not in self.files:
                raise UnsafeMemberError(f"{what}: hard link {path!r} -> {member.link_target!r} does not link to a "
                                        "regular file earlier in the package; refused")
            link_target = target
        elif member.kind == "file":
            self.files.add(path)
        xattrs = {k[len("SCHILY.xattr."):]: v.encode("utf-8", "surrogateescape")
                  for k, v in member.pax.items() if k.startswith("SCHILY.xattr.")}
        # A symlink's checksum is not checked (apk does not either): for targets of 100 bytes or more
        # abuild's is not the target's SHA-1 (see abuild_symlink_sha1). The datahash covers them.
        sha1 = member.sha1 if member.kind in ("file", "symlink") else None
        return DataMember(path=path, kind=member.kind, mode=member.mode, uid=member.uid, gid=member.gid,
                          uname=member.uname, gname=member.gname, mtime=member.mtime, size=member.size,
                          link_target=link_target, sha1=sha1, xattrs=xattrs,
                          devmajor=member.devmajor, devminor=member.devminor)


# ---------------------------------------------------------------------------------------------
# writing


@dataclass
class FileSpec:
    """One thing to put in a package. `path` is where it goes in the image ("/usr/bin/hello" or
    "usr/bin/hello"); `kind` file, dir, symlink or hardlink; a file's content is `data`, or read
    from `source`; `target` is a symlink's target or a hard link's (earlier) file path. `mode`
    defaults to 0644 for files, 0755 for folders, 0777 for symlinks."""

    path: str
    kind: str = "file"
    data: bytes | None = None
    source: Path | None = None
    mode: int | None = None
    target: str = ""
    uid: int = 0
    gid: int = 0
    uname: str = "root"
    gname: str = "root"
    xattrs: dict[str, bytes] = field(default_factory=dict)  # e.g. {"security.capability": ...}


@dataclass
class PackageSpec:
    """What a package says about itself (.PKGINFO) and holds. Dependencies are apk's strings
    ("musl>=1.2", "so:libc.musl-x86.so.1", "!other") or model.Dependency; `scripts` maps a
    script type (post-install, trigger, ...) to its text; `triggers` are the folder globs a
    `trigger` script watches."""

    name: str
    version: str
    arch: str = "x86"
    description: str = ""
    url: str = ""
    license: str = ""
    origin: str = ""
    maintainer: str = ""
    packager: str = "Image Studio"
    builddate: int = 0
    commit: str = ""
    depends: list = field(default_factory=list)
    provides: list = field(default_factory=list)
    install_if: list = field(default_factory=list)
    replaces: list = field(default_factory=list)
    provider_priority: int | None = None
    replaces_priority: int | None = None
    triggers: list[str] = field(default_factory=list)
    scripts: dict[str, bytes | str] = field(default_factory=dict)
    files: list[FileSpec] = field(default_factory=list)
    installed_size: int | None = None  # default: the files' sizes, as abuild counts them

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.apk"


@dataclass
class BuiltApk:
    path: Path
    package: Package  # its index record (C:, S: filled in)
    datahash: str


def _dep_text(dep) -> str:
    return format_dependency(dep) if isinstance(dep, Dependency) else str(dep)


def package_members(spec: PackageSpec) -> list[FileSpec]:
    """The members of `spec`'s data tar, in order: its files sorted the way abuild sorts them
    (`LC_ALL=C sort` of `find`), the folders they need added (0755), hard links arranged as GNU
    tar arranges them. Raises ValueError for a spec no package can hold."""
    entries: dict[str, FileSpec] = {}
    what = f"package {spec.name}"
    for item in spec.files:
        path = _clean_path(item.path.lstrip("/"), what, context="file")
        if path is None:
            raise ValueError(f"{what}: a file spec names the root")
        if item.kind not in ("file", "dir", "symlink", "hardlink"):
            raise ValueError(f"{what}: {path}: unsupported kind {item.kind!r}")
        if path in entries and not (item.kind == "dir" and entries[path].kind == "dir"):
            raise ValueError(f"{what}: {path} is listed twice")
        entries[path] = FileSpec(**{**item.__dict__, "path": path})
    for path in list(entries):
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in entries:
                entries[parent] = FileSpec(parent, "dir")
            elif entries[parent].kind != "dir":
                raise ValueError(f"{what}: {parent} is both a folder and a {entries[parent].kind}")
    # Hard links: like GNU tar, the name met first (in sorted order) carries the content and the
    # others link to it, whichever of them the spec called the file.
    groups: dict[str, list[str]] = {}
    for item in entries.values():
        if item.kind == "hardlink":
            target = _clean_path(item.target.lstrip("/"), what, context=f"hard link {item.path} to")
            if target not in entries or entries[target].kind != "file":
                raise ValueError(f"{what}: hard link {item.path} -> {item.target}: the target is not a file of the package")
            groups.setdefault(target, [target]).append(item.path)
        elif item.kind == "symlink" and not item.target:
            raise ValueError(f"{what}: symlink {item.path} has no target")
    for target, names in groups.items():
        first = min(names, key=lambda p: p.encode("utf-8", "surrogateescape"))
        content = entries[target]
        for name in names:
            entries[name] = FileSpec(**{**content.__dict__, "path": name, "kind": "hardlink", "target": first,
                                        "data": None, "source": None})
        entries[first] = FileSpec(**{**content.__dict__, "path": first})
    return [entries[p] for p in sorted(entries, key=lambda p: p.encode("utf-8", "surrogateescape"))]


def _content(item: FileSpec) -> BinaryIO:
    if item.source is not None:
        return open(item.source, "rb")
    return io.BytesIO(item.data or b"")


def abuild_symlink_sha1(target: str) -> bytes:
    """The APK-TOOLS.checksum.SHA1 abuild-tar gives a symlink: the SHA-1 of the header's linkname
    field read as a C string. GNU tar cuts a long target to the field's 100 bytes (the whole target
    goes in the pax `linkpath`), leaving no NUL, so the string runs on into the "ustar" magic that
    follows: for targets of 100 bytes or more the checksum is of target[:100] + "ustar"."""
    encoded = target.encode("utf-8", "surrogateescape")
    return hashlib.sha1(encoded[:100] + b"ustar" if len(encoded) >= 100 else encoded).digest()


def _write_data_tar(spec: PackageSpec, files: list[FileSpec], sink: BinaryIO) -> tuple[str, int]:
    """Write the gzip'd data tar into `sink`: GNU tar posix members (mtime = builddate, as abuild
    normalises them) with abuild-tar's checksums, ended the way GNU tar ends it. Returns (datahash,
    installed size)."""
    datahash = hashlib.sha256()
    gz = GzipCompressor(sink, datahash)
    gnu_size = 0
    installed = 0
    for item in files:
        default_mode = {"file": 0o644, "dir": 0o755, "symlink": 0o777, "hardlink": 0o644}[item.kind]
        entry = TarEntry(item.path, item.kind, item.mode if item.mode is not None else default_mode, item.uid,
                         item.gid, item.uname, item.gname, spec.builddate, 0, item.target)
        if item.kind == "file":
            sha1 = hashlib.sha1()
            size = 0
            with _content(item) as content:
                while chunk := content.read(1 << 16):
                    sha1.update(chunk)
                    size += len(chunk)
            entry.size = size
            installed += size
            header, gnu_header_size = posix_member_header(
                entry, [pax_record(CHECKSUM_PAX_KEY, sha1.hexdigest())], legacy_sha1=sha1.digest(), xattrs=item.xattrs)
            gz.write(header)
            again = hashlib.sha1()  # the checksum precedes the content: the file is read twice
            with _content(item) as content:
                while chunk := content.read(1 << 16):
                    gz.write(chunk)
                    again.update(chunk)
            if again.digest() != sha1.digest():
                raise ApkFormatError(f"{item.source}: changed while it was being packaged; build the package again")
            gz.write(padding(size))
            gnu_size += gnu_header_size + size + len(padding(size))
        elif item.kind == "symlink":
            digest = abuild_symlink_sha1(item.target).hex()
            header, gnu_header_size = posix_member_header(entry, [pax_record(CHECKSUM_PAX_KEY, digest)],
                                                          xattrs=item.xattrs)
            gz.write(header)
            gnu_size += gnu_header_size
        else:
            header, gnu_header_size = posix_member_header(entry, xattrs=item.xattrs)
            gz.write(header)
            gnu_size += gnu_header_size
    gz.write(gnu_end_of_archive(gnu_size))
    gz.close()
    return datahash.hexdigest(), installed


def make_pkginfo(spec: PackageSpec, installed_size: int, datahash: str) -> PkgInfo:
    """The .PKGINFO lines in abuild's order (prepare_metafiles, then datahash). A value with a
    line break would end its line early and corrupt the file: refused."""
    lines = [("pkgname", spec.name), ("pkgver", spec.version), ("pkgdesc", spec.description), ("url", spec.url),
             ("builddate", str(spec.builddate)), ("packager", spec.packager), ("size", str(installed_size)),
             ("arch", spec.arch), ("origin", spec.origin or spec.name)]
    if spec.commit:
        lines.append(("commit", spec.commit))
    if spec.maintainer:
        lines.append(("maintainer", spec.maintainer))
    if spec.replaces_priority is not None:
        lines.append(("replaces_priority", str(spec.replaces_priority)))
    if spec.provider_priority is not None:
        lines.append(("provider_priority", str(spec.provider_priority)))
    lines.append(("license", spec.license))
    lines += [("replaces", _dep_text(d)) for d in spec.replaces]
    lines += [("depend", _dep_text(d)) for d in spec.depends]
    lines += [("provides", _dep_text(d)) for d in spec.provides]
    if spec.triggers:
        lines.append(("triggers", " ".join(spec.triggers)))
    if spec.install_if:
        lines.append(("install_if", " ".join(_dep_text(d) for d in spec.install_if)))
    lines.append(("datahash", datahash))
    for key, value in lines:
        if "\n" in value or "\r" in value:
            raise ValueError(f"package {spec.name}: its {key} {value!r} has a line break, which .PKGINFO cannot hold")
    return PkgInfo(lines)


def control_tar(spec: PackageSpec, info: PkgInfo) -> bytes:
    """The control tar as abuild makes it: `.PKGINFO` then the scripts (0755), GNU tar posix
    members owned by root, mtime = builddate, no end blocks (`abuild-tar --cut`)."""
    unknown = set(spec.scripts) - set(SCRIPT_TYPES)
    if unknown:
        raise ValueError(f"package {spec.name}: unknown script types {sorted(unknown)}; apk knows {SCRIPT_TYPES}")
    if spec.triggers and "trigger" not in spec.scripts:
        raise ValueError(f"package {spec.name}: triggers {spec.triggers} need a 'trigger' script")
    members = [(".PKGINFO", format_pkginfo(info).encode(), 0o644)]
    for script in SCRIPT_TYPES:
        if script in spec.scripts:
            text = spec.scripts[script]
            members.append((f".{script}", text.encode() if isinstance(text, str) else text, 0o755))
    out = bytearray()
    for name, data, mode in members:
        header, _ = posix_member_header(TarEntry(name, "file", mode, 0, 0, "root", "root", spec.builddate, len(data)))
        out += header + data + padding(len(data))
    return bytes(out)


def build_apk(spec: PackageSpec, out: Path, key: SigningKey | None, *, signature_kind: str = "RSA") -> BuiltApk:
    """Build `out` (a .apk) from `spec` the way abuild does: data tar (sorted, checksummed) ->
    datahash in .PKGINFO -> control tar -> signature over the compressed control stream
    (`.SIGN.<kind>.<key name>`, skipped when `key` is None) -> the three streams concatenated.
    Deterministic: the same spec and key give the same bytes."""
    out = Path(out)
    if not spec.name or not spec.version or any(c.isspace() for c in spec.name + spec.version):
        raise ValueError(f"not a package name and version: {spec.name!r} {spec.version!r}")
    make_pkginfo(spec, 0, "")  # refuses what .PKGINFO cannot hold before any work is done
    files = package_members(spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out.parent) as data_gz:
        datahash, counted = _write_data_tar(spec, files, data_gz)
        installed = spec.installed_size if spec.installed_size is not None else counted
        if installed == 0 and (files or spec.scripts):
            installed = 1  # abuild: apk-tools 2 treats size 0 as a virtual package and extracts nothing
        info = make_pkginfo(spec, installed, datahash)
        control_gz = gzip_member(control_tar(spec, info))
        signature = b""
        if key is not None:
            signature = make_signature_segment(key.sign(control_gz, signature_kind), mtime=spec.builddate)
        partial = out.with_name(out.name + ".part")
        with open(partial, "wb") as target:
            target.write(signature)
            target.write(control_gz)
            data_gz.seek(0)
            shutil.copyfileobj(data_gz, target, 1 << 20)
        os.replace(partial, out)
    checksum = q1(hashlib.sha1(control_gz).digest())
    return BuiltApk(out, info.to_package(checksum, out.stat().st_size), datahash)

