"""APKINDEX: Alpine's repository index, its text and its signed `APKINDEX.tar.gz` (Qt-free).

The text is one record per package, records separated by a blank line, each line `X:value` with a
one-letter field (C P V A S I T U L o m t c k D p i; apk ignores the others, and so do we). apk
writes the fields in that order (package.c `apk_pkg_write_index_header`), and so does
`format_apkindex`.

`APKINDEX.tar.gz` is a signature gzip stream (`.SIGN.RSA.<key>` tar member without end blocks)
followed by a gzip stream of a tar holding `DESCRIPTION` and `APKINDEX`. The signature covers all
compressed bytes after the signature stream. `apk index` writes the inner tar with its own tar
writer (GNU magic, root/root, two zero blocks at the end) and abuild-sign prepends the signature.

Loading is the hot path (a community index has ~20,000 packages and the studio opens several):
the parser makes one dict per record with a comprehension, checks every line's shape with one
literal-prefixed regex scan, parses each distinct dependency item once (a cache: indexes repeat
`so:libc.musl-x86.so.1`, `/bin/sh`...) with one regex, and keeps the garbage collector out of the
way. 20,000 packages load in about 0.25 s (bench/bench_apkindex.py).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from studio.packages.apkfile import open_apk
from studio.packages.formats import (
    ApkFormatError,
    BytesStream,
    RawReader,
    TarReader,
    TruncatedError,
    apk_tar_end,
    apk_tar_entry,
    gzip_member,
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
from studio.packages.model import Dependency, Package, format_dependency, parse_dependency

INDEX_FIELDS = "CPVASITULomtckDpi"
INDEX_LIMIT = 512 << 20  # an index expanding past this is refused (a bomb, not a repository)


# ---------------------------------------------------------------------------------------------
# text


# A well-formed dependency item (model.parse_dependency's grammar), matched in one go; anything
# else goes to model.parse_dependency, which says what is wrong with it.
_DEPENDENCY = re.compile(r"(!?+)([^<>=~\s]+)(?:((?><=|>=|><|~=|=|<|>|~))(.+))?\Z")
# A line (after the first) that is not empty and whose second character is not ':' (apk: "FDB
# format error"). Written without '^' so the scan runs at the speed of a literal search.
_BAD_LINE = re.compile(r"\n[^\n][^:]")
# What a record lacks reads as apk's defaults.
_DEFAULTS = dict.fromkeys(INDEX_FIELDS, "") | {"S": "0", "I": "0", "t": "0"}


@functools.lru_cache(maxsize=1 << 17)
def dependency(text: str) -> Dependency:
    """model.parse_dependency, with a one-regex fast path and a cache (indexes repeat items:
    `so:libc.musl-x86.so.1`, `/bin/sh`...). Raises ValueError for a malformed item."""
    match = _DEPENDENCY.match(text)
    if match is None:
        return parse_dependency(text)  # raises ValueError saying what is wrong
    conflict, name, op, version = match.groups()
    if op is None:
        return Dependency(name, "", "", conflict == "!")
    return Dependency(name, "~" if op == "~=" else op, version, conflict == "!")


def dependencies(value: str) -> list[Dependency]:
    """A whole D:/p:/i:/r: field value (space-separated items). Raises ValueError."""
    return list(map(dependency, value.split()))


def parse_apkindex(text: str, *, source: str = "APKINDEX") -> list[Package]:
    """The packages of an APKINDEX text (or any file of index records). Unknown fields are
    ignored; a malformed line, a record without P: or V:, or a malformed number or dependency is
    an ApkFormatError naming `source` and where."""
    _check_lines(text, source)
    packages: list[Package] = []
    append = packages.append
    parse = dependency
    defaults = _DEFAULTS
    gc_was_enabled = gc.isenabled()
    gc.disable()  # tens of thousands of new objects, no cycles: the collector would only slow this down
    try:
        for number, record in enumerate(text.split("\n\n"), 1):
            try:
                f = defaults | {line[0]: line[2:] for line in record.split("\n")}
            except IndexError:  # blank lines in a row: the record starts or ends with "\n"
                f = defaults | {line[0]: line[2:] for line in record.split("\n") if line}
                if f == defaults:
                    continue
            name = f["P"]
            version = f["V"]
            if not name or not version:
                raise ApkFormatError(
                    f"{source}: record {number} ({name or 'no name'}) has no {'P' if not name else 'V'}: field")
            depends = f["D"]
            provides = f["p"]
            install_if = f["i"]
            priority = f["k"]
            try:
                append(Package(
                    name, version, f["A"], f["C"], int(f["S"]), int(f["I"]), f["T"], f["U"], f["L"], f["o"], f["m"],
                    int(f["t"]), f["c"],
                    list(map(parse, depends.split())) if depends else [],
                    list(map(parse, provides.split())) if provides else [],
                    list(map(parse, install_if.split())) if install_if else [],
                    int(priority) if priority else None,
                ))
            except ValueError as exc:
                raise ApkFormatError(f"{source}: record {number} ({name}) is malformed: {exc}") from None
    finally:
        if gc_was_enabled:
            gc.enable()
    return packages


def _check_lines(text: str, source: str) -> None:
    bad = _BAD_LINE.search(text)
    last = text.rfind("\n") + 1  # the last line, when the text does not end with a newline
    if bad is not None:
        start = bad.start() + 1
    elif text and text[0] != "\n" and text[1:2] != ":":
        start = 0
    elif last < len(text) and text[last + 1:last + 2] != ":":
        start = last
    else:
        return
    line = text.count("\n", 0, start) + 1
    raise ApkFormatError(f"{source}: line {line} is not an index field: {text[start:start + 80].split(chr(10))[0]!r}")


def package_from_fields(parsed: dict[str, str], source: str, number: int) -> Package:
    """A Package from one record's fields (letter -> value); `number` says which record, for errors."""
    fields = _DEFAULTS | parsed
    name = fields["P"]
    version = fields["V"]
    if not name or not version:
        raise ApkFormatError(f"{source}: record {number} ({name or 'no name'}) has no {'P' if not name else 'V'}: field")
    try:
        priority = fields["k"]
        return Package(
            name, version, fields["A"], fields["C"], int(fields["S"]), int(fields["I"]), fields["T"], fields["U"],
            fields["L"], fields["o"], fields["m"], int(fields["t"]), fields["c"], dependencies(fields["D"]),
            dependencies(fields["p"]), dependencies(fields["i"]), int(priority) if priority else None,
        )
    except ValueError as exc:
        raise ApkFormatError(f"{source}: record {number} ({name}) is malformed: {exc}") from None


