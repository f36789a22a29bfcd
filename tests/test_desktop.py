"""Desktop integration: `studio --install-desktop` puts a valid menu entry, the icon, AppStream
metainfo and the studio.toml MIME type into the user's XDG folders, `--uninstall-desktop` takes
them away, and a file manager's "open with" of a studio.toml opens its project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_studio
from studio import cli, desktop

APP = desktop.APP_ID


def test_install_validate_and_uninstall(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "share")}
    done = run_studio("--install-desktop", env=env)
    assert done.returncode == 0, done.stderr
    share = tmp_path / "share"
    entry = share / "applications" / f"{APP}.desktop"
    files = [entry, share / "icons/hicolor/scalable/apps" / f"{APP}.svg", share / "metainfo" / f"{APP}.metainfo.xml",
             share / "mime/packages" / f"{APP}.xml"]
    assert all(f.is_file() for f in files), done.stdout
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    program = exec_line.split("=", 1)[1].split(" ")[0]
    assert Path(program).is_absolute() and Path(program).name == "studio", exec_line  # works from a menu
    assert exec_line.endswith(" gui %f")
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert checked.returncode == 0 and "error" not in checked.stdout, checked.stdout
    if shutil.which("appstreamcli"):
        checked = subprocess.run(["appstreamcli", "validate", "--no-net", str(files[2])], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout
    assert "<glob pattern=\"studio.toml\"" in files[3].read_text()

    done = run_studio("--uninstall-desktop", env=env)
    assert done.returncode == 0 and not any(f.exists() for f in files), done.stdout
    again = run_studio("--uninstall-desktop", env=env)
    assert again.returncode == 0 and "nothing to remove" in again.stdout


@pytest.mark.parametrize("given", ["folder", "studio.toml"])
def test_gui_opens_a_project_from_its_folder_or_its_studio_toml(alpine_project, monkeypatch, given):
    from studio.ui import app

    opened = []
    monkeypatch.setattr(app, "run_gui", lambda directory: opened.append(directory) or 0)
    target = alpine_project.root if given == "folder" else alpine_project.root / "studio.toml"
    assert cli.main(["gui", str(target)]) == 0
    assert opened == [alpine_project.root]
