"""Tar import under hostile sizes: members are streamed into the object store (never held
whole in memory) and a base that expands past the limit is refused, checked from each
member's header before its data is read. The real Alpine base imports exactly as before."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.image.store import ObjectStore
from studio.image.tarimport import MAX_BYTES_ENV, TarballTooLarge, import_tarball, max_expanded_bytes
from tarballs import make_tarball, minimal_rootfs, write_pax_header_bomb, write_zero_bomb

REPO = Path(__file__).resolve().parent.parent
MAX_RSS_MB = 100  # streaming uses about 20 MB; reading one 100 MiB member whole would pass this
# The child's address space is capped too, so that an importer that reads a member whole fails
# with MemoryError instead of taking the machine's memory (other tests run beside this one).
ADDRESS_SPACE_CAP = 1 << 30

# Imports one tarball into a store and prints, as JSON, how it ended and its own peak RSS.
CHILD = """
import json, resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from studio.image.store import ObjectStore
from studio.image.tarimport import import_tarball
started = time.monotonic()
try:
    import_tarball(Path(sys.argv[1]), ObjectStore(Path(sys.argv[2])))
    ended = {{"error": None, "message": ""}}
except BaseException as err:
    ended = {{"error": type(err).__name__, "message": str(err)}}
ended["seconds"] = time.monotonic() - started
status = Path("/proc/self/status").read_text()
ended["peak_rss_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(ended))
"""

# Alpine 3.19.4's import as the importer made it before streaming: a SHA-256 over every entry
# (path, kind, mode, uid, gid, size, mtime, sha256, target), sorted.
ALPINE_FINGERPRINT = "4d490bce413d157682eee79624bd8b15103f5b9e1aad441042e491a342ca4d79"


def import_in_child(tarball: Path, store: Path, env: dict | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD.format(cap=ADDRESS_SPACE_CAP), str(tarball), str(store)],
                          capture_output=True, text=True, timeout=300, cwd=REPO, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def objects_in(store: Path) -> list[Path]:
    return [p for p in store.rglob("*") if p.is_file()]


def test_one_huge_member_is_refused_from_its_header(tmp_path):
    bomb = write_zero_bomb(tmp_path / "bomb.tar.gz", [("./zeros", 10 << 30)])
    assert bomb.stat().st_size < 20 << 20
    ended = import_in_child(bomb, tmp_path / "objects")
    print(f"\n10 GiB member: refused in {ended['seconds']:.2f} s, peak RSS {ended['peak_rss_mb']:.0f} MB")
    assert ended["error"] == "TarballTooLarge", ended
    message = ended["message"]
    assert "bomb.tar.gz expands to more than 2.0 GiB" in message and "'./zeros', 10.0 GiB" in message
    assert f"{MAX_BYTES_ENV}, to at least {MAX_BYTES_ENV}=10G" in message  # what to do if it is wanted
    assert ended["seconds"] < 10  # refused from the header: none of the 10 GiB was decompressed
    assert ended["peak_rss_mb"] < MAX_RSS_MB
    assert objects_in(tmp_path / "objects") == []  # nothing stored, no temporary file left


def test_many_big_members_stream_until_the_limit(tmp_path):
    # 21 x 100 MiB: the first 20 (2000 MiB) are read, hashed and stored in chunks, the 21st
    # passes the 2 GiB limit.
    bomb = write_zero_bomb(tmp_path / "many.tar.gz", [(f"./zeros{i:02}", 100 << 20) for i in range(21)])
    ended = import_in_child(bomb, tmp_path / "objects")
    print(f"\n21 x 100 MiB: refused in {ended['seconds']:.2f} s, peak RSS {ended['peak_rss_mb']:.0f} MB")
    assert ended["error"] == "TarballTooLarge", ended
    assert "many.tar.gz expands to more than 2.0 GiB" in ended["message"]
    assert "'./zeros20', 100.0 MiB" in ended["message"]
    assert ended["peak_rss_mb"] < MAX_RSS_MB
    # The twenty identical members became one object, and no temporary file was left behind.
    stored = objects_in(tmp_path / "objects")
    assert len(stored) == 1 and stored[0].stat().st_size == 100 << 20


def test_a_huge_extended_header_is_refused_before_it_is_read(tmp_path):
    # tarfile reads a pax header whole, before the importer sees any member: the stream refuses it.
    bomb = write_pax_header_bomb(tmp_path / "pax.tar.gz", 10 << 30)
    ended = import_in_child(bomb, tmp_path / "objects")
    print(f"\n10 GiB pax header: refused in {ended['seconds']:.2f} s, peak RSS {ended['peak_rss_mb']:.0f} MB")
    assert ended["error"] == "TarballTooLarge", ended
    assert "pax.tar.gz has a member header of 10.0 GiB" in ended["message"]
    assert ended["seconds"] < 10 and ended["peak_rss_mb"] < MAX_RSS_MB


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_every_compression_still_imports(compression, tmp_path):
    members = minimal_rootfs() + [("./etc/motd", "file", b"welcome\n" * 1000)]
    plain = make_tarball(tmp_path / "rootfs.tar.gz", members)
    with tarfile.open(plain) as source, tarfile.open(tmp_path / "rootfs.tar.x", f"w:{compression}") as tar:
        for member in source:
            tar.addfile(member, source.extractfile(member) if member.isreg() else None)
    store = ObjectStore(tmp_path / "objects")
    result = import_tarball(tmp_path / "rootfs.tar.x", store)
    assert store.read(result.entries["/etc/motd"].sha256) == b"welcome\n" * 1000
    assert result.arch == "x86"


def test_the_limit_comes_from_the_environment(tmp_path, monkeypatch):
    store = ObjectStore(tmp_path / "objects")
    tarball = make_tarball(tmp_path / "rootfs.tar.gz", minimal_rootfs() + [("./big", "file", bytes(3 << 20))])
    monkeypatch.setenv(MAX_BYTES_ENV, "2M")
    with pytest.raises(TarballTooLarge, match=r"more than 2\.0 MiB.*'\./big', 3\.0 MiB.*STUDIO_MAX_BASE_BYTES"):
        import_tarball(tarball, store)
    monkeypatch.setenv(MAX_BYTES_ENV, "4194304")
    assert import_tarball(tarball, store).entries["/big"].size == 3 << 20
    monkeypatch.setenv(MAX_BYTES_ENV, "a lot")
    with pytest.raises(StudioError, match="is not a size"):
        max_expanded_bytes()
    monkeypatch.delenv(MAX_BYTES_ENV)
    assert max_expanded_bytes() == 2 << 30


def test_real_alpine_imports_exactly_as_before(alpine_tarball, tmp_path):
    store = ObjectStore(tmp_path / "objects")
    result = import_tarball(alpine_tarball, store)
    rows = sorted([e.path, e.kind, e.mode, e.uid, e.gid, e.size, e.mtime, e.sha256, e.target]
                  for e in result.entries.values())
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest() == ALPINE_FINGERPRINT
    # And every file's object holds the member's bytes, read here independently of the importer.
    with tarfile.open(alpine_tarball) as tar:
        for member in tar:
            if member.isreg():
                entry = result.entries["/" + os.path.normpath(member.name)]
                data = tar.extractfile(member).read()
                assert (entry.size, entry.sha256) == (len(data), hashlib.sha256(data).hexdigest())
                assert store.read(entry.sha256) == data
    assert not [p for p in (tmp_path / "objects").iterdir() if p.is_file()]  # no temporary files
