"""Screenshots of the studio for the README, made from the real windows on a real project.

    .venv/bin/python packaging/screenshots.py [--out docs/screenshots] [--tarball PATH] [--boot]

It lays out a throwaway Alpine mirror holding the minirootfs tarball (default: the one in
../shared/alpine), creates a project on alpine:3.19 in a temporary folder, makes a few edits a
user would make, and saves PNGs of: the main window (with --boot, its machine running), the
Packages panel, the New Project dialog, the Settings dialog and a Compare with Base diff.
Nothing of the user's own settings, caches or recent projects is read or changed: every studio
folder points into the temporary folder (except the kernel cache, so --boot needs no rebuild).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_TARBALL = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"


def _isolate(scratch: Path) -> None:
    from studio import initrd, kernel

    if "STUDIO_KERNEL" not in os.environ:  # found before the cache folder moves
        os.environ["STUDIO_KERNEL"] = str(kernel.find_kernel())
    if "STUDIO_INITRD" not in os.environ:
        os.environ["STUDIO_INITRD"] = str(initrd.find_initrd())
    for name, sub in (("STUDIO_CACHE_DIR", "cache"), ("STUDIO_DATA_DIR", "data"), ("XDG_CONFIG_HOME", "config"),
                      ("STUDIO_CONFIG_DIR", "config/image-studio")):
        os.environ[name] = str(scratch / sub)


def _mirror(scratch: Path, tarball: Path) -> str:
    """A mirror laid out as Alpine's (the tarball and the branch's latest-releases.yaml)."""
    import hashlib

    version = tarball.name.removeprefix("alpine-minirootfs-").removesuffix("-x86.tar.gz")
    releases = scratch / "mirror" / ("v" + ".".join(version.split(".")[:2])) / "releases" / "x86"
    releases.mkdir(parents=True)
    (releases / tarball.name).symlink_to(tarball.resolve())
    data = tarball.read_bytes()
    (releases / "latest-releases.yaml").write_text(
        "---\n-\n  title: \"Mini root filesystem\"\n  flavor: alpine-minirootfs\n  arch: x86\n"
        f"  version: {version}\n  file: {tarball.name}\n  size: {len(data)}\n"
        f"  sha512: {hashlib.sha512(data).hexdigest()}\n")
    return (scratch / "mirror").as_uri()


def _demo_repository(scratch: Path, project) -> None:
    """A small signed repository in apk's formats (Alpine's mirrors are not needed), made the
    project's only one, as `studio packages repo add` does."""
    import subprocess

    from studio.packages.apkfile import FileSpec, PackageSpec, build_apk
    from studio.packages.index import build_repository_index
    from studio.packages.keys import SigningKey

    key = SigningKey.generate("demo-65536a00", bits=2048)
    arch_dir = scratch / "repo" / "x86"
    arch_dir.mkdir(parents=True)
    public = scratch / key.key_name
    public.write_bytes(key.public_pem())
    demo = dict(arch="x86", url="https://example.org/demo", license="MIT", maintainer="Demo <demo@example.org>",
                builddate=1767225600)
    specs = [
        PackageSpec("libgreet", "1.2.0-r1", description="greeting library", provides=["so:libgreet.so.1=1.2.0"],
                    files=[FileSpec("usr/lib/libgreet.so.1", data=b"\x7fELF demo\n" * 100, mode=0o755)], **demo),
        PackageSpec("greet", "2.0-r0", description="says hello, in several languages",
                    depends=["so:libgreet.so.1"], provides=["cmd:greet=2.0-r0"],
                    files=[FileSpec("usr/bin/greet", data=b"#!/bin/sh\necho hello\n", mode=0o755)], **demo),
        PackageSpec("greet-doc", "2.0-r0", description="greet (documentation)",
                    files=[FileSpec("usr/share/doc/greet/README", data=b"greet says hello\n")], **demo),
        PackageSpec("tinyhttpd", "0.9-r3", description="a small static web server", depends=["/bin/sh"],
                    files=[FileSpec("usr/sbin/tinyhttpd", data=b"#!/bin/sh\nexit 0\n", mode=0o755)], **demo),
    ]
    for spec in specs:
        build_apk(spec, arch_dir / f"{spec.name}-{spec.version}.apk", key)
    build_repository_index(arch_dir, key, description="demo repository")

    def studio(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "studio.cli", "packages", "repo", *args], check=True,
                       capture_output=True, cwd=REPO)

    studio("add", str(project.root), (scratch / "repo").as_uri(), "--key", str(public))
    for name in ("alpine:main", "alpine:community"):
        studio("remove", str(project.root), name)


