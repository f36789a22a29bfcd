"""Packages in a project, end to end through the `studio packages` command line, offline against a
repository in Alpine's exact formats made by the test (tests/apkrepo.py): resolution with
dependencies, providers, conflicts and install_if, the lock file, the package layer in the
image (files, apk's database, world), install scripts and triggers run in the image, the package
cache serving offline, and hostile repositories refused with the project unchanged."""

from __future__ import annotations

import shutil
import tomllib

import pytest

from apkrepo import build_repository, hostile_package, index_signed_by_unknown_key, index_with_bad_signature, \
    package_with_foreign_data, replace_package_keeping_index
from conftest import run_studio
from studio.image.document import ImageDocument
from studio.image.project import Project
from studio.packages import installed as db


@pytest.fixture(scope="session")
def repository(tmp_path_factory):
    return build_repository(tmp_path_factory.mktemp("apkrepo"))


def with_repository(project, repo):
    """The project uses only the test repository (Alpine's own are not reachable here)."""
    key = next(repo.keys_dir.glob("*.pub"))
    added = run_studio("packages", "repo", "add", str(project.root), repo.url, "--key", str(key))
    assert added.returncode == 0, added.stderr
    for name in ("alpine:main", "alpine:community"):
        assert run_studio("packages", "repo", "remove", str(project.root), name).returncode == 0
    return project


def image(project) -> ImageDocument:
    return ImageDocument(Project.open(project.root), writable=False)


def lock_of(project) -> dict:
    return tomllib.loads((project.root / "packages.lock").read_text())


def installed_names(doc) -> set[str]:
    return {p.package.name for p in db.parse_installed(doc.read_bytes("/lib/apk/db/installed").decode())}


def test_add_resolves_the_chain_locks_it_and_installs_it_as_apk_would(new_project, repository):
    project = with_repository(new_project("chain"), repository)
    result = run_studio("packages", "add", str(project.root), "chain-a")
    assert result.returncode == 0, result.stderr
    assert "add      chain-c 1.0-r0" in result.stdout and "chain-b" in result.stdout
    lock = lock_of(project)
    assert sorted(p["name"] for p in lock["package"]) == ["chain-a", "chain-b", "chain-c"]
    row = next(p for p in lock["package"] if p["name"] == "chain-a")
    assert row["checksum"].startswith("Q1") and len(row["datahash"]) == 64 and row["repository"] == repository.url
    assert tomllib.loads((project.root / "studio.toml").read_text())["packages"]["world"] == ["chain-a"]
    doc = image(project)
    assert doc.read_bytes("/usr/share/chain/a.txt") == b"a\n"
    assert {"chain-a", "chain-b", "chain-c", "musl", "busybox"} <= installed_names(doc)
    assert doc.read_bytes("/etc/apk/world").split() == sorted(set(doc.read_bytes("/etc/apk/world").split()))
    assert b"chain-a" in doc.read_bytes("/etc/apk/world")
    # The guest reaches the repository through the studio, by a name the studio answers.
    from studio.packages.config import repository_host

    assert doc.read_bytes("/etc/apk/repositories").decode().strip() == f"http://{repository_host(repository.url)}"
    assert doc.state.status("/usr/share/chain/a.txt") == "base"  # below the overlay: not a user change
    listed = run_studio("packages", "list", str(project.root))
    assert "* chain-a" in listed.stdout and "chain-c" in listed.stdout and "busybox" in listed.stdout

    removed = run_studio("packages", "del", str(project.root), "chain-a")
    assert removed.returncode == 0, removed.stderr
    assert "remove   chain-a" in removed.stdout
    doc = image(project)
    assert doc.state.entry("/usr/share/chain/a.txt") is None and "chain-c" not in installed_names(doc)


def test_providers_install_if_and_conflicts(new_project, repository):
    project = with_repository(new_project("providers"), repository)
    result = run_studio("packages", "add", str(project.root), "greet", "docs")
    assert result.returncode == 0, result.stderr
    names = {p["name"] for p in lock_of(project)["package"]}
    assert {"greet", "libgreet", "docs", "greet-doc"} <= names  # so: provider, and install_if
    doc = image(project)
    assert doc.state.entry("/usr/lib/libgreet.so.1").target == "libgreet.so.1.2.0"
    assert doc.read_bytes("/usr/bin/hello") == doc.read_bytes("/usr/bin/greet")  # a hard link: a copy
    before = (project.root / "packages.lock").read_text()
    conflict = run_studio("packages", "add", str(project.root), "greet-classic")
    assert conflict.returncode != 0
    assert "greet-classic" in conflict.stderr and "greet" in conflict.stderr
    assert (project.root / "packages.lock").read_text() == before  # nothing changed


