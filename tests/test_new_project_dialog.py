"""The New Project dialog (offscreen): releases listed offline from the cache, the folder's state
said, the same project `studio new` makes, a local tarball, Refresh on another mirror, and Cancel
stopping a download under way."""

from __future__ import annotations

import functools
import http.server
import threading
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from conftest import run_studio
from studio.image import base
from studio.ui.new_project_dialog import NewProjectDialog
from test_releases import PINNED, UNPINNED, QuietHandler, make_mirror, publish, repacked

LONG = 60_000  # ms: generous bounds for background work on a busy 2-core machine


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def open_dialog(qtbot, location: Path, mirror: str) -> NewProjectDialog:
    """The dialog, shown, once its first listing of `mirror` is in."""
    dialog = NewProjectDialog(location=location, mirror=mirror)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.listed, timeout=LONG):  # the listing's answer is queued to this thread
        dialog.show()
    return dialog


def create(qtbot, dialog: NewProjectDialog):
    assert dialog.create_button.isEnabled(), (dialog.folder_label.text(), dialog.trust_label.text())
    with qtbot.waitSignal(dialog.created, timeout=LONG):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == dialog.DialogCode.Accepted
    return dialog.project


def listed_items(dialog: NewProjectDialog) -> list[str]:
    return [dialog.release_list.item(row).text() for row in range(dialog.release_list.count())]


