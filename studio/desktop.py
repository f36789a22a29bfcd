"""Desktop integration (Qt-free): a menu entry with its icon, AppStream metainfo, and a MIME type
that makes a project's studio.toml (and its folder) open in the studio from a file manager,
installed into the user's XDG folders by `studio --install-desktop` and removed by
`studio --uninstall-desktop`.

    $XDG_DATA_HOME/applications/io.github.imagestudio.ImageStudio.desktop
    $XDG_DATA_HOME/icons/hicolor/scalable/apps/io.github.imagestudio.ImageStudio.svg
    $XDG_DATA_HOME/metainfo/io.github.imagestudio.ImageStudio.metainfo.xml
    $XDG_DATA_HOME/mime/packages/io.github.imagestudio.ImageStudio.xml
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from studio.fsutil import atomic_write

APP_ID = "io.github.imagestudio.ImageStudio"
FILES = Path(__file__).resolve().parent / "desktop_files"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets() -> dict[str, Path]:
    """Where each file goes, by the name it has in studio/desktop_files."""
    home = data_home()
    return {
        f"{APP_ID}.desktop": home / "applications" / f"{APP_ID}.desktop",
        f"{APP_ID}.svg": home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
        f"{APP_ID}.metainfo.xml": home / "metainfo" / f"{APP_ID}.metainfo.xml",
        f"{APP_ID}.mime.xml": home / "mime" / "packages" / f"{APP_ID}.xml",
    }


def install(executable: str | None = None) -> list[Path]:
    """Install the desktop files; the menu entry runs `executable` (default: this `studio`)."""
    studio = executable or _studio_executable()
    written = []
    for name, target in targets().items():
        data = (FILES / name).read_text()
        if name.endswith(".desktop"):
            data = data.replace("Exec=studio ", f"Exec={_quote(studio)} ")
        atomic_write(target, data)
        written.append(target)
    _refresh()
    return written


def uninstall() -> list[Path]:
    removed = []
    for target in targets().values():
        if target.exists():
            target.unlink()
            removed.append(target)
    _refresh()
    return removed


def _studio_executable() -> str:
    """The `studio` next to this Python (a venv's or pipx's bin), else the one on PATH."""
    beside = Path(sys.executable).with_name("studio")
    return str(beside) if beside.exists() else (shutil.which("studio") or "studio")


def _quote(path: str) -> str:
    return f'"{path}"' if " " in path else path


def _refresh() -> None:
    """Tell the desktop about the change when its tools are there (they are optional)."""
    home = data_home()
    for tool, argument in (("update-mime-database", home / "mime"),
                           ("update-desktop-database", home / "applications")):
        if shutil.which(tool) and argument.exists():
            subprocess.run([tool, str(argument)], capture_output=True)
