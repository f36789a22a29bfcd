"""Projects: creation from a mirror (file:// and http://127.0.0.1) or a local tarball, the preset,
the merge of base + overlay + metadata, and refusal of bad bases."""

from __future__ import annotations

import functools
import http.server
import threading
import tomllib

import pytest

from studio.errors import StudioError
from studio.image import base
from studio.image.project import Attrs, Project
from conftest import run_studio
from tarballs import make_tarball, minimal_rootfs


def test_new_project_from_file_mirror_has_the_serial_preset(alpine_project):
    p = alpine_project
    settings = tomllib.loads((p.root / "studio.toml").read_text())
    assert settings["base"]["spec"] == "alpine:3.19"
    assert settings["base"]["sha512"] == base.ALPINE_RELEASES["3.19.4"]
    inittab = (p.overlay_dir / "etc" / "inittab").read_text()
    assert "ttyS0::respawn:-/bin/sh" in inittab and "::sysinit:/etc/init.d/rcS" in inittab
    assert "openrc" not in inittab.lower().replace("# ", "")
    rcs = (p.overlay_dir / "etc" / "init.d" / "rcS").read_text()
    for fs in ("proc", "sysfs", "devpts", "/tmp", "/run", "hostname"):
        assert fs in rcs
    merged = p.merged()
    assert merged["/etc/init.d/rcS"].mode == 0o755
    assert merged["/etc/inittab"].source is not None  # from the overlay, visible and editable
    assert merged["/etc/hostname"].size == len("alpine\n")
    assert (p.root / ".gitignore").read_text().split() == ["/.build/", "/.studio/"]


def test_new_project_over_http_on_loopback(alpine_mirror, tmp_path, monkeypatch):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(alpine_mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mirror = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_studio("new", str(tmp_path / "web"), "--base", "alpine:3.19",
                            env={"STUDIO_ALPINE_MIRROR": mirror, "STUDIO_CACHE_DIR": str(tmp_path / "cache")})
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    downloaded = [p.name for p in (tmp_path / "cache" / "downloads").iterdir()]
    assert any(name.endswith("alpine-minirootfs-3.19.4-x86.tar.gz") for name in downloaded), downloaded
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))  # where `studio new` imported it
    assert Project.open(tmp_path / "web").merged()["/etc/alpine-release"].size == len("3.19.4\n")


def test_new_project_from_local_tarball(alpine_tarball, tmp_path):
    result = run_studio("new", str(tmp_path / "local"), "--base", str(alpine_tarball))
    assert result.returncode == 0, result.stderr
    project = Project.open(tmp_path / "local")
    assert project.base.spec == f"file:{alpine_tarball.name}"
    assert project.base.sha512 == base.ALPINE_RELEASES["3.19.4"]


def test_checksum_mismatch_is_refused_and_nothing_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))  # no cached good copy
    mirror = tmp_path / "mirror" / "v3.19" / "releases" / "x86"
    mirror.mkdir(parents=True)
    make_tarball(mirror / "alpine-minirootfs-3.19.4-x86.tar.gz", minimal_rootfs())
    source = base.parse_base("alpine:3.19", (tmp_path / "mirror").as_uri())
    with pytest.raises(StudioError, match="wrong checksum"):
        Project.create(tmp_path / "p", source)
    assert not (tmp_path / "p").exists()
    assert not base.cached_tarball(source).exists()


def test_unreachable_mirror_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    source = base.parse_base("alpine:3.19", (tmp_path / "nowhere").as_uri())
    with pytest.raises(StudioError, match="cannot download .*--mirror"):
        base.fetch(source)


def test_wrong_architecture_refused_by_the_cli(tmp_path):
    tarball = make_tarball(tmp_path / "alpine-minirootfs-3.19.4-x86_64.tar.gz", minimal_rootfs("x86_64"))
    result = run_studio("new", str(tmp_path / "p"), "--base", str(tarball))
    assert result.returncode != 0
    assert "v86 boots 32-bit x86 only" in result.stderr
    assert "alpine-minirootfs-3.19.4-x86.tar.gz" in result.stderr
    assert not (tmp_path / "p").exists()


def test_unknown_alpine_version():
    with pytest.raises(StudioError, match="not a pinned base.*3.19"):
        base.parse_base("alpine:2.0")


def test_overlay_merge_deletions_attrs_symlinks(new_project):
    p = new_project()
    p.meta.deleted.add("/etc/motd")
    p.meta.deleted.add("/etc/apk")
    p.meta.symlinks["/usr/local/bin/sh2"] = "/bin/busybox"
    p.write_file("/opt/tool/run.sh", "#!/bin/sh\necho hi\n", mode=0o750)
    p.meta.attrs["/etc/passwd"] = Attrs(uid=7)
    p.save_meta()
    reopened = Project.open(p.root)
    merged = reopened.merged()
    assert "/etc/motd" not in merged
    assert not any(path.startswith("/etc/apk") for path in merged)
    assert merged["/usr/local/bin/sh2"].kind == "symlink" and merged["/usr/local/bin/sh2"].target == "/bin/busybox"
    assert merged["/opt/tool/run.sh"].mode == 0o750
    assert merged["/opt/tool"].kind == "dir"
    assert merged["/etc/passwd"].uid == 7 and merged["/etc/passwd"].source is None
    # The base itself is never modified.
    assert "/etc/motd" in reopened.base_index().entries


def test_create_refuses_non_empty_directory(alpine_mirror, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(StudioError, match="not empty"):
        Project.create(tmp_path / "busy", base.parse_base("alpine:3.19", alpine_mirror.as_uri()))
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
