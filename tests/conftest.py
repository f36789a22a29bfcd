"""Test set-up: offscreen Qt with the studio:// scheme, throwaway caches, the real Alpine base.

The tests use the real parts: the Alpine 3.19.4 minirootfs from ../shared/alpine, the guest
kernel built by packaging/setup.sh, v86 from resources/web, QtWebEngine offscreen.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_ALPINE = Path(os.environ.get("STUDIO_TEST_ALPINE_DIR", REPO.parent / "shared" / "alpine"))
ALPINE_TARBALL = SHARED_ALPINE / "alpine-minirootfs-3.19.4-x86.tar.gz"

# The kernel lives in the real user cache (built once by setup); everything else the tests
# touch goes to a throwaway cache and data directory.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from studio import kernel  # noqa: E402

try:
    os.environ.setdefault("STUDIO_KERNEL", str(kernel.find_kernel()))
except kernel.KernelError:
    pass  # boot tests fail with the KernelError message; the rest still run
try:
    from studio import initrd

    os.environ.setdefault("STUDIO_INITRD", str(initrd.find_initrd()))  # built in the real cache
except Exception:  # noqa: BLE001 (no zig: boot tests say so; the rest still run)
    pass
_SCRATCH = Path(tempfile.mkdtemp(prefix="studio-tests-"))
os.environ["STUDIO_CACHE_DIR"] = str(_SCRATCH / "cache")
os.environ["STUDIO_DATA_DIR"] = str(_SCRATCH / "data")
os.environ["XDG_CONFIG_HOME"] = str(_SCRATCH / "config")  # QSettings (recent projects)
# Tests never touch the network: a fetch nobody pointed at a test mirror fails at once, offline.
os.environ["STUDIO_ALPINE_MIRROR"] = (_SCRATCH / "no-network-mirror").as_uri()


def pytest_configure(config):
    # QtWebEngine needs the scheme registered before the QApplication exists; create it here
    # so pytest-qt's qapp fixture finds ours.
    from studio.boot.qtapp import application

    application(headless=True)


def pytest_unconfigure(config):
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def alpine_tarball() -> Path:
    assert ALPINE_TARBALL.is_file(), f"the test base {ALPINE_TARBALL} is missing (../shared/alpine)"
    expected = (SHARED_ALPINE / "SHA512SUMS").read_text().split()[0]
    assert hashlib.sha512(ALPINE_TARBALL.read_bytes()).hexdigest() == expected
    return ALPINE_TARBALL


@pytest.fixture(scope="session")
def minirootfs(alpine_tarball, tmp_path_factory) -> Path:
    """The Alpine minirootfs extracted (read-only use: copy it before changing it)."""
    import subprocess

    root = tmp_path_factory.mktemp("minirootfs")
    subprocess.run(["tar", "-xzf", str(alpine_tarball), "-C", str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def apk_oracle(minirootfs):
    """The minirootfs's own apk-tools 2.14, run on this host through its musl loader: the oracle
    the package tests compare the studio with (skipped where the kernel lacks 32-bit support)."""
    from apkrepo import ApkOracle

    oracle = ApkOracle(minirootfs)
    if oracle.unavailable:
        pytest.skip(oracle.unavailable)
    return oracle


@pytest.fixture(scope="session")
def alpine_mirror(alpine_tarball, tmp_path_factory) -> Path:
    """A directory laid out like an Alpine release mirror, holding the shared tarball."""
    root = tmp_path_factory.mktemp("mirror")
    releases = root / "v3.19" / "releases" / "x86"
    releases.mkdir(parents=True)
    (releases / alpine_tarball.name).symlink_to(alpine_tarball)
    return root


@pytest.fixture(scope="session")
def alpine_project(alpine_mirror, tmp_path_factory):
    """A fresh project on alpine:3.19 (from the file:// mirror), shared by read-only tests."""
    from studio.image import base
    from studio.image.project import Project

    directory = tmp_path_factory.mktemp("projects") / "alpine"
    project = Project.create(directory, base.parse_base("alpine:3.19", alpine_mirror.as_uri()))
    before = _listing(project.root)
    yield project
    # A test that writes here changes what every later test sees: it must use new_project.
    assert _listing(project.root) == before, "a test wrote into the shared read-only alpine_project"


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
        if not {".studio", ".build"} & set(p.relative_to(root).parts) and not p.is_dir()  # built output may change
    }


@pytest.fixture
def new_project(alpine_mirror, tmp_path):
    """A factory for fresh projects that a test may modify."""
    from studio.image import base
    from studio.image.project import Project

    def make(name: str = "guest"):
        return Project.create(tmp_path / name, base.parse_base("alpine:3.19", alpine_mirror.as_uri()))

    return make


def run_studio(*args: str, timeout: float = 180, env: dict | None = None):
    """Run the real `studio` command in a child process."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, timeout=timeout,
        cwd=REPO, env={**os.environ, **(env or {})},
    )


@pytest.fixture
def open_window(qtbot, monkeypatch):
    """A factory for main windows on a project, shown; with `boot`, its machine running at a shell
    prompt. Closing at teardown never stops at the unsaved-changes question (it discards)."""
    from PySide6.QtWidgets import QMessageBox

    from studio.boot.qtapp import wait_for
    from studio.ui.main_window import MainWindow

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    windows = []

    def make(project, boot: bool = False, size: tuple[int, int] | None = (1200, 800)):
        win = MainWindow(project)
        qtbot.addWidget(win)
        if size:
            win.resize(*size)
        win.show()
        windows.append(win)
        if boot:
            assert wait_for(lambda: win.session.page_ready, 30), win.session.page_log
            win.boot()
            assert wait_for(lambda: win.session.state == "running", 60), win.session.console.text[-1000:]
        return win

    yield make
    for win in windows:
        win.close()