def _deps(deps: list[Dependency]) -> str:
    return " ".join(format_dependency(d) for d in deps)


def format_index_record(pkg: Package) -> str:
    """One record, fields in apk's order, each line ending in a newline (no blank line). Like
    apk: T, U and L always; A, o, m, c only when set; t and k only when non-zero."""
    lines = []
    if pkg.checksum:
        lines.append(f"C:{pkg.checksum}")
    lines += [f"P:{pkg.name}", f"V:{pkg.version}"]
    if pkg.arch:
        lines.append(f"A:{pkg.arch}")
    lines += [f"S:{pkg.size}", f"I:{pkg.installed_size}", f"T:{pkg.description}", f"U:{pkg.url}",
              f"L:{pkg.license}"]
    if pkg.origin:
        lines.append(f"o:{pkg.origin}")
    if pkg.maintainer:
        lines.append(f"m:{pkg.maintainer}")
    if pkg.build_time:
        lines.append(f"t:{pkg.build_time}")
    if pkg.commit:
        lines.append(f"c:{pkg.commit}")
    if pkg.provider_priority:
        lines.append(f"k:{pkg.provider_priority}")
    if pkg.depends:
        lines.append(f"D:{_deps(pkg.depends)}")
    if pkg.provides:
        lines.append(f"p:{_deps(pkg.provides)}")
    if pkg.install_if:
        lines.append(f"i:{_deps(pkg.install_if)}")
    return "\n".join(lines) + "\n"


def format_apkindex(packages: list[Package]) -> str:
    """APKINDEX text: each record followed by a blank line, in the order given."""
    return "".join(format_index_record(p) + "\n" for p in packages)


# ---------------------------------------------------------------------------------------------
# APKINDEX.tar.gz


@dataclass
class ApkIndex:
    """A loaded index: its DESCRIPTION (e.g. "v3.19.4-12-g..."), its packages (repository left
    "") and the name of the key whose signature was checked (None when not checked)."""

    description: str
    packages: list[Package]
    signer: str | None


