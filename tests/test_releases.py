"""Alpine releases: listing a mirror laid out like Alpine's (latest-releases.yaml per branch,
.sha512 beside each tarball) over file:// and http://127.0.0.1, the cache's releases offline, and
which checksum a release must match (pinned, the mirror's, refused when they disagree)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import socket
import threading
import tomllib
from pathlib import Path

import pytest

from conftest import run_studio
from studio.errors import StudioError
from studio.image import base
from studio.image.project import Project

PINNED = "3.19.4"
UNPINNED = "3.99.1"  # a release Image Studio does not pin: the mirror's checksum is trusted


def release_yaml(version: str, sha512: str | None, size: int) -> str:
    """A latest-releases.yaml as Alpine writes it: several flavors, multi-line descriptions (one a
    block scalar whose text looks like keys), the minirootfs among them."""
    branch = "v" + ".".join(version.split(".")[:2])
    checksum = f"  sha512: {sha512}\n" if sha512 else ""
    return (
        "---\n"
        "-\n"
        '  title: "Standard"\n'
        '  desc: "Alpine as it was intended.\n'
        '    Just enough to get you started.\n'
        '    Network connection is required."\n'
        f"  branch: {branch}\n  arch: x86\n  version: {version}\n  flavor: alpine-standard\n"
        f"  file: alpine-standard-{version}-x86.iso\n  size: 211812352\n  sha512: {'0' * 128}\n"
        "-\n"
        '  title: "Mini root filesystem"\n'
        "  desc: |\n"
        "    Minimal root filesystem.\n"
        "    version: 9.9.9\n"
        "    sha512: not-this-one\n"
        f"  branch: {branch}\n  arch: x86\n  version: {version}\n  flavor: alpine-minirootfs\n"
        f"  file: alpine-minirootfs-{version}-x86.tar.gz\n  iso: alpine-minirootfs-{version}-x86.tar.gz\n"
        f"  date: 2026-01-02\n  time: 07:26:29\n  size: {size}\n  sha256: {'1' * 64}\n{checksum}"
    )


def publish(mirror: Path, version: str, data: bytes, yaml_sha512: str | None = "actual",
            sha512_file: bool = True) -> str:
    """Put a release on a test mirror: the tarball, its .sha512 file and its branch's
    latest-releases.yaml (with `yaml_sha512`: 'actual', another checksum, or None for none)."""
    folder = mirror / ("v" + ".".join(version.split(".")[:2])) / "releases" / "x86"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"alpine-minirootfs-{version}-x86.tar.gz"
    (folder / name).write_bytes(data)
    sha512 = hashlib.sha512(data).hexdigest()
    if sha512_file:
        (folder / f"{name}.sha512").write_text(f"{sha512}  {name}\n")
    listed = sha512 if yaml_sha512 == "actual" else yaml_sha512
    (folder / "latest-releases.yaml").write_text(release_yaml(version, listed, len(data)))
    return sha512


def repacked(tarball: Path) -> bytes:
    """The same root filesystem in other gzip bytes: another release's tarball with its own SHA-512."""
    return gzip.compress(gzip.decompress(tarball.read_bytes()), compresslevel=1, mtime=0)


def make_mirror(root: Path, tarball: Path) -> Path:
    """v3.19 (the pinned release), v3.99 (an unpinned one), v3.98 (its checksum only in the
    .sha512 file), v3.5 (no x86 releases) and edge (not a release branch)."""
    publish(root, PINNED, tarball.read_bytes())
    publish(root, UNPINNED, repacked(tarball))
    publish(root, "3.98.2", repacked(tarball)[:-1] + b"\0", yaml_sha512=None)  # listed: never fetched
    (root / "v3.5" / "releases").mkdir(parents=True)
    (root / "edge" / "releases" / "x86").mkdir(parents=True)
    return root


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(directory: Path):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_latest_releases_yaml_is_read_as_alpine_writes_it():
    records = base.parse_latest_releases(release_yaml("3.20.3", "a" * 128, 3400000))
    assert [r["flavor"] for r in records] == ["alpine-standard", "alpine-minirootfs"]
    mini = records[1]
    assert mini["version"] == "3.20.3" and mini["sha512"] == "a" * 128  # not the desc's lines
    assert mini["file"] == "alpine-minirootfs-3.20.3-x86.tar.gz" and mini["time"] == "07:26:29"
    assert records[0]["title"] == "Standard" and records[0]["branch"] == "v3.20"


def test_file_mirror_lists_the_newest_release_of_each_branch_with_its_checksum(alpine_tarball, tmp_path, own_cache):
    mirror = make_mirror(tmp_path / "mirror", alpine_tarball)
    listing = base.list_releases(mirror.as_uri())
    assert listing.error == ""
    assert [r.version for r in listing.releases] == [UNPINNED, "3.98.2", PINNED]
    pinned, unpinned, sums_only = listing.find(PINNED), listing.find(UNPINNED), listing.find("3.98.2")
    assert pinned.pinned and pinned.on_mirror and pinned.sha512 == base.ALPINE_RELEASES[PINNED]
    assert unpinned.checksum_from == "mirror" and unpinned.sha512 == hashlib.sha512(repacked(alpine_tarball)).hexdigest()
    assert unpinned.checksum_url.endswith("/v3.99/releases/x86/latest-releases.yaml")
    assert sums_only.checksum_url.endswith("alpine-minirootfs-3.98.2-x86.tar.gz.sha512")
    assert not any(r.cached for r in listing.releases)
    assert "studio.toml" in unpinned.trust() and "pinned in Image Studio" in pinned.trust()
    # Only the newest branches are read.
    assert [r.version for r in base.list_releases(mirror.as_uri(), branches=1).releases] == [UNPINNED, PINNED]