def test_an_unsatisfiable_request_explains_itself_and_changes_nothing(new_project, repository):
    project = with_repository(new_project("nothing"), repository)
    settings = (project.root / "studio.toml").read_text()
    result = run_studio("packages", "add", str(project.root), "no-such-package")
    assert result.returncode != 0
    assert "no-such-package" in result.stderr and "Traceback" not in result.stderr
    assert not (project.root / "packages.lock").exists()
    assert (project.root / "studio.toml").read_text() == settings


def test_search_and_info(new_project, repository):
    project = with_repository(new_project("search"), repository)
    found = run_studio("packages", "search", str(project.root), "greet")
    assert found.returncode == 0
    names = [line.split()[0] for line in found.stdout.splitlines()]
    assert names[0] == "greet" and "greet-doc" in names and "libgreet" in names
    info = run_studio("packages", "info", str(project.root), "greet")
    assert "so:libgreet.so.1" in info.stdout and "cmd:greet=2.0-r0" in info.stdout


def test_the_package_cache_serves_another_project_offline(new_project, repository, tmp_path):
    first = with_repository(new_project("online"), repository)
    assert run_studio("packages", "add", str(first.root), "bigdata").returncode == 0
    moved = repository.copy(tmp_path / "elsewhere")  # keep a copy; the original goes away for a moment
    shutil.rmtree(repository.root)
    try:
        second = new_project("offline")
        key = next(moved.keys_dir.glob("*.pub"))
        assert run_studio("packages", "repo", "add", str(second.root), repository.url, "--key", str(key)).returncode == 0
        for name in ("alpine:main", "alpine:community"):
            run_studio("packages", "repo", "remove", str(second.root), name)
        result = run_studio("packages", "add", str(second.root), "bigdata")
        assert result.returncode == 0, result.stderr
        assert "cannot be reached" in result.stderr and "using its index fetched" in result.stderr
        assert image(second).state.entry("/usr/share/bigdata/blob.bin").size == 1 << 20
    finally:
        shutil.copytree(moved.root, repository.root)


HOSTILE = ["bad-index-signature", "unknown-key", "checksum-mismatch", "datahash-mismatch"]


@pytest.fixture
def no_cached_packages():
    """Other tests fetched good copies; a hostile repository must be met with an empty cache."""
    from studio.packages.fetch import cache_root

    for folder in ("apks", "unpacked", "indexes"):
        shutil.rmtree(cache_root() / folder, ignore_errors=True)


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_repositories_are_refused_and_the_project_is_unchanged(case, new_project, repository, tmp_path,
                                                                      no_cached_packages):
    repo = repository.copy(tmp_path / f"repo-{case}")
    project = with_repository(new_project(case), repo)
    if case == "bad-index-signature":
        index_with_bad_signature(repo)
        expected = "signature"
    elif case == "unknown-key":
        index_signed_by_unknown_key(repo)
        expected = "not among the trusted keys"
    elif case == "checksum-mismatch":
        replace_package_keeping_index(repo, "chain-c")
        expected = "checksum mismatch"
    else:
        package_with_foreign_data(repo, "chain-c", "chain-b")
        expected = "datahash"
    settings = (project.root / "studio.toml").read_text()
    result = run_studio("packages", "add", str(project.root), "chain-a")
    assert result.returncode != 0, result.stdout
    assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (project.root / "packages.lock").exists()
    assert (project.root / "studio.toml").read_text() == settings


@pytest.mark.parametrize("kind", ["dotdot", "escaping-symlink", "hardlink-outside", "below-symlink"])
def test_hostile_package_contents_are_refused(kind, new_project, repository, tmp_path):
    repo = repository.copy(tmp_path / f"repo-{kind}")
    path, message = hostile_package(repo.arch_dir, repo.key, kind)
    repo.reindex()
    project = with_repository(new_project(f"hostile-{kind}"), repo)
    result = run_studio("packages", "add", str(project.root), f"hostile-{kind}")
    assert result.returncode != 0
    assert message in result.stderr and f"hostile-{kind}" in result.stderr, result.stderr
    assert not (project.root / "packages.lock").exists()


