"""Safe import: hostile tarballs are refused whole, special files skipped, wrong architectures refused."""

from __future__ import annotations

import hashlib

import pytest

from studio.image.store import ObjectStore
from studio.image.tarimport import UnsafeTarball, WrongArchitecture, import_tarball
from tarballs import make_tarball, minimal_rootfs


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "objects")


HOSTILE = {
    "absolute name": [("/etc/passwd", "file", b"root::0:0::/:/bin/sh\n")],
    "dot-dot": [("./etc/../../escape", "file", b"x")],
    "write through symlink": [("./etc", "symlink", "/tmp/host-etc"), ("./etc/passwd", "file", b"x")],
    "write through relative symlink": [("./up", "symlink", "../../.."), ("./up/x", "file", b"x")],
    "symlink above root": [("./bin/", "dir", None), ("./bin/evil", "symlink", "../../../etc/shadow")],
    "hard link outside": [("./stolen", "hardlink", "../../etc/shadow")],
    "hard link to nothing": [("./stolen", "hardlink", "etc/shadow")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tarball_is_refused(case, tmp_path, store):
    members = minimal_rootfs() + HOSTILE[case]
    tarball = make_tarball(tmp_path / "evil.tar.gz", members)
    with pytest.raises(UnsafeTarball) as info:
        import_tarball(tarball, store)
    # The refusal names a member that broke the rules.
    message = str(info.value)
    assert any(repr(name) in message for name, _, _ in HOSTILE[case]), message
    # The importer extracts nothing: all it may have written are objects for the members before
    # the hostile one, and no object holds a hostile member's bytes.
    hostile_data = {payload for _, kind, payload in HOSTILE[case] if kind == "file"}
    allowed = {hashlib.sha256(payload).hexdigest() for _, kind, payload in minimal_rootfs() if kind == "file"}
    stored = {p.name for p in (tmp_path / "objects").rglob("*") if p.is_file()}
    assert stored <= allowed - {hashlib.sha256(d).hexdigest() for d in hostile_data}, stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz", "objects"]


def test_device_nodes_and_fifos_are_skipped_with_a_note(tmp_path, store):
    members = minimal_rootfs() + [("./dev/", "dir", None), ("./dev/null", "chr", None), ("./run/fifo", "fifo", None)]
    result = import_tarball(make_tarball(tmp_path / "dev.tar.gz", members), store)
    assert "/dev" in result.entries and "/dev/null" not in result.entries
    assert "/run/fifo" not in result.entries
    assert any("device node /dev/null" in n for n in result.notes)
    assert any("FIFO /run/fifo" in n for n in result.notes)


def test_hard_links_become_separate_files(tmp_path, store):
    members = minimal_rootfs() + [("./a", "file", b"same"), ("./b", "hardlink", "./a")]
    result = import_tarball(make_tarball(tmp_path / "hl.tar.gz", members), store)
    assert result.entries["/b"].kind == "file"
    assert result.entries["/b"].sha256 == result.entries["/a"].sha256
    assert store.read(result.entries["/b"].sha256) == b"same"


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_other_architectures_are_refused_with_advice(arch, tmp_path, store):
    tarball = make_tarball(tmp_path / f"alpine-minirootfs-3.19.4-{arch}.tar.gz", minimal_rootfs(arch))
    with pytest.raises(WrongArchitecture) as info:
        import_tarball(tarball, store)
    message = str(info.value)
    assert f"is a {arch} image" in message
    assert "32-bit x86 only" in message
    assert "alpine-minirootfs-3.19.4-x86.tar.gz" in message


def test_architecture_from_elf_when_apk_arch_is_missing(tmp_path, store):
    elf64 = bytearray(b"\x7fELF" + b"\0" * 60)
    elf64[18:20] = (62).to_bytes(2, "little")  # EM_X86_64
    members = [("./bin/", "dir", None), ("./bin/busybox", "file", bytes(elf64)), ("./bin/sh", "symlink", "busybox")]
    with pytest.raises(WrongArchitecture, match="x86_64"):
        import_tarball(make_tarball(tmp_path / "rootfs.tar.gz", members), store)


def test_not_a_tarball(tmp_path, store):
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(Exception, match="not a readable tar archive|truncated or corrupt"):
        import_tarball(bad, store)


def test_real_alpine_imports(alpine_tarball, store):
    result = import_tarball(alpine_tarball, store)
    assert result.arch == "x86"
    assert result.entries["/bin/sh"].kind == "symlink" and result.entries["/bin/sh"].target == "/bin/busybox"
    assert result.entries["/tmp"].mode == 0o1777
    assert store.read(result.entries["/etc/alpine-release"].sha256) == b"3.19.4\n"
