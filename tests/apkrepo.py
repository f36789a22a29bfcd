"""An offline Alpine package repository for tests, made by the studio's own writers in Alpine's
exact formats (signed APKINDEX.tar.gz, signed .apk files), and hostile variants of it.

`build_repository(directory)` makes, for arch x86, signed by a key made here:

- a dependency chain: chain-a -> chain-b>=1.0 -> chain-c
- shared-library and command providers: libgreet (p: so:libgreet.so.1) and greet (D:
  so:libgreet.so.1, p: cmd:greet); greet-classic conflicts with greet (D: !greet) and provides
  cmd:greet too
- an install_if: greet-doc is installed when greet and docs (an empty meta package) both are
- a package whose .post-install adds a system user and group (daemon, D: /bin/sh)
- a trigger: greet-index watches /usr/share/greetings; greetings-extra puts a file there
- a 1 MiB package of incompressible bytes (bigdata)

Packages that need /bin/sh install on top of the Alpine minirootfs (its busybox-binsh provides
it); the rest install into an empty root too.

The hostile helpers below turn a good repository or package into a bad one: a damaged or
foreign index signature, an unsigned index, a package that is not the one the index describes
(C: mismatch), a package whose data does not match its datahash, a cut-short download, and
packages whose data tar holds traversal names or links that escape.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from studio.packages.apkfile import BuiltApk, FileSpec, PackageSpec, build_apk, control_tar, make_pkginfo, open_apk
from studio.packages.formats import (
    CHECKSUM_PAX_KEY,
    RawReader,
    TarEntry,
    gnu_end_of_archive,
    gzip_member,
    padding,
    pax_record,
    posix_member_header,
    read_gzip_member,
)
from studio.packages.index import build_repository_index, read_apkindex, write_apkindex
from studio.packages.keys import SigningKey, TrustedKeys, make_signature_segment

ARCH = "x86"
BUILD_TIME = 1700000000
KEY_BITS = 2048  # tests only: 4096 (abuild-keygen's default) makes key generation slow


def incompressible(size: int, seed: bytes = b"bigdata") -> bytes:
    """`size` deterministic bytes gzip cannot shrink (a SHA-256 counter stream)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


@dataclass
class TestRepository:
    """A repository on disk: `root` is what `--repository file://ROOT` names; packages and the
    index are in `root/<arch>/`; `keys_dir` holds the public key (what --keys-dir takes)."""

    __test__ = False  # not a pytest test class, whatever its name

    root: Path
    key: SigningKey
    keys_dir: Path
    arch: str = ARCH
    packages: dict[str, BuiltApk] = field(default_factory=dict)
    specs: dict[str, PackageSpec] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.root.as_uri()

    @property
    def arch_dir(self) -> Path:
        return self.root / self.arch

    @property
    def index_path(self) -> Path:
        return self.arch_dir / "APKINDEX.tar.gz"

    def trusted(self) -> TrustedKeys:
        return TrustedKeys.from_directory(self.keys_dir)

    def path_of(self, name: str) -> Path:
        return self.packages[name].path

    def add(self, spec: PackageSpec, *, signature_kind: str = "RSA") -> BuiltApk:
        built = build_apk(spec, self.arch_dir / spec.filename, self.key, signature_kind=signature_kind)
        self.packages[spec.name] = built
        self.specs[spec.name] = spec
        return built

    def reindex(self, *, description: str = "studio test repository", signature_kind: str = "RSA") -> Path:
        return build_repository_index(self.arch_dir, self.key, description=description, signature_kind=signature_kind,
                                      trusted=self.trusted())

    def copy(self, directory: Path) -> TestRepository:
        """The same repository under another directory (for a hostile variant)."""
        shutil.copytree(self.root, directory / "repo")
        shutil.copytree(self.keys_dir, directory / "keys")
        moved = TestRepository(directory / "repo", self.key, directory / "keys", self.arch)
        moved.specs = dict(self.specs)
        moved.packages = {n: BuiltApk(moved.arch_dir / b.path.name, b.package, b.datahash)
                          for n, b in self.packages.items()}
        return moved


