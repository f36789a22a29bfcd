"""The v86 build: fs.json round-trips the tarball; builds are incremental."""

from __future__ import annotations

import hashlib
import json
import stat
import tarfile

from studio.build import fsjson
from conftest import run_studio


def _walk(nodes, prefix=""):
    for node in nodes:
        path = f"{prefix}/{node[0]}"
        yield path, node
        if stat.S_ISDIR(node[3]):
            yield from _walk(node[6], path)


def test_fs_json_round_trips_the_tarball(alpine_project, alpine_tarball, tmp_path):
    out = tmp_path / "out"
    result = run_studio("build", str(alpine_project.root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    fs = json.loads((out / "fs.json").read_text())
    assert fs["version"] == 3
    nodes = dict(_walk(fs["fsroot"]))
    overlay = {"/etc/inittab", "/etc/hostname", "/etc/init.d/rcS"}
    checked = 0
    with tarfile.open(alpine_tarball) as tar:
        for member in tar:
            path = "/" + member.name.lstrip("./").rstrip("/")
            if path == "/" or path in overlay:
                continue
            name, size, mtime, mode, uid, gid, extra = nodes[path]
            assert mode == member.mode | _type_bits(member), path
            assert (uid, gid) == (member.uid, member.gid), path
            assert mtime == int(member.mtime), path
            if member.issym():
                assert extra == member.linkname, path
            elif member.isreg():
                data = tar.extractfile(member).read()
                assert size == len(data) == member.size, path
                blob = (out / "blobs" / extra).read_bytes()
                assert blob == data, path
                assert extra == hashlib.sha256(blob).hexdigest()[:16] + ".bin", path
            checked += 1
    assert checked == 524  # every member but the root and the three preset files
    assert set(nodes) - {"/" + m.lstrip("./").rstrip("/") for m in tarfile.open(alpine_tarball).getnames()} == {
        "/etc/init.d/rcS"}  # the preset adds rcS; inittab and hostname replace base files
    inittab = nodes["/etc/inittab"]
    assert (out / "blobs" / inittab[6]).read_bytes() == (alpine_project.overlay_dir / "etc/inittab").read_bytes()
    assert nodes["/etc/init.d/rcS"][3] == stat.S_IFREG | 0o755
    assert fs["size"] == sum(n[1] for n in nodes.values() if stat.S_ISREG(n[3]))
    boot = json.loads((out / "boot.json").read_text())
    assert "root=host9p" in boot["cmdline"] and boot["memory_mb"] == 128


def _type_bits(member: tarfile.TarInfo) -> int:
    return stat.S_IFDIR if member.isdir() else stat.S_IFLNK if member.issym() else stat.S_IFREG


def test_rebuild_after_one_edit_costs_one_file(new_project, tmp_path):
    project = new_project()
    out = tmp_path / "out"
    cold = fsjson.build(project, out)
    assert cold.blobs_written > 80 and cold.hashed == 3
    blob_mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "blobs").iterdir()}

    warm = fsjson.build(project, out)
    assert (warm.hashed, warm.blobs_written) == (0, 0)

    old_motd = json.loads((out / "fs.json").read_text())
    project.write_file("/etc/motd", "Welcome to the studio\n")
    edited = fsjson.build(project, out)
    assert (edited.hashed, edited.blobs_written) == (1, 1)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "blobs").iterdir()}
    new_blob = hashlib.sha256(b"Welcome to the studio\n").hexdigest()[:16] + ".bin"
    assert new_blob in after
    # Untouched blobs were not rewritten; the replaced motd blob is gone (nothing else used it).
    assert all(after[name] == mtime for name, mtime in blob_mtimes.items() if name in after)
    assert len(after) == len(blob_mtimes)
    assert old_motd != json.loads((out / "fs.json").read_text())


def test_deleting_a_base_file_removes_it_from_the_build(new_project, tmp_path):
    project = new_project()
    project.meta.deleted.add("/etc/motd")
    project.save_meta()
    fsjson.build(project, tmp_path / "out")
    nodes = dict(_walk(json.loads((tmp_path / "out" / "fs.json").read_text())["fsroot"]))
    assert "/etc/motd" not in nodes and "/etc/passwd" in nodes