def test_http_mirror_on_loopback_and_a_project_on_an_unpinned_release(alpine_tarball, tmp_path, own_cache):
    server, url = serve(make_mirror(tmp_path / "mirror", alpine_tarball))
    try:
        listing = base.list_releases(url)
        assert listing.error == "" and [r.version for r in listing.releases] == [UNPINNED, "3.98.2", PINNED]
        release = listing.find(UNPINNED)
        assert release.checksum_url == f"{url}/v3.99/releases/x86/latest-releases.yaml"
        project = Project.create(tmp_path / "p", release.source(url))
    finally:
        server.shutdown()
    settings = tomllib.loads((project.root / "studio.toml").read_text())["base"]
    assert settings == {"spec": f"alpine:{UNPINNED}", "file": f"alpine-minirootfs-{UNPINNED}-x86.tar.gz",
                        "sha512": release.sha512}
    reopened = Project.open(project.root)  # an unpinned spec opens (its checksum from studio.toml)
    assert reopened.base.sha512 == release.sha512
    assert reopened.merged()["/etc/inittab"].source is not None


def test_a_downloaded_release_is_listed_and_usable_offline(alpine_tarball, tmp_path, own_cache):
    mirror = make_mirror(tmp_path / "mirror", alpine_tarball)
    Project.create(tmp_path / "first", base.parse_base(f"alpine:{UNPINNED}", mirror.as_uri()))
    nowhere = (tmp_path / "nowhere").as_uri()
    listing = base.list_releases(nowhere)
    assert "cannot read the mirror" in listing.error and nowhere in listing.error and "cache" in listing.error
    cached = listing.find(UNPINNED)
    assert cached.cached and not cached.on_mirror and cached.checksum_from == "cache"
    assert "needs no network" in cached.trust()
    assert not listing.find(PINNED).cached  # pinned, listed, but never downloaded into this cache
    offline = base.parse_base(f"alpine:{UNPINNED}", nowhere)
    assert offline.sha512 == cached.sha512
    Project.create(tmp_path / "second", cached.source(nowhere))
    result = run_studio("new", str(tmp_path / "third"), "--base", f"alpine:{UNPINNED}", "--mirror", nowhere,
                        env={"STUDIO_CACHE_DIR": str(own_cache)})
    assert result.returncode == 0, result.stderr
    assert tomllib.loads((tmp_path / "third" / "studio.toml").read_text())["base"]["sha512"] == cached.sha512


def test_unpinned_branch_becomes_the_mirrors_newest_release(alpine_tarball, tmp_path, own_cache):
    mirror = make_mirror(tmp_path / "mirror", alpine_tarball)
    source = base.parse_base("alpine:3.99", mirror.as_uri())
    assert source.spec == f"alpine:{UNPINNED}" and source.url.endswith(f"alpine-minirootfs-{UNPINNED}-x86.tar.gz")
    assert base.parse_base("alpine:3.19", mirror.as_uri()).spec == "alpine:3.19"  # pinned: as before


def test_a_mirror_disagreeing_with_the_pinned_checksum_is_refused(alpine_tarball, tmp_path, own_cache):
    mirror = tmp_path / "mirror"
    publish(mirror, PINNED, repacked(alpine_tarball))  # another file, with a checksum that fits it
    release = base.list_releases(mirror.as_uri()).find(PINNED)
    assert release.pinned and "differs from the one pinned in Image Studio" in release.problem
    assert "refused" in release.marks()
    with pytest.raises(StudioError, match="cannot be used"):
        release.source(mirror.as_uri())
    with pytest.raises(StudioError, match="pinned in Image Studio"):
        base.alpine_source(PINNED, mirror.as_uri(), sha512=hashlib.sha512(b"other").hexdigest())


def test_a_download_not_matching_the_mirrors_checksum_is_refused(alpine_tarball, tmp_path, own_cache):
    mirror = tmp_path / "mirror"
    publish(mirror, UNPINNED, repacked(alpine_tarball), yaml_sha512=hashlib.sha512(b"what was released").hexdigest())
    release = base.list_releases(mirror.as_uri()).find(UNPINNED)
    with pytest.raises(StudioError, match="wrong checksum"):
        Project.create(tmp_path / "p", release.source(mirror.as_uri()))
    assert not (tmp_path / "p").exists()
    assert not base.list_releases((tmp_path / "nowhere").as_uri()).find(UNPINNED)  # never recorded


def test_mirrors_that_offer_nothing_say_what_is_wrong(alpine_mirror, own_cache):
    listing = base.list_releases(alpine_mirror.as_uri())  # the tarball alone, no latest-releases.yaml
    assert "lists no Alpine minirootfs releases for x86" in listing.error
    assert [r.version for r in listing.releases] == [PINNED]  # the pinned release is still offered
    down = closed_port_url()
    listing = base.list_releases(down)
    assert f"cannot reach the mirror ({down}/)" in listing.error and "Check the network" in listing.error
    with pytest.raises(StudioError, match="not an Alpine version"):
        base.parse_base("alpine:3.19/../../etc")
    with pytest.raises(StudioError, match="no SHA-512 is known"):
        base.fetch(base.alpine_source("3.97.0", down))