def make_key(directory: Path, stem: str = "studio-tests-65536a00") -> tuple[SigningKey, Path]:
    """A fresh key pair; the public half alone in `directory` (a keys dir)."""
    key = SigningKey.generate(stem, bits=KEY_BITS)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / key.key_name).write_bytes(key.public_pem())
    return key, directory


def package_specs() -> list[PackageSpec]:
    def spec(name, version="1.0-r0", **kw) -> PackageSpec:
        kw.setdefault("description", f"test package {name}")
        kw.setdefault("url", "https://example.org/studio-tests")
        kw.setdefault("license", "MIT")
        kw.setdefault("maintainer", "Studio Tests <tests@example.org>")
        return PackageSpec(name, version, arch=ARCH, builddate=BUILD_TIME, **kw)

    greet_script = b"#!/bin/sh\nexec printf 'hello from greet\\n'\n"
    return [
        spec("chain-c", files=[FileSpec("usr/share/chain/c.txt", data=b"c\n")]),
        spec("chain-b", depends=["chain-c"], files=[FileSpec("usr/share/chain/b.txt", data=b"b\n")]),
        spec("chain-a", depends=["chain-b>=1.0"], files=[FileSpec("usr/share/chain/a.txt", data=b"a\n")]),
        spec("libgreet", "1.2.0-r1", provides=["so:libgreet.so.1=1.2.0"], files=[
            FileSpec("usr/lib/libgreet.so.1.2.0", data=b"\x7fELF not really\n" * 64, mode=0o755),
            FileSpec("usr/lib/libgreet.so.1", kind="symlink", target="libgreet.so.1.2.0"),
        ]),
        spec("greet", "2.0-r0", depends=["so:libgreet.so.1"], provides=["cmd:greet=2.0-r0"], files=[
            FileSpec("usr/bin/greet", data=greet_script, mode=0o755),
            FileSpec("usr/bin/hello", kind="hardlink", target="usr/bin/greet"),
            FileSpec("etc/greet/greet.conf", data=b"greeting=hello\n"),
            FileSpec("var/lib/greet", kind="dir", mode=0o750, uid=0, gid=0),
        ]),
        spec("greet-classic", "1.0-r0", depends=["!greet"], provides=["cmd:greet=1.0-r0"], files=[
            FileSpec("usr/bin/greet", data=b"#!/bin/sh\necho classic\n", mode=0o755),
        ]),
        spec("docs", "1.0-r0", description="install documentation (meta package)"),
        spec("greet-doc", "2.0-r0", install_if=["docs", "greet=2.0-r0"], files=[
            FileSpec("usr/share/doc/greet/README", data=b"greet: says hello\n"),
        ]),
        spec("daemon", "0.5-r2", depends=["/bin/sh"], files=[
            FileSpec("usr/sbin/daemond", data=b"#!/bin/sh\nsleep 1\n", mode=0o755),
            FileSpec("var/lib/daemond", kind="dir", mode=0o700),
        ], scripts={
            "pre-install": "#!/bin/sh\naddgroup -S daemond 2>/dev/null\n"
                           "adduser -S -D -H -h /var/lib/daemond -s /sbin/nologin -G daemond -g daemond daemond "
                           "2>/dev/null\nexit 0\n",
            "post-install": "#!/bin/sh\necho \"daemond installed as $(id -u daemond)\" > /var/lib/daemond/installed\n",
        }),
        spec("greet-index", "1.0-r0", depends=["/bin/sh"], triggers=["/usr/share/greetings"], files=[
            FileSpec("usr/share/greetings/index.txt", data=b"(empty)\n"),
        ], scripts={
            "trigger": "#!/bin/sh\nls /usr/share/greetings > /usr/share/greetings/index.txt\n",
        }),
        spec("greetings-extra", "1.0-r0", files=[
            FileSpec("usr/share/greetings/bonjour", data=b"bonjour\n"),
        ]),
        spec("bigdata", "1.0-r0", files=[FileSpec("usr/share/bigdata/blob.bin", data=incompressible(1 << 20))]),
    ]


