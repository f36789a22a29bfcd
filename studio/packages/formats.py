"""The containers Alpine's apk v2 files are made of (Qt-free): concatenated gzip streams, tar
segments and the `Q1` checksums, read and written the way apk-tools 2.14 and abuild do.

An `.apk` and an `APKINDEX.tar.gz` are several gzip streams glued together, each holding a piece of
one tar stream: abuild writes the signature and control pieces without tar end blocks (its
`abuild-tar --cut`), so apk reads them as one archive, while signatures and checksums cover the
*compressed* bytes of each piece. That is why this module works on gzip members one at a time and
counts the raw bytes, and why it has its own tar reader: apk's rules (pax records, the legacy `APK2`
digest, one stray zero block is skipped) differ from Python's tarfile, and a hostile header must be
refused before it is read. The writers produce what GNU tar `--format=posix` piped through abuild-tar
produces, deterministically.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from studio.errors import StudioError

BLOCK = 512
RECORD = 10240  # GNU tar's default record (blocking factor 20): a finished archive is padded to it
CHUNK = 1 << 16

# The header blocks of one member (pax header plus GNU long names) may not exceed this: a tar that
# claims gigabytes of header is refused before anything is read into memory.
MAX_HEADER_BYTES = 1 << 20


class ApkFormatError(StudioError):
    """An apk file (package, index, database) is not what apk-tools would accept."""


class SignatureError(ApkFormatError):
    """Not signed, signed by an untrusted key, or the signature does not match."""


class IntegrityError(ApkFormatError):
    """A checksum (C:, datahash, a file's SHA-1) does not match what was promised."""


class TruncatedError(ApkFormatError):
    """The file ends before its gzip stream or its tar archive does (a cut-short download)."""


class UnsafeMemberError(ApkFormatError):
    """A package member would land outside the root or link to something it must not."""


# ---------------------------------------------------------------------------------------------
# Q1 checksums: apk writes SHA-1 digests as "Q1" + base64 (C:, Z:, scripts.tar, triggers).


def q1(digest: bytes) -> str:
    """`Q1` + base64 of a SHA-1 digest: how apk prints checksums (C:, Z:, scripts.tar names)."""
    return "Q1" + base64.b64encode(digest).decode("ascii")


def q1_of(data: bytes) -> str:
    return q1(hashlib.sha1(data).digest())


def parse_checksum(text: str) -> bytes:
    """The digest in an apk checksum field: `Q1<base64 SHA-1>`, `Q2<base64 SHA-256>` or hex (MD5,
    from very old databases). Raises ValueError for anything else."""
    if text.startswith(("Q1", "Q2")):
        try:
            digest = base64.b64decode(text[2:], validate=True)
        except binascii.Error:
            raise ValueError(f"not an apk checksum: {text!r}") from None
        if len(digest) != (20 if text[1] == "1" else 32):
            raise ValueError(f"not an apk checksum: {text!r}")
        return digest
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"not an apk checksum: {text!r}") from None
    if len(digest) not in (16, 20):
        raise ValueError(f"not an apk checksum: {text!r}")
    return digest


# ---------------------------------------------------------------------------------------------
# gzip members


# The header `gzip -n -9` writes: no name, mtime 0, "maximum compression", OS Unix.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"


def gzip_member(data: bytes) -> bytes:
    """One gzip member as `gzip -n -9` writes it: deterministic (the deflate bytes are zlib's,
    which differ from GNU gzip's; apk only cares that they inflate)."""
    sink = io.BytesIO()
    compressor = GzipCompressor(sink)
    compressor.write(data)
    compressor.close()
    return sink.getvalue()