def project_files(root: Path) -> dict[str, bytes]:
    """studio.toml, overlay.toml and every overlay file, by relative path."""
    files = {name: (root / name).read_bytes() for name in ("studio.toml", "overlay.toml", ".gitignore")}
    for path in sorted((root / "overlay").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def test_offline_the_cached_release_is_listed_and_gives_what_studio_new_gives(
        qtbot, alpine_tarball, tmp_path, own_cache):
    mirror = make_mirror(tmp_path / "mirror", alpine_tarball)
    base.fetch(base.parse_base(f"alpine:{UNPINNED}", mirror.as_uri()))  # downloaded once, while online
    nowhere = (tmp_path / "nowhere").as_uri()
    dialog = open_dialog(qtbot, tmp_path / "projects", nowhere)
    assert dialog.listing_label.text().startswith("Cannot read the mirror") and "cache" in dialog.listing_label.text()
    assert any(text.startswith(f"Alpine {UNPINNED}") and "in the cache" in text for text in listed_items(dialog))
    assert dialog.selected_release().version == UNPINNED  # offline, the cached release is the one that works
    assert "needs no network" in dialog.trust_label.text() and "studio.toml" in dialog.trust_label.text()
    dialog.name_edit.setText("game")
    assert "will be created" in dialog.folder_label.text()
    project = create(qtbot, dialog)
    assert project.root == (tmp_path / "projects" / "game").resolve()

    result = run_studio("new", str(tmp_path / "cli" / "game"), "--base", f"alpine:{UNPINNED}", "--mirror", nowhere,
                        env={"STUDIO_CACHE_DIR": str(own_cache)})
    assert result.returncode == 0, result.stderr
    made_by_dialog, made_by_cli = project_files(project.root), project_files(tmp_path / "cli" / "game")
    assert made_by_dialog == made_by_cli
    settings = tomllib.loads(made_by_dialog["studio.toml"].decode())
    assert settings["base"]["spec"] == f"alpine:{UNPINNED}"
    assert settings["base"]["sha512"] == dialog.selected_release().sha512
    assert "ttyS0::respawn:-/bin/sh" in made_by_dialog["overlay/etc/inittab"].decode()  # the preset


def test_the_folder_is_location_slash_name_and_its_state_is_said(qtbot, tmp_path, own_cache):
    location = tmp_path / "projects"
    (location / "busy").mkdir(parents=True)
    (location / "busy" / "notes.txt").write_text("mine")
    (location / "empty").mkdir()
    dialog = open_dialog(qtbot, location, (tmp_path / "nowhere").as_uri())
    assert dialog.selected_release().version == PINNED  # nothing cached: the default base
    dialog.name_edit.setText("busy")
    assert dialog.folder() == location / "busy"
    assert "exists and is not empty" in dialog.folder_label.text()
    assert not dialog.create_button.isEnabled()
    dialog.create()  # refused all the same, and says why
    assert "not empty" in dialog.error_label.text() and (location / "busy" / "notes.txt").read_text() == "mine"
    dialog.name_edit.setText("empty")
    assert "exists and is empty" in dialog.folder_label.text() and dialog.create_button.isEnabled()
    dialog.name_edit.setText("a/b")
    assert "no slashes" in dialog.folder_label.text() and not dialog.create_button.isEnabled()
    dialog.name_edit.setText("fresh")
    dialog.location_edit.setText(str(tmp_path / "elsewhere"))
    assert dialog.folder() == tmp_path / "elsewhere" / "fresh" and "will be created" in dialog.folder_label.text()


def test_a_local_tarball(qtbot, alpine_tarball, tmp_path, own_cache):
    dialog = open_dialog(qtbot, tmp_path, (tmp_path / "nowhere").as_uri())
    dialog.name_edit.setText("local")
    dialog.use_tarball(tmp_path / "missing.tar.gz")
    assert not dialog.create_button.isEnabled() and "Choose the tarball" in dialog.trust_label.text()
    dialog.use_tarball(alpine_tarball)
    project = create(qtbot, dialog)
    settings = tomllib.loads((project.root / "studio.toml").read_text())["base"]
    assert settings == {"spec": f"file:{alpine_tarball.name}", "file": alpine_tarball.name,
                        "sha512": base.ALPINE_RELEASES[PINNED], "source": str(alpine_tarball.resolve())}


def test_a_release_whose_checksums_disagree_cannot_be_created(qtbot, alpine_tarball, tmp_path, own_cache):
    mirror = tmp_path / "mirror"
    publish(mirror, PINNED, repacked(alpine_tarball))  # the mirror's 3.19.4 is not Alpine's
    dialog = open_dialog(qtbot, tmp_path, mirror.as_uri())
    dialog.select_release(PINNED)
    assert "refused" in dialog.release_list.currentItem().text()
    assert "differs from the one pinned" in dialog.trust_label.text()
    assert not dialog.create_button.isEnabled()


class GatedMirror(QuietHandler):
    """Serves a mirror; a tarball comes in two halves, the second only once `gate` is set."""

    gate = threading.Event()

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.name.endswith(".tar.gz"):
            return super().do_GET()
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        first = 512 * 1024  # two of the downloader's reads: progress is reported
        try:
            self.wfile.write(data[:first])
            self.wfile.flush()
            self.gate.wait(LONG / 1000)
            self.wfile.write(data[first:])
        except OSError:
            pass  # the studio hung up: it was cancelled


def test_refresh_lists_another_mirror_and_cancel_stops_the_download(qtbot, alpine_tarball, tmp_path, own_cache):
    mirror = make_mirror(tmp_path / "mirror", alpine_tarball)
    gate = threading.Event()
    handler = functools.partial(type("Gated", (GatedMirror,), {"gate": gate}), directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        dialog = open_dialog(qtbot, tmp_path / "projects", (tmp_path / "nowhere").as_uri())
        assert not any(UNPINNED in text for text in listed_items(dialog))
        dialog.mirror_edit.setText(url)
        with qtbot.waitSignal(dialog.listed, timeout=LONG):
            qtbot.mouseClick(dialog.refresh_button, Qt.MouseButton.LeftButton)
        assert dialog.listing_label.text().startswith(f"3 release(s) on {url}")
        dialog.select_release(UNPINNED)
        assert "on the mirror" in dialog.release_list.currentItem().text()
        assert f"{url}/v3.99/releases/x86/latest-releases.yaml" in dialog.trust_label.text()
        dialog.name_edit.setText("later")
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "downloading" in dialog.progress_label.text(), timeout=LONG)
        assert dialog.progress_bar.isVisible() and not dialog.form.isEnabled()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        assert dialog.progress_label.text() == "Cancelling…" and dialog.isVisible()
        gate.set()  # the rest of the tarball arrives: the downloader sees the cancel at its next read
        qtbot.waitUntil(lambda: dialog.progress_label.text().startswith("Cancelled"), timeout=LONG)
    finally:
        gate.set()
        server.shutdown()
    assert dialog.isVisible() and dialog.project is None and dialog.form.isEnabled()
    assert not (tmp_path / "projects" / "later").exists()
    assert not base.cached_tarball(dialog.selected_release().source(url)).exists()
    assert dialog.create_button.isEnabled()  # and one may try again
