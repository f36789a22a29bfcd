"""Edit > Settings… offscreen: the project's boot settings, the studio's own settings and the caches
are shown as they are, edits land in studio.toml and the settings file, wrong values are refused
saying why, and Clear empties a cache only when the question is answered yes."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from studio import settings
from studio.image.project import Project
from studio.ui.settings_dialog import SettingsDialog, boot_problems


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A cache and a settings file of the test's own."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(settings.CONFIG_ENV, str(tmp_path / "config"))
    snapshots = tmp_path / "cache" / "snapshots"
    snapshots.mkdir(parents=True)
    (snapshots / "abc.zst").write_bytes(b"s" * 3072)
    (snapshots / "abc.json").write_text("{}")
    kernel = tmp_path / "cache" / "kernel" / "key"
    kernel.mkdir(parents=True)
    (kernel / "bzImage").write_bytes(b"k" * 2048)
    return tmp_path / "cache"


@pytest.fixture
def make_dialog(qtbot):
    def make(project):
        dialog = SettingsDialog(project)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def _apply(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Apply), Qt.MouseButton.LeftButton)


def test_shows_the_settings_as_they_are(new_project, isolated, make_dialog):
    project = new_project("shown")
    project.boot.memory_mb, project.boot.kernel_args = 192, "quiet"
    project.boot.network, project.boot.network_allow = "web", ["myserver.lan:8080"]
    project.save_settings()
    settings.save({"alpine_mirror": "http://127.0.0.1:9/alpine", "blob_cache_limit": 512 << 20})
    dialog = make_dialog(Project.open(project.root))
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == ["Project", "Studio", "Caches"]
    assert dialog.memory.value() == 192 and dialog.kernel_args.text() == "quiet"
    assert dialog.network.currentData() == "web" and dialog.allow.toPlainText() == "myserver.lan:8080"
    assert dialog.mirror.text() == "http://127.0.0.1:9/alpine"
    assert "STUDIO_ALPINE_MIRROR is set" in dialog.mirror_note.text()  # the tests' own mirror wins
    assert dialog.blob_limit.value() == 512 and dialog.compile_limit.value() == 2048
    assert dialog.cache_size("snapshots") == "3.0 KiB" and dialog.cache_size("kernel") == "2.0 KiB"
    assert dialog.cache_size("compile") == "0 Bytes" and not dialog.clear_buttons["compile"].isEnabled()
    assert str(isolated) in dialog.cache_total.text() and str(isolated) in dialog.cache_note.text()


def test_edits_are_saved_to_studio_toml_and_the_settings_file(qtbot, new_project, isolated, make_dialog, tmp_path):
    project = new_project("edited")
    dialog = make_dialog(project)
    dialog.memory.setValue(256)
    dialog.kernel_args.setText("  loglevel=3 ")
    dialog.network.setCurrentIndex(dialog.network.findData("off"))
    dialog.allow.setPlainText("MyServer.lan:8080\n\n10.0.2.2:80\n")
    dialog.mirror.setText("https://mirror.example.org/alpine")
    dialog.cache_location.setText(str(tmp_path / "bigdisk"))
    dialog.compile_limit.setValue(4096)
    _apply(qtbot, dialog)
    assert not dialog.problems.isVisible()
    boot = tomllib.loads((project.root / "studio.toml").read_text())["boot"]
    assert boot == {"memory_mb": 256, "kernel_args": "loglevel=3", "network": "off",
                    "network_allow": ["myserver.lan:8080", "10.0.2.2:80"]}
    saved = settings.load()
    assert saved["alpine_mirror"] == "https://mirror.example.org/alpine"
    assert saved["cache_dir"] == str(tmp_path / "bigdisk") and saved["compile_cache_limit"] == 4096 << 20
    assert Project.open(project.root).boot.memory_mb == 256
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


@pytest.mark.parametrize("memory, says", [
    (16, "16 MB is too little: Alpine on the studio's kernel needs at least 32 MB"),
    (4096, "4096 MB is too much: v86 emulates a 32-bit PC inside the page's WebAssembly memory and cannot "
           "give it more than 2048 MB"),
])
def test_memory_out_of_range_is_refused_saying_why(qtbot, new_project, isolated, make_dialog, memory, says):
    project = new_project("memory")
    before = (project.root / "studio.toml").read_bytes()
    dialog = make_dialog(project)
    dialog.memory.setValue(memory)
    dialog.mirror.setText("https://changed.example.org/alpine")
    _apply(qtbot, dialog)
    assert dialog.problems.isVisible() and says in dialog.problems.text()
    assert (project.root / "studio.toml").read_bytes() == before  # nothing saved, on any page
    assert not settings.settings_path().exists()
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()  # OK does not close over a wrong value


def test_other_wrong_values_say_what_to_do():
    assert boot_problems(128, "quiet", "repositories", ["host.lan:80"]) == []
    found = boot_problems(128, "root=/dev/sda1 quiet", "sometimes", ["not a host", "h:99999"])
    assert any("root= is set by the studio" in p and "Leave it out" in p for p in found)
    assert any("'sometimes' is not a mode" in p for p in found)
    assert sum("is not host:port (e.g. 10.0.2.2:8080" in p for p in found) == 2
    assert settings.problems({"alpine_mirror": "mirror.lan"})[0].startswith("the Alpine mirror must be an http://")


def test_clear_asks_first_and_empties_the_cache(qtbot, new_project, isolated, make_dialog):
    dialog = make_dialog(new_project("clearing"))
    asked = []
    dialog.ask = lambda title, question: asked.append((title, question)) or False  # "Cancel"
    qtbot.mouseClick(dialog.clear_buttons["snapshots"], Qt.MouseButton.LeftButton)
    assert asked and "Delete the machine states (3.0 KiB)?" in asked[0][1]
    assert (isolated / "snapshots" / "abc.zst").exists()  # not answered yes: nothing deleted

    dialog.ask = lambda title, question: asked.append((title, question)) or True  # "Yes"
    qtbot.mouseClick(dialog.clear_buttons["snapshots"], Qt.MouseButton.LeftButton)
    assert not any((isolated / "snapshots").iterdir())
    assert dialog.cache_size("snapshots") == "0 Bytes" and "3.0 KiB freed" in dialog.cache_status.text()
    assert not dialog.clear_buttons["snapshots"].isEnabled()

    # The kernel is cleared only from its own button, and the question says what it costs.
    assert (isolated / "kernel" / "key" / "bzImage").exists()
    qtbot.mouseClick(dialog.clear_buttons["kernel"], Qt.MouseButton.LeftButton)
    assert "cannot boot anything until the kernel is built again" in asked[-1][1]
    assert not (isolated / "kernel" / "key").exists() and dialog.cache_size("kernel") == "0 Bytes"


def test_without_a_project_there_is_no_project_page(isolated, make_dialog):
    dialog = make_dialog(None)
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == ["Studio", "Caches"]
    dialog.mirror.setText("file:///srv/alpine-mirror")
    assert dialog.apply() and settings.alpine_mirror() == "file:///srv/alpine-mirror"


def _fresh_python(code: str, env: dict) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("STUDIO_ALPINE_MIRROR", "STUDIO_CACHE_DIR")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**clean, **env}).stdout.strip()


def test_the_cli_takes_the_mirror_from_the_settings(tmp_path):
    env = {settings.CONFIG_ENV: str(tmp_path / "config")}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text('{"alpine_mirror": "http://127.0.0.1:9/alpine"}')
    assert _fresh_python("from studio.image.base import mirror_url; print(mirror_url())", env) == \
        "http://127.0.0.1:9/alpine"


def test_the_cache_location_setting_takes_effect_at_the_next_start(tmp_path):
    env = {settings.CONFIG_ENV: str(tmp_path / "config")}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text(f'{{"cache_dir": "{tmp_path / "big"}"}}')
    assert Path(_fresh_python("from studio import paths; print(paths.cache_dir())", env)) == tmp_path / "big"