def build_repository(directory: Path, key: SigningKey | None = None) -> TestRepository:
    """The repository described above, under `directory` (repo/ and keys/)."""
    directory = Path(directory)
    if key is None:
        key, keys_dir = make_key(directory / "keys")
    else:
        keys_dir = directory / "keys"
        keys_dir.mkdir(parents=True, exist_ok=True)
        (keys_dir / key.key_name).write_bytes(key.public_pem())
    repo = TestRepository(directory / "repo", key, keys_dir)
    for spec in package_specs():
        repo.add(spec)
    repo.reindex()
    return repo


# ---------------------------------------------------------------------------------------------
# hostile variants


def index_with_bad_signature(repo: TestRepository) -> Path:
    """Flip one byte of the index's signature value: 'signature does not match'."""
    index = read_apkindex(repo.index_path, None, allow_untrusted=True)
    body = repo.index_path.read_bytes()
    raw = RawReader(_bytes_io(body), "index")
    read_gzip_member(raw, limit=1 << 20, part="signature")
    signed = body[raw.consumed:]
    signature = repo.key.sign(signed)
    damaged = bytearray(signature.value)
    damaged[len(damaged) // 2] ^= 0x01
    signature = type(signature)(signature.kind, signature.key_name, bytes(damaged))
    repo.index_path.write_bytes(make_signature_segment(signature, mtime=BUILD_TIME) + signed)
    assert index.packages
    return repo.index_path


def index_signed_by_unknown_key(repo: TestRepository, stem: str = "stranger-00000001") -> SigningKey:
    """Re-sign the index with a key that is not in the repository's keys dir."""
    stranger = SigningKey.generate(stem, bits=KEY_BITS)
    index = read_apkindex(repo.index_path, None, allow_untrusted=True)
    repo.index_path.write_bytes(write_apkindex(index.packages, stranger, description=index.description,
                                               mtime=BUILD_TIME))
    return stranger


def unsigned_index(repo: TestRepository) -> Path:
    index = read_apkindex(repo.index_path, None, allow_untrusted=True)
    repo.index_path.write_bytes(write_apkindex(index.packages, None, description=index.description,
                                               mtime=BUILD_TIME))
    return repo.index_path


def replace_package_keeping_index(repo: TestRepository, name: str) -> Path:
    """Rebuild `name` with different content (validly signed) after the index was made: the
    file no longer is the package whose C: the index holds."""
    spec = repo.specs[name]
    changed = PackageSpec(**{**spec.__dict__, "builddate": spec.builddate + 1,
                             "files": spec.files + [FileSpec("usr/share/studio-tests/changed", data=b"changed\n")]})
    build_apk(changed, repo.path_of(name), repo.key)
    return repo.path_of(name)


def split_streams(path: Path) -> tuple[bytes, bytes, bytes]:
    """(signature, control, data) compressed streams of a signed package."""
    data = Path(path).read_bytes()
    raw = RawReader(_bytes_io(data), str(path))
    signature, _ = read_gzip_member(raw, limit=1 << 20, part="signature")
    control, _ = read_gzip_member(raw, limit=16 << 20, part="control")
    return signature, control, data[raw.consumed:]


def package_with_foreign_data(repo: TestRepository, name: str, donor: str) -> Path:
    """`name`'s signature and control streams with `donor`'s data stream: the signature still
    holds, the datahash does not."""
    signature, control, _ = split_streams(repo.path_of(name))
    _, _, data = split_streams(repo.path_of(donor))
    target = repo.path_of(name)
    target.write_bytes(signature + control + data)
    return target


def truncated_copy(path: Path, out: Path, keep: float = 0.5) -> Path:
    data = Path(path).read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def raw_member(name: str, kind: str = "file", data: bytes = b"", *, target: str = "", mode: int | None = None,
               checksum: bool = True) -> tuple[TarEntry, bytes, list[bytes]]:
    """A data tar member written exactly as given (no path checks): for hostile packages."""
    default = {"file": 0o644, "dir": 0o755, "symlink": 0o777, "hardlink": 0o644}[kind]
    entry = TarEntry(name, kind, default if mode is None else mode, 0, 0, "root", "root", BUILD_TIME,
                     len(data) if kind == "file" else 0, target)
    extra = []
    if checksum and kind == "file":
        extra = [pax_record(CHECKSUM_PAX_KEY, hashlib.sha1(data).hexdigest())]
    elif checksum and kind == "symlink":
        extra = [pax_record(CHECKSUM_PAX_KEY, hashlib.sha1(target.encode()).hexdigest())]
    return entry, data, extra


def build_raw_apk(out: Path, key: SigningKey, name: str, members: list[tuple[TarEntry, bytes, list[bytes]]],
                  *, version: str = "1.0-r0", data_members: int = 1) -> Path:
    """A signed package whose data tar holds `members` verbatim (names not checked), compressed
    as `data_members` gzip members."""
    tar = bytearray()
    gnu_size = 0
    for entry, data, extra in members:
        header, gnu_header = posix_member_header(entry, extra)
        tar += header + data + padding(len(data))
        gnu_size += gnu_header + len(data) + len(padding(len(data)))
    tar += gnu_end_of_archive(gnu_size)
    step = -(-len(tar) // data_members)
    data_gz = b"".join(gzip_member(bytes(tar[i:i + step])) for i in range(0, len(tar), step))
    spec = PackageSpec(name, version, arch=ARCH, builddate=BUILD_TIME, description="hostile", license="MIT")
    info = make_pkginfo(spec, 1, hashlib.sha256(data_gz).hexdigest())
    control_gz = gzip_member(control_tar(spec, info))
    signature = make_signature_segment(key.sign(control_gz), mtime=BUILD_TIME)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(signature + control_gz + data_gz)
    return out


HOSTILE_MEMBERS = {
    # name -> (members, what the refusal must mention)
    "absolute": ([raw_member("etc", "dir"), raw_member("/etc/evil", data=b"x")], "absolute path"),
    "dotdot": ([raw_member("usr", "dir"), raw_member("usr/../../evil", data=b"x")], "contains '..'"),
    "escaping-symlink": ([raw_member("usr", "dir"), raw_member("usr/escape", "symlink", target="../../../etc")],
                         "points outside the root"),
    "hardlink-forward": ([raw_member("usr", "dir"), raw_member("usr/a", "hardlink", target="usr/b"),
                          raw_member("usr/b", data=b"b")], "earlier in the package"),
    "hardlink-outside": ([raw_member("usr", "dir"), raw_member("usr/a", "hardlink", target="etc/shadow")],
                         "earlier in the package"),
    "below-symlink": ([raw_member("usr", "dir"), raw_member("usr/lib", "symlink", target="/etc"),
                       raw_member("usr/lib/passwd", data=b"root::0:0::/:/bin/sh\n")], "below the symbolic link"),
    "control-character": ([raw_member("etc", "dir"), raw_member("etc/evil\nR:passwd", data=b"x")],
                          "contains a control character"),
    "bad-file-checksum": ([raw_member("usr", "dir"), (raw_member("usr/f", data=b"good")[0], b"evil",
                                                      raw_member("usr/f", data=b"good")[2])],
                          "does not match its checksum"),
}


def hostile_package(directory: Path, key: SigningKey, kind: str) -> tuple[Path, str]:
    """(path of a signed package with the `kind` hostile data tar, text its refusal names)."""
    members, message = HOSTILE_MEMBERS[kind]
    return build_raw_apk(Path(directory) / f"hostile-{kind}-1.0-r0.apk", key, f"hostile-{kind}", members), message


# ---------------------------------------------------------------------------------------------
# the oracle: real apk-tools 2.14.4 from the minirootfs


class ApkOracle:
    """The minirootfs's own apk-tools, run on this host through the tarball's musl loader:
    `R/lib/ld-musl-i386.so.1 --library-path R/lib:R/usr/lib R/sbin/apk ...` (needs the kernel's
    32-bit support). `unavailable` says why it cannot run here, or is "" when it can."""

    def __init__(self, rootfs: Path):
        self.rootfs = Path(rootfs)
        self.unavailable = ""
        try:
            result = self.run("--version")
        except OSError as exc:
            self.unavailable = f"the minirootfs's apk cannot run on this host: {exc}"
            return
        if result.returncode != 0 or "apk-tools 2.14" not in result.stdout:
            self.unavailable = (f"the minirootfs's apk did not run (no 32-bit support in this kernel?): "
                                f"{result.returncode} {result.stdout}{result.stderr}")

    @classmethod
    def from_tarball(cls, tarball: Path, directory: Path) -> ApkOracle:
        import subprocess

        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-xzf", str(tarball), "-C", str(directory)], check=True, capture_output=True)
        return cls(directory)

    def run(self, *args: str, timeout: float = 120):
        import subprocess

        loader = self.rootfs / "lib" / "ld-musl-i386.so.1"
        libraries = f"{self.rootfs / 'lib'}:{self.rootfs / 'usr' / 'lib'}"
        return subprocess.run([str(loader), "--library-path", libraries, str(self.rootfs / "sbin" / "apk"), *args],
                              capture_output=True, text=True, timeout=timeout)

    def apk(self, root: Path, repo: TestRepository, *args: str, initdb: bool = False):
        """`apk --root ROOT --keys-dir KEYS --repository file://REPO --arch x86 --no-cache [--initdb]
        ARGS`, never touching the network (the root's own repositories file is not read)."""
        options = ["--root", str(root), "--keys-dir", str(repo.keys_dir), "--repositories-file", "/dev/null",
                   "--repository", repo.url, "--arch", repo.arch, "--no-cache", "--no-progress"]
        if initdb:
            options.append("--initdb")
        return self.run(*options, *args)

    @staticmethod
    def installed_order(output: str) -> list[str]:
        """Package names in the order apk reports installing them ("(1/3) Installing name (ver)")."""
        import re

        return re.findall(r"^\(\d+/\d+\) Installing (\S+) \(", output, re.M)


def synthetic_packages(count: int, seed: int = 1):
    """`count` index records shaped like Alpine's community index (descriptions, maintainers,
    commits, 0-6 dependencies mostly on shared libraries, so: and cmd: provides), for load-time
    benchmarks."""
    import random

    from studio.packages.model import Package, parse_dependencies

    rng = random.Random(seed)
    libraries = [f"so:lib{rng.choice('abcdefghijklmnop')}{i}.so.{i % 7}" for i in range(2500)]
    maintainers = [f"Maintainer {i} <m{i}@example.org>" for i in range(300)]
    licenses = ["MIT", "GPL-2.0-or-later", "Apache-2.0", "BSD-3-Clause", "LGPL-2.1-or-later"]
    packages = []
    for i in range(count):
        name = f"pkg{i:05d}" + rng.choice(["", "-dev", "-doc", "-libs", "-openrc"])
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}-r{rng.randint(0, 5)}"
        depends = rng.sample(libraries, rng.randint(0, 4))
        if rng.random() < 0.3:
            depends.append(f"pkg{rng.randrange(count):05d}")
        if rng.random() < 0.1:
            depends.append("/bin/sh")
        provides = []
        if rng.random() < 0.4:
            provides.append(f"{libraries[i % len(libraries)]}={version.split('-')[0]}")
        if rng.random() < 0.4:
            provides.append(f"cmd:tool{i}={version}")
        packages.append(Package(
            name, version, "x86_64", "Q1" + hashlib.sha1(name.encode()).digest().hex()[:27] + "=",
            rng.randint(5_000, 5_000_000), rng.randint(10_000, 20_000_000),
            f"Package {i}: a tool that does something useful with {rng.choice(['files', 'networks', 'text'])}",
            f"https://example.org/projects/{name}", rng.choice(licenses), f"pkg{i:05d}", rng.choice(maintainers),
            1_700_000_000 + i, hashlib.sha1(str(i).encode()).hexdigest(),
            parse_dependencies(" ".join(depends)), parse_dependencies(" ".join(provides)),
            parse_dependencies(f"pkg{i:05d}={version} docs") if name.endswith("-doc") else [],
            100 if rng.random() < 0.01 else None,
        ))
    return packages


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def check_repository(repo: TestRepository) -> None:
    """Every package opens and verifies against the repository's key (a self-check)."""
    for built in repo.packages.values():
        open_apk(built.path, repo.trusted()).verify()