def _edit(project) -> None:
    """What a user would have done: a welcome message, a program, a changed inittab line."""
    project.write_file("/etc/motd", "Welcome to the demo image, built with Image Studio.\n"
                                    "Type 'hello' to run the program added to it.\n")
    project.write_file("/usr/local/bin/hello", "#!/bin/sh\necho 'Hello from the studio!'\n", 0o755)
    project.write_file("/etc/hostname", "demo\n")


def _save(widget, out: Path, name: str) -> Path:
    from PySide6.QtWidgets import QApplication

    for _ in range(20):
        QApplication.processEvents()
    path = out / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--tarball", type=Path, default=SHARED_TARBALL, help="an Alpine x86 minirootfs tarball")
    parser.add_argument("--boot", action="store_true", help="boot the machine for the main window's picture")
    parser.add_argument("--visible", action="store_true", help="use the desktop instead of offscreen rendering")
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball} is not a file: pass --tarball PATH (an Alpine x86 minirootfs)")
    if not args.visible:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="studio-shots-") as temp:
        scratch = Path(temp)
        _isolate(scratch)
        return _shoot(args, scratch, _mirror(scratch, args.tarball))


def _shoot(args, scratch: Path, mirror: str) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from studio.boot.qtapp import application, wait_for
    from studio.image import base
    from studio.image.compare import unified_diff
    from studio.image.project import Project
    from studio.ui.diff_dialog import DiffDialog
    from studio.ui.main_window import MainWindow
    from studio.ui.new_project_dialog import NewProjectDialog
    from studio.ui.settings_dialog import SettingsDialog

    application(headless=not args.visible)
    project = Project.create(scratch / "projects" / "demo", base.parse_base("alpine:3.19", mirror), name="demo")
    _edit(project)
    _demo_repository(scratch, project)
    window = MainWindow(Project.open(project.root))
    window.resize(1280, 800)
    window.show()
    window.open_file("/etc/motd")
    window.tree_panel.select("/etc/motd")
    if args.boot:
        window.tabs.setCurrentIndex(0)  # the Machine tab, its terminal at the prompt
        if not (wait_for(lambda: window.session.page_ready, 60) and (window.boot() or True)
                and wait_for(lambda: window.session.state == "running", 120)):
            print("the machine did not reach a prompt; the main window is shown without it", file=sys.stderr)
        window.session.type("cat /etc/motd; uname -a\n")
        wait_for(lambda: "Linux demo" in window.session.console.text[-400:], 30)
        settle = time.monotonic() + 1.0  # xterm.js draws the text on its next animation frames
        wait_for(lambda: time.monotonic() > settle, 5)
    _save(window, args.out, "main-window")

    window.packages_dock.show()
    window.packages_dock.raise_()
    window.resizeDocks([window.packages_dock], [380], Qt.Orientation.Vertical)
    panel = window.packages_panel
    wait_for(lambda: panel.index is not None, 60)
    panel.search_box.setText("greet")
    panel.apply_search()  # now, not after the typing pause
    panel.select("greet")
    _save(window.packages_dock, args.out, "packages")

    dialog = NewProjectDialog(window, location=scratch / "projects", mirror=mirror)
    listed = []
    dialog.listed.connect(lambda: listed.append(True))
    dialog.show()
    wait_for(lambda: bool(listed), 30)
    _save(dialog, args.out, "new-project")
    dialog.close()

    settings = SettingsDialog(window.project, window)
    settings.show()
    _save(settings, args.out, "settings")
    settings.close()

    diff = DiffDialog("/etc/motd", unified_diff(window.editor.doc, "/etc/motd"), window)
    diff.show()
    _save(diff, args.out, "compare-with-base")
    diff.close()

    window.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