class GzipCompressor:
    """A streaming `gzip -n -9` writer into a binary sink that also counts and hashes the
    compressed bytes (datahash is the SHA-256 of the compressed data stream)."""

    def __init__(self, sink: BinaryIO, hasher=None):
        self._sink = sink
        self._hasher = hasher
        self._compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        self._crc = 0
        self._size = 0
        self.compressed_size = 0
        self._emit(GZIP_HEADER)

    def _emit(self, data: bytes) -> None:
        if data:
            self._sink.write(data)
            self.compressed_size += len(data)
            if self._hasher is not None:
                self._hasher.update(data)

    def write(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._emit(self._compressor.compress(data))

    def close(self) -> None:
        self._emit(self._compressor.flush())
        self._emit(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))


class BytesStream:
    """`read(n)` over bytes already in memory (small signature and control pieces, indexes)."""

    def __init__(self, data: bytes):
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int) -> bytes:
        chunk = self._data[self._pos:self._pos + size]
        self._pos += len(chunk)
        return bytes(chunk)


class RawReader:
    """Reads the compressed bytes of a file with a push-back buffer, so one gzip member can be
    taken off the front and the rest handed on; `consumed` counts what was taken."""

    def __init__(self, source: BinaryIO, what: str):
        self._source = source
        self._pending = b""
        self.what = what
        self.consumed = 0

    def read(self, size: int = CHUNK) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
        else:
            data = self._source.read(size)
        self.consumed += len(data)
        return data

    def unread(self, data: bytes) -> None:
        if data:
            self._pending = data + self._pending
            self.consumed -= len(data)

    def at_end(self) -> bool:
        if self._pending:
            return False
        data = self._source.read(1)
        if not data:
            return True
        self._pending = data
        return False


def read_gzip_member(raw: RawReader, *, limit: int, part: str) -> tuple[bytes, bytes]:
    """Take one whole gzip member off `raw`: (its compressed bytes, its content). The content may
    not exceed `limit` bytes (signature and control pieces are small; a bomb is refused)."""
    decompressor = zlib.decompressobj(31)
    compressed = bytearray()
    content = bytearray()
    while not decompressor.eof:
        chunk = raw.read(CHUNK)
        if not chunk:
            raise TruncatedError(f"{raw.what}: the file ends inside its {part} (a cut-short download?)")
        try:
            content += decompressor.decompress(chunk, limit + 1 - len(content))
            while decompressor.unconsumed_tail and not decompressor.eof and len(content) <= limit:
                content += decompressor.decompress(decompressor.unconsumed_tail, limit + 1 - len(content))
        except zlib.error as exc:
            raise ApkFormatError(f"{raw.what}: its {part} is not valid gzip ({exc})") from None
        if len(content) > limit:
            raise ApkFormatError(f"{raw.what}: its {part} expands to more than {limit} bytes; refused")
        unused = decompressor.unused_data
        compressed += chunk[: len(chunk) - len(unused)] if unused else chunk
        raw.unread(unused)
    return bytes(compressed), bytes(content)