@pytest.mark.boot
def test_install_scripts_and_triggers_take_effect_in_the_image(new_project, repository):
    project = with_repository(new_project("scripts"), repository)
    result = run_studio("packages", "add", str(project.root), "daemon", "greet-index", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = image(project)
    passwd = doc.read_bytes("/etc/passwd").decode()
    assert "daemond:x:" in passwd
    uid = next(line.split(":")[2] for line in passwd.splitlines() if line.startswith("daemond:"))
    assert doc.read_bytes("/var/lib/daemond/installed") == f"daemond installed as {uid}\n".encode()
    effects = {row["path"] for row in lock_of(project).get("effect", [])}
    assert "/etc/passwd" in effects and "/etc/group" in effects
    # The trigger watches /usr/share/greetings: a package putting a file there fires it.
    assert run_studio("packages", "add", str(project.root), "greetings-extra", timeout=300).returncode == 0
    assert image(project).read_bytes("/usr/share/greetings/index.txt") == b"bonjour\nindex.txt\n"


@pytest.mark.boot
def test_the_guest_knows_the_packages(new_project, repository):
    project = with_repository(new_project("guest"), repository)
    assert run_studio("packages", "add", str(project.root), "greet", "chain-a", timeout=300).returncode == 0
    result = run_studio("boot", str(project.root), "--headless", "--no-snapshot", "--timeout", "90",
                        "--run", "apk info 2>/dev/null | sort | xargs",
                        "--run", "apk info -L chain-a 2>/dev/null",
                        "--run", "greet",
                        "--run", "apk del -q chain-a >/dev/null 2>&1; echo del=$?; apk info -e chain-a; echo e=$?",
                        timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert {"chain-a", "chain-b", "chain-c", "greet", "libgreet", "busybox", "musl"} <= set(out.split()), out
    assert "usr/share/chain/a.txt" in out
    assert "hello from greet" in out
    assert "del=0" in out and "e=1" in out


def test_build_installs_what_the_lock_names_on_a_machine_without_the_caches(new_project, repository):
    import json

    from studio.image import project_packages
    from studio.packages.fetch import cache_root

    project = with_repository(new_project("rebuilt"), repository)
    assert run_studio("packages", "add", str(project.root), "chain-a").returncode == 0
    # Another machine: no unpacked packages, no downloaded ones; the repository serves them again.
    shutil.rmtree(cache_root(), ignore_errors=True)
    project_packages._layers.clear()
    built = run_studio("build", str(project.root))
    assert built.returncode == 0, built.stderr
    fs = json.loads((project.root / ".build" / "fs.json").read_text())
    usr = next(n for n in fs["fsroot"] if n[0] == "usr")
    share = next(n for n in usr[6] if n[0] == "share")
    assert "chain" in [n[0] for n in share[6]]
    lock = lock_of(project)
    assert any(p.name.startswith("chain-a-1.0-r0.") for p in (cache_root() / "apks").iterdir())
    assert all(len(p["datahash"]) == 64 for p in lock["package"])


def test_an_http_repository_and_a_cut_short_download(new_project, repository, tmp_path, no_cached_packages):
    import functools
    import http.server
    import threading

    repo = repository.copy(tmp_path / "served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        project = new_project("over-http")
        key = next(repo.keys_dir.glob("*.pub"))
        assert run_studio("packages", "repo", "add", str(project.root), url, "--key", str(key)).returncode == 0
        for name in ("alpine:main", "alpine:community"):
            run_studio("packages", "repo", "remove", str(project.root), name)
        chain_c = repo.path_of("chain-c")
        good = chain_c.read_bytes()
        chain_c.write_bytes(good[: len(good) // 2])  # the server sends half of it
        cut = run_studio("packages", "add", str(project.root), "chain-a")
        assert cut.returncode != 0 and "chain-c" in cut.stderr and "Traceback" not in cut.stderr, cut.stderr
        assert not (project.root / "packages.lock").exists()
        chain_c.write_bytes(good)
        ok = run_studio("packages", "add", str(project.root), "chain-a")
        assert ok.returncode == 0, ok.stderr
        assert image(project).read_bytes("/usr/share/chain/c.txt") == b"c\n"
    finally:
        server.shutdown()
