"""RSA keys and signatures of Alpine's apk v2 files (Qt-free), as abuild-keygen, abuild-sign and
apk-tools 2.14 make and check them.

A signed `.apk` or `APKINDEX.tar.gz` starts with a gzip stream holding a tar member named
`.SIGN.RSA.<keyname>` (RSA PKCS#1 v1.5 over SHA-1) or `.SIGN.RSA256.<keyname>` (SHA-256), where
`<keyname>` is the file name of the public key, `something.rsa.pub`: apk looks that name up among
its trusted keys (`/etc/apk/keys/<keyname>`). apk uses the first signature whose key it trusts and
ignores the others. The signed bytes are the compressed bytes that follow the signature stream (for
a package with `datahash`: only its control stream). All cryptography is `cryptography`'s.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from studio.packages.formats import (
    ApkFormatError,
    BytesStream,
    SignatureError,
    TarEntry,
    TarReader,
    gzip_member,
    posix_member_header,
)

# Signature kinds apk-tools 2.14 knows (extract_v2.c), with their digests. DSA is recognised by
# apk but no Alpine key is DSA; it is reported as unsupported.
DIGESTS = {"RSA512": "sha512", "RSA256": "sha256", "RSA": "sha1", "DSA": "sha1"}
_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha512": hashes.SHA512}
SIGNATURE_PREFIX = ".SIGN."


@dataclass(frozen=True)
class Signature:
    """One `.SIGN.<kind>.<key_name>` member of a signature stream."""

    kind: str  # RSA, RSA256, RSA512, DSA
    key_name: str
    value: bytes

    @property
    def digest_name(self) -> str:
        return DIGESTS[self.kind]

    @property
    def member_name(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.kind}.{self.key_name}"


def parse_signature_member_name(name: str) -> tuple[str, str] | None:
    """(kind, key name) of a `.SIGN.<kind>.<key name>` member, None for any other name."""
    if not name.startswith(SIGNATURE_PREFIX):
        return None
    rest = name[len(SIGNATURE_PREFIX):]
    for kind in DIGESTS:  # longest first: RSA512 and RSA256 before RSA
        if rest.startswith(kind + ".") and len(rest) > len(kind) + 1:
            return kind, rest[len(kind) + 1:]
    return None


class SigningKey:
    """An RSA private key and the name its public half is published under (`NAME.rsa.pub`, the
    name apk looks up in /etc/apk/keys)."""

    def __init__(self, private_key: rsa.RSAPrivateKey, key_name: str):
        if not key_name or "/" in key_name or key_name.startswith("."):
            raise ValueError(f"not a key file name: {key_name!r}")
        self.private_key = private_key
        self.key_name = key_name

    @classmethod
    def generate(cls, stem: str, bits: int = 4096) -> SigningKey:
        """A new key named `STEM.rsa.pub` (abuild-keygen names keys `EMAIL-HEXTIME.rsa`)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits), f"{stem}.rsa.pub")

    @classmethod
    def load(cls, private_pem: Path, key_name: str | None = None) -> SigningKey:
        """Load `NAME.rsa` (PEM); its public name defaults to `NAME.rsa.pub` beside it."""
        private_pem = Path(private_pem)
        key = serialization.load_pem_private_key(private_pem.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ApkFormatError(f"{private_pem}: not an RSA private key; apk signatures need RSA")
        return cls(key, key_name or private_pem.name + ".pub")

    @property
    def stem(self) -> str:
        return self.key_name.removesuffix(".pub").removesuffix(".rsa")

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        """`-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo), what `openssl rsa -pubout` writes
        and apk reads from /etc/apk/keys."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write `<key_name without .pub>` (mode 0600) and `<key_name>` into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        private_path = directory / self.key_name.removesuffix(".pub")
        public_path = directory / self.key_name
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.private_pem())
        public_path.write_bytes(self.public_pem())
        return private_path, public_path

    def sign_digest(self, digest: bytes, kind: str = "RSA") -> Signature:
        """Sign a digest already taken with `kind`'s hash (RSA: SHA-1, RSA256: SHA-256)."""
        if kind not in ("RSA", "RSA256", "RSA512"):
            raise ValueError(f"unsupported signature kind {kind!r}")
        algorithm = _HASHES[DIGESTS[kind]]()
        value = self.private_key.sign(digest, padding.PKCS1v15(), Prehashed(algorithm))
        return Signature(kind, self.key_name, value)

    def sign(self, data: bytes, kind: str = "RSA") -> Signature:
        return self.sign_digest(hashlib.new(DIGESTS[kind], data).digest(), kind)


class TrustedKeys:
    """Public keys apk would trust, by file name (what /etc/apk/keys is to apk). `source` names
    where they came from, for messages."""

    def __init__(self, keys: dict[str, rsa.RSAPublicKey], source: str):
        self._keys = dict(keys)
        self.source = source

    @classmethod
    def from_directory(cls, directory: Path) -> TrustedKeys:
        """Every readable PEM public key in `directory`, named by its file name, like apk's
        --keys-dir. Files that are not RSA public keys are ignored, as apk ignores them."""
        directory = Path(directory)
        keys: dict[str, rsa.RSAPublicKey] = {}
        if directory.is_dir():
            for path in sorted(directory.iterdir()):
                if not path.is_file():
                    continue
                key = _load_public(path.read_bytes())
                if key is not None:
                    keys[path.name] = key
        return cls(keys, str(directory))

    @classmethod
    def from_pems(cls, pems: dict[str, bytes], source: str = "the given keys") -> TrustedKeys:
        keys = {}
        for name, pem in pems.items():
            key = _load_public(pem)
            if key is None:
                raise ApkFormatError(f"{name}: not an RSA public key (PEM)")
            keys[name] = key
        return cls(keys, source)

    @classmethod
    def of(cls, *signing_keys: SigningKey, source: str = "the given keys") -> TrustedKeys:
        return cls({k.key_name: k.private_key.public_key() for k in signing_keys}, source)

    def names(self) -> list[str]:
        return sorted(self._keys)

    def get(self, name: str) -> rsa.RSAPublicKey | None:
        return self._keys.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._keys

    def __len__(self) -> int:
        return len(self._keys)


def _load_public(pem: bytes) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def make_signature_segment(signature: Signature, *, mtime: int = 0) -> bytes:
    """The gzip stream abuild-sign puts in front of what it signs: a POSIX tar member
    `.SIGN.<kind>.<key_name>` (uid/gid 0, no user names, mode 0644) without tar end blocks."""
    entry = TarEntry(signature.member_name, "file", 0o644, 0, 0, "", "", mtime, len(signature.value))
    header, _ = posix_member_header(entry)
    tar = header + signature.value + b"\0" * (-len(signature.value) % 512)
    return gzip_member(tar)


def read_signatures(tar_bytes: bytes, *, what: str) -> list[Signature]:
    """The signatures in a decompressed signature stream (apk reads `.SIGN.*` members until the
    first other member; unknown kinds are skipped)."""
    reader = TarReader(BytesStream(tar_bytes), what=what, part="signature")
    signatures = []
    while (member := reader.next()) is not None:
        parsed = parse_signature_member_name(member.name) if "/" not in member.name else None
        if member.kind != "file" or parsed is None:
            break
        signatures.append(Signature(parsed[0], parsed[1], reader.read_content()))
    return signatures


def choose_signature(signatures: list[Signature], trusted: TrustedKeys, *, what: str) -> Signature:
    """The signature apk would check: the first one made with a key it trusts. Raises the
    SignatureError apk's refusal amounts to when there is none."""
    if not signatures:
        raise SignatureError(
            f"{what}: not signed (it has no .SIGN.RSA signature); refused. "
            f"Sign it with a key whose public half is in {trusted.source}."
        )
    for signature in signatures:
        if signature.kind != "DSA" and signature.key_name in trusted:
            return signature
    names = ", ".join(sorted({s.key_name for s in signatures}))
    raise SignatureError(
        f"{what}: signed by {names}, which is not among the trusted keys ({trusted.source}). "
        "If you trust that signer, add its public key there."
    )


def verify_signature(signature: Signature, digest: bytes, trusted: TrustedKeys, *, what: str) -> None:
    """Check `signature` against `digest` (taken with the signature kind's hash) with the
    trusted key of the same name."""
    key = trusted.get(signature.key_name)
    if key is None:
        raise SignatureError(
            f"{what}: signed by {signature.key_name}, which is not among the trusted keys ({trusted.source})."
        )
    try:
        key.verify(signature.value, digest, padding.PKCS1v15(), Prehashed(_HASHES[signature.digest_name]()))
    except InvalidSignature:
        raise SignatureError(
            f"{what}: signature does not match (signed by {signature.key_name}): the file was changed or "
            "damaged after it was signed. Download it again; if it persists, the repository is broken or tampered with."
        ) from None