class GunzipReader:
    """The decompressed content of consecutive gzip members read from `raw`, as a stream (`read`).
    Every compressed byte it takes is passed to `on_raw` (for datahash). The end of the file
    inside a member is a TruncatedError."""

    def __init__(self, raw: RawReader, *, part: str, on_raw: Callable[[bytes], None] | None = None):
        self._raw = raw
        self._part = part
        self._on_raw = on_raw
        self._decompressor = zlib.decompressobj(31)
        self._buffer = bytearray()
        self._finished = False

    def _fill(self, want: int) -> None:
        while len(self._buffer) < want and not self._finished:
            decompressor = self._decompressor
            if decompressor.eof:
                self._raw.unread(decompressor.unused_data)
                if self._raw.at_end():
                    self._finished = True
                    return
                decompressor = self._decompressor = zlib.decompressobj(31)
            data = decompressor.unconsumed_tail or self._raw.read(CHUNK)
            if not data:
                raise TruncatedError(f"{self._raw.what}: the file ends inside its {self._part} (a cut-short download?)")
            try:
                self._buffer += decompressor.decompress(data, max(want - len(self._buffer), CHUNK))
            except zlib.error as exc:
                raise ApkFormatError(f"{self._raw.what}: its {self._part} is not valid gzip ({exc})") from None
            if self._on_raw is not None:
                # Report exactly the bytes this member consumed: a tail left for later, or what lies
                # past the member's end, is reported when it is consumed. (At the end of a member
                # zlib leaves the rest in unused_data; unconsumed_tail may still hold a stale copy.)
                left = len(decompressor.unused_data) if decompressor.eof else len(decompressor.unconsumed_tail)
                if len(data) > left:
                    self._on_raw(data[: len(data) - left])

    def read(self, size: int) -> bytes:
        self._fill(size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def drain(self) -> None:
        """Read to the end of the last member (so every raw byte is seen and every CRC checked)."""
        while True:
            self._buffer.clear()
            self._fill(CHUNK)
            if not self._buffer:
                return


# ---------------------------------------------------------------------------------------------
# tar members

KIND_BY_TYPEFLAG = {b"0": "file", b"\0": "file", b"7": "file", b"1": "hardlink", b"2": "symlink",
                    b"3": "char", b"4": "block", b"5": "dir", b"6": "fifo"}
TYPEFLAG_BY_KIND = {"file": b"0", "hardlink": b"1", "symlink": b"2", "char": b"3", "block": b"4",
                    "dir": b"5", "fifo": b"6"}
CHECKSUM_PAX_KEY = "APK-TOOLS.checksum.SHA1"


@dataclass
class TarMember:
    """One tar member as apk reads it: `name` as stored (directories may end in '/'), `kind` one of
    file/dir/symlink/hardlink/char/block/fifo, `mode` the permission bits (07777), `pax` the
    member's pax records (APK-TOOLS.checksum.SHA1, SCHILY.xattr.*, ...), `legacy_digest` the
    digest abuild also hides in a regular file's linkname field ("APK2")."""

    name: str
    kind: str
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    mtime: int = 0
    size: int = 0
    link_target: str = ""
    pax: dict[str, str] = field(default_factory=dict)
    legacy_digest: bytes | None = None
    devmajor: int = 0
    devminor: int = 0

    @property
    def sha1(self) -> bytes | None:
        """The SHA-1 apk records for this member (Z:): its pax checksum, else the legacy one."""
        text = self.pax.get(CHECKSUM_PAX_KEY)
        if text is not None:
            try:
                digest = bytes.fromhex(text)
            except ValueError:
                return None
            return digest if len(digest) == 20 else None
        if self.legacy_digest is not None and len(self.legacy_digest) == 20:
            return self.legacy_digest
        return None


def _octal(field_bytes: bytes, *, what: str, name: str) -> int:
    """A numeric header field: octal digits padded by NUL or space (or GNU base-256)."""
    if field_bytes[:1] == b"\x80":  # GNU base-256 for values octal cannot hold
        return int.from_bytes(field_bytes[1:], "big")
    text = field_bytes.strip(b"\0 ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise ApkFormatError(f"{what}: tar header of {name!r} has a bad number {field_bytes!r}") from None


def _cstr(field_bytes: bytes) -> str:
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def parse_pax_records(data: bytes, *, what: str) -> dict[str, str]:
    """`"%d %s=%s\\n"` records (the length counts the whole record). Like apk, parsing stops at the
    first malformed record."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        end = pos + length
        if length <= 0 or end > len(data) or data[end - 1:end] != b"\n":
            break
        key, eq, value = data[space + 1:end - 1].partition(b"=")
        if not eq:
            break
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return records


class TarReader:
    """apk's tar parser (archive.c `apk_tar_parse`) over a stream with `read(n)`: pax 'x' headers
    apply to the next member, 'g' and GNU 'K' are skipped, 'L' gives a long name, the ustar prefix
    is joined, a single zero-name block is skipped and a second one ends the archive. `next()`
    gives the next member; its content is read with `read_content` (whatever is left unread is
    skipped by the next `next()`)."""

    def __init__(self, stream, *, what: str, part: str = "tar archive"):
        self._stream = stream
        self.what = what
        self.part = part
        self._left = 0  # content bytes of the current member not yet read
        self._pad = 0
        self._done = False

    def _read_exact(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise TruncatedError(f"{self.what}: its {self.part} ends in the middle of a member (a cut-short download?)")
        return data

    def read_content(self, size: int = -1) -> bytes:
        if size < 0 or size > self._left:
            size = self._left
        if size == 0:
            return b""
        data = self._read_exact(size)
        self._left -= size
        return data

    def _skip_rest(self) -> None:
        while self._left:
            self.read_content(min(self._left, CHUNK))
        if self._pad:
            self._read_exact(self._pad)
            self._pad = 0

    def _block_or_end(self) -> bytes | None:
        data = self._stream.read(BLOCK)
        if not data:
            return None
        if len(data) != BLOCK:
            raise TruncatedError(f"{self.what}: its {self.part} ends in the middle of a header (a cut-short download?)")
        return data

    def next(self) -> TarMember | None:
        if self._done:
            return None
        self._skip_rest()
        pax: dict[str, str] = {}
        long_name: str | None = None
        header_bytes = 0
        zero_blocks = 0
        while True:
            block = self._block_or_end()
            if block is None:
                self._done = True
                return None
            if block[0] == 0:
                zero_blocks += 1
                if zero_blocks >= 2:
                    self._done = True
                    self._drain_after_end()
                    return None
                continue
            name_field = block[0:100]
            if _checksum_ok(block) is False:
                raise ApkFormatError(f"{self.what}: its {self.part} has a damaged tar header ({_cstr(name_field)!r})")
            size = _octal(block[124:136], what=self.what, name=_cstr(name_field))
            typeflag = block[156:157]
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
            if typeflag in (b"x", b"g", b"L", b"K"):
                header_bytes += size
                if header_bytes > MAX_HEADER_BYTES:
                    raise ApkFormatError(
                        f"{self.what}: a tar header claims {size} bytes of extended data; refused"
                    )
                data = self._read_exact(padded)[:size]
                if typeflag == b"x":
                    pax.update(parse_pax_records(data, what=self.what))
                elif typeflag == b"L":
                    long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                continue
            kind = KIND_BY_TYPEFLAG.get(typeflag)
            if kind is None:  # an unknown type: apk skips it and so do we
                self._read_exact(padded)
                pax, long_name = {}, None
                continue
            name = _cstr(name_field)
            prefix = _cstr(block[345:500]) if block[257:263] == b"ustar\0" else ""
            if prefix:
                name = f"{prefix}/{name}"
            if long_name is not None:
                name = long_name
            name = pax.get("path", name)
            link_field = block[157:257]
            legacy = None
            if kind == "file" and link_field[3:7] == b"APK2":
                digest_size = struct.unpack("<H", link_field[9:11])[0]
                if digest_size <= 64:
                    legacy = link_field[11:11 + digest_size]
            if kind == "file" and "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    raise ApkFormatError(f"{self.what}: bad pax size for {name!r}") from None
                padded = (size + BLOCK - 1) // BLOCK * BLOCK
            number = functools.partial(_octal, what=self.what, name=name)
            member = TarMember(
                name=name,
                kind=kind,
                mode=number(block[100:108]) & 0o7777,
                uid=number(block[108:116]),
                gid=number(block[116:124]),
                uname=_cstr(block[265:297]),
                gname=_cstr(block[297:329]),
                mtime=number(block[136:148]),
                size=size if kind == "file" else 0,
                link_target=pax.get("linkpath", _cstr(link_field)) if kind in ("symlink", "hardlink") else "",
                pax=pax,
                legacy_digest=legacy,
                devmajor=number(block[329:337]) if kind in ("char", "block") else 0,
                devminor=number(block[337:345]) if kind in ("char", "block") else 0,
            )
            # Only regular files have content; whatever another member claims is skipped.
            self._left = member.size
            self._pad = padded - member.size
            return member

    def _drain_after_end(self) -> None:
        """After the end blocks apk reads on to the end, which must be zero blocks only."""
        while True:
            block = self._stream.read(BLOCK)
            if not block:
                return
            if len(block) != BLOCK or any(block):
                raise ApkFormatError(f"{self.what}: its {self.part} has data after the end of the archive")


def _checksum_ok(block: bytes) -> bool | None:
    stored = block[148:156].strip(b"\0 ")
    if not stored:
        return None
    try:
        expected = int(stored, 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    signed = sum(struct.unpack("148b", block[:148])) + 8 * 32 + sum(struct.unpack("356b", block[156:]))
    return expected in (unsigned, signed)


# ---------------------------------------------------------------------------------------------
# tar writing


def _num(value: int, width: int) -> bytes:
    """A numeric field as GNU tar and abuild-tar write it: zero-padded octal and a NUL."""
    text = b"%0*o" % (width - 1, value)
    if len(text) > width - 1:
        raise ValueError(f"{value} does not fit a {width}-byte tar field")
    return text + b"\0"


def _text(value: str, width: int) -> bytes:
    data = value.encode("utf-8", "surrogateescape")[:width]
    return data + b"\0" * (width - len(data))


def _finish(header: bytearray) -> bytes:
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def pax_record(key: str, value: str | bytes) -> bytes:
    """One pax record, `"%d %s=%s\\n"`, whose length counts its own digits."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    body = b" " + key.encode("utf-8", "surrogateescape") + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def xattr_checksum(xattrs: dict[str, bytes]) -> str:
    """What apk appends to M:/a: for a member with extended attributes: Q1 of the SHA-1 over
    the attributes sorted by name, each as big-endian 32-bit length + name, length + value
    (io.c `apk_fileinfo_hash_xattr_array`). "" without attributes."""
    if not xattrs:
        return ""
    digest = hashlib.sha1()
    for name in sorted(xattrs, key=lambda n: n.encode("utf-8", "surrogateescape")):
        encoded = name.encode("utf-8", "surrogateescape")
        value = xattrs[name]
        digest.update(struct.pack(">I", len(encoded)) + encoded + struct.pack(">I", len(value)) + value)
    return q1(digest.digest())


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


@dataclass
class TarEntry:
    """What the writer needs for one member. `name` without a leading "./"; directories without
    the trailing '/' (it is added)."""

    name: str
    kind: str = "file"
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    uname: str = "root"
    gname: str = "root"
    mtime: int = 0
    size: int = 0
    link_target: str = ""
    devmajor: int = 0
    devminor: int = 0


def _pax_header_name(member_name: str) -> str:
    """GNU tar's `--pax-option=exthdr.name=%d/PaxHeaders/%f` (abuild's apk_tar)."""
    path = member_name.rstrip("/")
    directory, _, base = path.rpartition("/")
    return f"{directory or '.'}/PaxHeaders/{base}"


def posix_member_header(entry: TarEntry, extra_pax: list[bytes] = (), legacy_sha1: bytes | None = None,
                        xattrs: dict[str, bytes] | None = None) -> tuple[bytes, int]:
    """The header blocks GNU tar `--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,
    atime:=0,ctime:=0 --xattrs` writes for `entry` (an 'x' header with atime/ctime, plus
    `path`/`linkpath` for long names and SCHILY.xattr.* for `xattrs`), with abuild-tar's
    additions: `extra_pax` records appended to the 'x' header and, for regular files, the legacy
    "APK2" digest in the linkname field. Returns (header bytes, the size GNU tar's own headers
    had before abuild-tar added to them: the end-of-archive padding depends on it)."""
    name = entry.name + ("/" if entry.kind == "dir" and not entry.name.endswith("/") else "")
    records: list[bytes] = []
    encoded_name = name.encode("utf-8", "surrogateescape")
    if len(encoded_name) > 100:
        records.append(pax_record("path", name))
    link = entry.link_target.encode("utf-8", "surrogateescape")
    if len(link) > 100:
        records.append(pax_record("linkpath", entry.link_target))
    for attribute, value in sorted((xattrs or {}).items()):
        records.append(pax_record(f"SCHILY.xattr.{attribute}", value))
    records += [pax_record("ctime", "0"), pax_record("atime", "0")]
    gnu_pax = b"".join(records)
    pax = gnu_pax + b"".join(extra_pax)

    x = bytearray(BLOCK)
    x[0:100] = _text(_pax_header_name(name), 100)
    x[100:108] = _num(0o644, 8)
    x[108:116] = _num(0, 8)
    x[116:124] = _num(0, 8)
    x[124:136] = _num(len(pax), 12)
    x[136:148] = _num(entry.mtime, 12)
    x[156:157] = b"x"
    x[257:265] = b"ustar\x0000"
    x_header = _finish(x)

    h = bytearray(BLOCK)
    h[0:100] = _text(name, 100)
    h[100:108] = _num(entry.mode & 0o7777, 8)
    h[108:116] = _num(entry.uid, 8)
    h[116:124] = _num(entry.gid, 8)
    h[124:136] = _num(entry.size if entry.kind == "file" else 0, 12)
    h[136:148] = _num(entry.mtime, 12)
    h[156:157] = TYPEFLAG_BY_KIND[entry.kind]
    h[157:257] = _text(entry.link_target, 100)
    h[257:265] = b"ustar\x0000"
    h[265:297] = _text(entry.uname, 32)
    h[297:329] = _text(entry.gname, 32)
    h[329:337] = _num(entry.devmajor, 8)
    h[337:345] = _num(entry.devminor, 8)
    if legacy_sha1 is not None and entry.kind == "file":
        # abuild-tar's add_legacy_checksum: "APK2", OpenSSL's NID for SHA-1 (64), the size, the digest.
        h[160:160 + 28] = b"APK2" + struct.pack("<HH", 64, len(legacy_sha1)) + legacy_sha1
    header = x_header + pax + padding(len(pax)) + _finish(h)
    gnu_size = BLOCK + len(gnu_pax) + len(padding(len(gnu_pax))) + BLOCK
    return header, gnu_size


def gnu_end_of_archive(gnu_size: int) -> bytes:
    """The zeros GNU tar ends an archive of `gnu_size` bytes with: two zero blocks, padded to a
    whole record (abuild keeps them in the data tar)."""
    total = (gnu_size + 2 * BLOCK + RECORD - 1) // RECORD * RECORD
    return b"\0" * (total - gnu_size)


def apk_tar_entry(name: str, data: bytes, *, mode: int = 0o755, mtime: int = 0) -> bytes:
    """A member as apk-tools' own `apk_tar_write_entry` writes it (scripts.tar, the APKINDEX tar
    of `apk index`): a GNU-magic header for a regular file owned by root, name cut at 100 bytes."""
    h = bytearray(BLOCK)
    h[0:100] = _text(name, 100)
    h[100:108] = _num(mode & 0o7777, 8)
    h[108:116] = _num(0, 8)
    h[116:124] = _num(0, 8)
    h[124:136] = b"%012o" % len(data)  # apk fills size and mtime with 12 digits, no NUL
    h[136:148] = b"%012o" % mtime
    h[156:157] = b"0"
    h[257:265] = b"ustar  \0"
    h[265:297] = _text("root", 32)
    h[297:329] = _text("root", 32)
    return _finish(h) + data + padding(len(data))


def apk_tar_end() -> bytes:
    """apk-tools' end of archive: two zero blocks, no record padding."""
    return b"\0" * (2 * BLOCK)
