"""`studio export --format rootfs|apkovl`: a reproducible root filesystem tarball that round-trips
through `studio new --base`, and Alpine's lbu backup of what the user changed under /etc."""

from __future__ import annotations

import gzip
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import run_studio
from studio.build import archives, fsjson
from studio.image.project import Attrs, Project

EPOCH = 1_700_000_000


def _members(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return tar.getmembers()


def _read(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read()


def _pin_overlay_times(project: Project, when: int) -> None:
    """What the host's clock put on the overlay's files is no part of the image: pin it."""
    for path in [project.overlay_dir, *project.overlay_dir.rglob("*")]:
        os.utime(path, (when, when), follow_symlinks=False)


# -- rootfs --------------------------------------------------------------------------------

def test_rootfs_round_trips_through_studio_new_and_builds_the_same_image(new_project, tmp_path):
    original = new_project("orig")
    first = tmp_path / "first.tar.gz"
    done = run_studio("export", str(original.root), str(first), "--format", "rootfs",
                      env={"SOURCE_DATE_EPOCH": str(EPOCH)})
    assert done.returncode == 0, done.stderr
    assert "rootfs" in done.stdout and "docker import" in done.stdout

    # A project on the exported tarball: same name, so the preset's /etc/hostname is the same too.
    copy = tmp_path / "copy"
    made = run_studio("new", str(copy), "--base", str(first), "--name", "orig")
    assert made.returncode == 0, made.stderr
    _pin_overlay_times(Project.open(copy), EPOCH)
    built = run_studio("build", str(copy))
    assert built.returncode == 0, built.stderr

    # The original's image, its times as the archive carries them (one fixed time for all).
    entries = {path: entry.evolve(mtime=EPOCH) for path, entry in original.merged().items()}
    fsjson.build(original, tmp_path / "original-build", entries=entries)
    assert (copy / ".build" / "fs.json").read_bytes() == (tmp_path / "original-build" / "fs.json").read_bytes()

    # Exporting the copy gives the very same bytes: the export is a fixed point.
    second = tmp_path / "second.tar.gz"
    again = run_studio("export", str(copy), str(second), "--format", "rootfs", env={"SOURCE_DATE_EPOCH": str(EPOCH)})
    assert again.returncode == 0, again.stderr
    assert second.read_bytes() == first.read_bytes()


def test_rootfs_is_reproducible_and_laid_out_like_alpines_minirootfs(new_project, tmp_path, alpine_tarball):
    project = new_project("repro")
    one, two = tmp_path / "one.tar.gz", tmp_path / "two.tar.gz"
    archives.export_rootfs(project, one)
    os.utime(project.overlay_path("/etc/inittab"), (123456789, 123456789))  # the host's times do not leak
    report = archives.export_rootfs(project, two)
    assert one.read_bytes() == two.read_bytes()
    assert report.members == len(project.merged()) and report.size == two.stat().st_size

    head = one.read_bytes()[:10]
    assert head[:3] == b"\x1f\x8b\x08" and head[3] == 0, "gzip header: no file name, no flags"
    assert head[4:8] == b"\0\0\0\0", "gzip header: no time"

    ours = _members(one)
    names = [m.name for m in ours]
    assert names[0] == "." and names == sorted(names, key=lambda n: n.split("/"))
    assert all(m.mtime == 0 and m.uname == "" and m.gname == "" for m in ours)
    with tarfile.open(alpine_tarball) as tar:
        alpine = {m.name: m for m in tar.getmembers()}
    # Alpine's names ("./etc/apk/arch"), modes, numeric owners and link targets, member for member.
    by_name = {m.name: m for m in ours}
    for name, theirs in alpine.items():
        if name in ("./etc/inittab", "./etc/hostname"):  # the preset changed these
            continue
        mine = by_name[name]
        assert (mine.type, mine.mode, mine.uid, mine.gid, mine.linkname, mine.size) == \
               (theirs.type, theirs.mode, theirs.uid, theirs.gid, theirs.linkname, theirs.size), name
    assert _read(one, "./etc/hostname") == b"repro\n"
    assert by_name["./etc/init.d/rcS"].mode == 0o755

    # GNU tar reads it as a plain root filesystem (what docker import takes).
    listed = subprocess.run(["tar", "-tzf", str(one)], capture_output=True, text=True, check=True).stdout.split()
    assert listed[:3] == ["./", "./bin/", "./bin/arch"] and "./etc/apk/arch" in listed

    timed = tmp_path / "timed.tar.gz"
    archives.export_rootfs(project, timed, mtime=EPOCH)
    assert {m.mtime for m in _members(timed)} == {EPOCH}


def test_rootfs_refuses_to_overwrite_what_is_not_an_archive(new_project, tmp_path):
    project = new_project("careful")
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    done = run_studio("export", str(project.root), str(precious), "--format", "rootfs")
    assert done.returncode == 2 and "is not a .tar.gz archive" in done.stderr
    assert precious.read_text() == "keep me"
    web_only = run_studio("export", str(project.root), str(tmp_path / "x.tar.gz"), "--format", "rootfs", "--snapshot")
    assert web_only.returncode == 2 and "--snapshot applies to --format web only" in web_only.stderr
    named = run_studio("export", str(project.root), str(tmp_path), "--format", "rootfs")  # a folder: a name in it
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "careful-rootfs.tar.gz").is_file()


# -- apkovl --------------------------------------------------------------------------------

def _edit_like_a_user(project: Project) -> None:
    project.write_file("/etc/motd", "Welcome to the studio's machine\n")
    project.write_file("/etc/myapp/config", "port = 8080\n")  # a new folder under /etc
    project.write_file("/usr/local/bin/tool", "#!/bin/sh\necho tool\n", mode=0o755)  # outside /etc
    project.meta.symlinks["/etc/init.d/tool"] = "/usr/local/bin/tool"  # a symlink lbu keeps
    project.meta.symlinks["/etc/runlevels/default/tool"] = "/etc/init.d/tool"  # new folders, a link
    project.meta.attrs["/etc/shadow"] = Attrs(mode=0o600)  # a permission change
    project.meta.deleted.add("/etc/issue")  # a deletion lbu cannot carry
    project.save_meta()


def test_apkovl_holds_the_users_changes_under_etc_and_says_what_it_leaves_out(new_project, tmp_path):
    project = new_project("webhost")
    _edit_like_a_user(project)
    report = archives.export_apkovl(project, tmp_path)  # a folder: HOSTNAME.apkovl.tar.gz, as lbu names it
    assert report.out == tmp_path / "webhost.apkovl.tar.gz"
    members = {m.name: m for m in _members(report.out)}
    assert sorted(members) == sorted([
        # all of /etc/apk (apk's "!etc/apk"), world included
        "etc/apk/arch", "etc/apk/repositories", "etc/apk/world",
        *[f"etc/apk/keys/alpine-devel@lists.alpinelinux.org-{k}.rsa.pub"
          for k in ("4a6a0840", "5243ef4b", "5261cecb", "6165ee59", "61666e3f")],
        # changed or new under /etc: the preset's hostname and inittab, the user's files
        "etc/hostname", "etc/inittab", "etc/motd", "etc/myapp", "etc/myapp/config", "etc/shadow",
        "etc/runlevels", "etc/runlevels/default", "etc/runlevels/default/tool",
        "etc/init.d/tool",  # only symlinks under /etc/init.d
    ])
    assert not any(name.startswith(("/", "./")) for name in members)
    assert _read(report.out, "etc/hostname") == b"webhost\n"
    assert _read(report.out, "etc/motd") == b"Welcome to the studio's machine\n"
    assert _read(report.out, "etc/apk/world").split() == [b"alpine-baselayout", b"alpine-keys", b"apk-tools",
                                                          b"busybox", b"libc-utils"]
    assert members["etc/myapp"].isdir() and members["etc/shadow"].mode == 0o600
    assert members["etc/init.d/tool"].issym() and members["etc/init.d/tool"].linkname == "/usr/local/bin/tool"
    assert all(m.mtime == 0 and m.uname == "" for m in members.values())

    text = report.text()
    left = "\n".join(report.left_out)
    assert "NOT in the archive" in text
    assert "/usr/local/bin/tool: outside the paths lbu saves (/etc)" in left
    assert "/etc/init.d/rcS: lbu keeps only symlinks under this folder" in left
    assert "'+etc/init.d/rcS' in /etc/apk/protected_paths.d/lbu.list" in left
    assert "/etc/issue: deleted from the image, but an apkovl cannot delete" in left
    assert "/usr/local/bin/tool" not in str(members) and "etc/init.d/rcS" not in members

    again = archives.export_apkovl(project, tmp_path / "again.apkovl.tar.gz")
    assert again.out.read_bytes() == report.out.read_bytes()


def test_apkovl_follows_the_images_protected_paths_lists(new_project, tmp_path):
    project = new_project("listed")
    _edit_like_a_user(project)
    # What `lbu include /etc/init.d/rcS /usr/local/bin` and `lbu exclude /etc/motd` write.
    project.write_file("/etc/apk/protected_paths.d/lbu.list", "+etc/init.d/rcS\n+usr/local/bin\n-etc/motd\n")
    report = archives.export_apkovl(project, tmp_path / "listed.apkovl.tar.gz")
    names = {m.name for m in _members(report.out)}
    assert {"etc/init.d/rcS", "usr/local/bin/tool", "etc/apk/protected_paths.d/lbu.list"} <= names
    assert "etc/motd" not in names
    assert any(line.startswith("/etc/motd: excluded by the image's") for line in report.left_out)
    assert not any("rcS" in line or "/usr/local" in line for line in report.left_out)


def test_apkovl_names_the_repositories_themselves_not_the_studios_addresses(new_project, tmp_path):
    project = new_project("repos")
    project.packages.repositories.append("https://example.org/alpine/v3.19/testing")
    project.save_settings()
    project = Project.open(project.root)
    inside = project.merged()["/etc/apk/repositories"]
    assert b"http://alpine-main.repo.studio" in archives.ObjectStore().read(inside.sha256)  # what the guest sees
    mirror = os.environ["STUDIO_ALPINE_MIRROR"].rstrip("/")
    done = run_studio("export", str(project.root), str(tmp_path), "--format", "apkovl")
    assert done.returncode == 0, done.stderr
    listed = _read(tmp_path / "repos.apkovl.tar.gz", "etc/apk/repositories").decode().split()
    assert listed == [f"{mirror}/v3.19/main", f"{mirror}/v3.19/community", "https://example.org/alpine/v3.19/testing"]
    assert "replaced by the repositories' own URLs" in done.stdout
    assert "is a folder on this computer" in done.stdout  # the test mirror is a file:// one


def test_apkovl_of_an_untouched_image_is_its_apk_folder_and_preset(new_project, tmp_path):
    project = new_project("plain")
    plan = archives.plan_apkovl(project.merged(), project.lower(), archives.ObjectStore())
    assert [p for p in plan.members if not p.startswith("/etc/apk/")] == ["/etc/hostname", "/etc/inittab"]
    assert [line.split(":")[0] for line in plan.left_out] == ["/etc/init.d/rcS"]


@pytest.mark.parametrize("rules, path, mode", [
    (["+etc", "@etc/init.d", "!etc/apk"], "/etc/motd", "+"),
    (["+etc", "@etc/init.d", "!etc/apk"], "/etc/init.d/rcS", "@"),
    (["+etc", "@etc/init.d", "!etc/apk"], "/etc/apk/keys/a.pub", "!"),
    (["+etc", "@etc/init.d", "!etc/apk"], "/usr/bin/env", "-"),
    (["+etc", "-etc/ssl", "+etc/ssl/private"], "/etc/ssl/certs/a.pem", "-"),
    (["+etc", "-etc/ssl", "+etc/ssl/private"], "/etc/ssl/private/key.pem", "+"),
    (["+etc", "-etc/*.bak"], "/etc/passwd.bak", "-"),
    (["+etc", "-etc/x", "+etc/x"], "/etc/x", "+"),  # a later rule wins a tie
])
def test_protect_mode_takes_the_most_specific_rule(rules, path, mode):
    parsed = [archives.Rule(r[0], tuple(r[1:].split("/"))) for r in rules]
    assert archives.protect_mode(path, parsed) == mode


def test_source_date_epoch_must_be_a_number(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(archives.StudioError, match="SOURCE_DATE_EPOCH"):
        archives.reproducible_mtime()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    assert archives.reproducible_mtime() == EPOCH


def test_gzip_header_is_the_same_on_any_host(new_project, tmp_path):
    project = new_project("hdr")
    report = archives.export_apkovl(project, tmp_path)
    with open(report.out, "rb") as handle:
        header = handle.read(10)
    assert header[3] == 0 and header[4:8] == b"\0\0\0\0" and header[9] == 255  # OS: unknown
    assert gzip.decompress(report.out.read_bytes())[:512].startswith(b"etc/apk/arch")