def read_apkindex(source: bytes | Path, trusted: TrustedKeys | None, *, what: str | None = None,
                  allow_untrusted: bool = False) -> ApkIndex:
    """Load an `APKINDEX.tar.gz` (its bytes or its path): check its signature against `trusted`
    (apk's rules: the first signature by a trusted key; SHA-1 for .SIGN.RSA., SHA-256 for
    .SIGN.RSA256.) over the compressed bytes after the signature stream, then parse it. `what`
    names it in errors ("APKINDEX of http://..."). Raises SignatureError when it is not signed,
    signed by an untrusted key, or the signature does not match (unless `allow_untrusted`)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        what = what or f"APKINDEX {path}"
        data = path.read_bytes()
    else:
        data = bytes(source)
        what = what or "APKINDEX"
    raw = RawReader(io.BytesIO(data), what)
    _, first = read_gzip_member(raw, limit=INDEX_LIMIT, part="first gzip stream")
    signatures = read_signatures(first, what=what)
    signer = None
    if signatures:
        signed = memoryview(data)[raw.consumed:]
        if not allow_untrusted:
            if trusted is None:
                raise ValueError("read_apkindex needs trusted keys unless allow_untrusted")
            signature = choose_signature(signatures, trusted, what=what)
            verify_signature(signature, hashlib.new(signature.digest_name, signed).digest(), trusted, what=what)
            signer = signature.key_name
        tar = _gunzip_all(signed, what)
    else:
        if not allow_untrusted:
            choose_signature([], trusted or TrustedKeys({}, "the trusted keys"), what=what)  # raises "not signed"
        tar = first + _gunzip_all(memoryview(data)[raw.consumed:], what)
    description, text = _index_members(tar, what)
    return ApkIndex(description, parse_apkindex(text, source=what), signer)


def _gunzip_all(data: memoryview, what: str) -> bytes:
    """The content of consecutive gzip members (apk reads on across member boundaries)."""
    out = []
    total = 0
    rest = bytes(data)
    while rest:
        decompressor = zlib.decompressobj(31)
        try:
            chunk = decompressor.decompress(rest, INDEX_LIMIT + 1 - total)
        except zlib.error as exc:
            raise ApkFormatError(f"{what}: not valid gzip ({exc})") from None
        total += len(chunk)
        if total > INDEX_LIMIT or decompressor.unconsumed_tail:
            raise ApkFormatError(f"{what}: expands to more than {INDEX_LIMIT} bytes; refused")
        if not decompressor.eof:
            raise TruncatedError(f"{what}: the file ends inside its gzip stream (a cut-short download?)")
        out.append(chunk)
        rest = decompressor.unused_data
    return b"".join(out)


def _index_members(tar_bytes: bytes, what: str) -> tuple[str, str]:
    tar = TarReader(BytesStream(tar_bytes), what=what, part="index tar")
    description = ""
    text = None
    while (member := tar.next()) is not None:
        if member.kind != "file":
            continue
        if member.name.startswith("."):
            raise ApkFormatError(f"{what}: holds {member.name!r}: this is a package, not an index")
        if member.name == "DESCRIPTION":
            description = tar.read_content().decode("utf-8", "replace")
        elif member.name == "APKINDEX":
            text = tar.read_content().decode("utf-8", "replace")
    if text is None:
        raise ApkFormatError(f"{what}: has no APKINDEX member (not a repository index)")
    return description, text


def index_tar(packages: list[Package], description: str | None, *, mtime: int = 0) -> bytes:
    """The tar `apk index` writes: DESCRIPTION (when given) and APKINDEX, mode 0644, root/root,
    ended by two zero blocks."""
    out = b""
    if description is not None:
        out += apk_tar_entry("DESCRIPTION", description.encode(), mode=0o644, mtime=mtime)
    out += apk_tar_entry("APKINDEX", format_apkindex(packages).encode(), mode=0o644, mtime=mtime)
    return out + apk_tar_end()


def write_apkindex(packages: list[Package], key: SigningKey | None, *, description: str | None = None,
                   signature_kind: str = "RSA", mtime: int = 0) -> bytes:
    """`APKINDEX.tar.gz` bytes as `apk index` + `abuild-sign` make them (unsigned when `key` is
    None). Deterministic for the same inputs."""
    body = gzip_member(index_tar(packages, description, mtime=mtime))
    if key is None:
        return body
    return make_signature_segment(key.sign(body, signature_kind), mtime=mtime) + body


def build_repository_index(directory: Path, key: SigningKey | None, *, description: str | None = None,
                           signature_kind: str = "RSA", trusted: TrustedKeys | None = None) -> Path:
    """Index every `*.apk` in `directory` (one arch folder of a repository) into a signed
    `APKINDEX.tar.gz` there, packages sorted by name, then version text (deterministic).
    Packages are checked against `trusted` when given (else read like --allow-untrusted)."""
    directory = Path(directory)
    packages = []
    for path in sorted(directory.glob("*.apk")):
        apk = open_apk(path, trusted, allow_untrusted=trusted is None)
        packages.append(apk.package)
    packages.sort(key=lambda p: (p.name, p.version))
    mtime = max((p.build_time for p in packages), default=0)
    target = directory / "APKINDEX.tar.gz"
    partial = directory / "APKINDEX.tar.gz.part"
    partial.write_bytes(write_apkindex(packages, key, description=description, signature_kind=signature_kind,
                                       mtime=mtime))
    partial.replace(target)
    return target
