"""Build a self-contained wheel of Image Studio: everything the studio needs at run time that PyPI
cannot give, inside the package (studio/bundled/):

    resources/web/app/…              the boot page
    resources/web/node_modules/…     v86 and xterm.js (only the files the page loads)
    resources/help/, init/, wasi/    the guide, the init's source, the WASI layer's source
    packaging/kernel/studio.config   the kernel configuration fragment
    kernel/bzImage, config, version  the guest kernel, built here from Debian's linux-source
    kernel/initrd.cpio               the initramfs with the studio's init
    bios/bios.bin                    SeaBIOS (Debian's seabios package)
    LICENSES/                        what the bundled third-party parts are under

    .venv/bin/python packaging/build_wheel.py [--out dist]

The checkout is never changed: the package is staged in a temporary folder and built there
(pip wheel). The list of what the wheel may hold is WHEEL_FILES below; the build checks it.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Everything the wheel may contain (glob patterns over its member names): a test checks it.
WHEEL_FILES = [
    "studio/*.py", "studio/*/*.py",
    "studio/desktop_files/*",
    "studio/bundled/resources/web/app/*",
    "studio/bundled/resources/web/node_modules/*",
    "studio/bundled/resources/help/*", "studio/bundled/resources/init/*", "studio/bundled/resources/wasi/*",
    "studio/bundled/packaging/kernel/studio.config",
    "studio/bundled/kernel/bzImage", "studio/bundled/kernel/config", "studio/bundled/kernel/version",
    "studio/bundled/kernel/initrd.cpio",
    "studio/bundled/bios/bios.bin",
    "studio/bundled/LICENSES/*",
    "image_studio-*.dist-info/*",
]

LICENSE_NOTES = {
    "linux.txt": "The guest kernel (studio/bundled/kernel/bzImage) is Linux {version}, built from Debian's\n"
                 "linux-source package with studio/bundled/kernel/config. Linux is licensed under the GNU\n"
                 "General Public License version 2; its source is Debian's linux-source package\n"
                 "(https://packages.debian.org/source/linux) and https://kernel.org.\n",
    "seabios.txt": "SeaBIOS (studio/bundled/bios/bios.bin) is from Debian's seabios package, licensed under\n"
                   "the GNU Lesser General Public License version 3; source: https://www.seabios.org and\n"
                   "Debian's seabios source package.\n",
    "v86.txt": "v86 (studio/bundled/resources/web/node_modules/v86) is licensed under the BSD 2-Clause\n"
               "License; https://github.com/copy/v86. Its license text follows.\n\n",
    "xterm.txt": "xterm.js and its fit and search add-ons (@xterm/*) are licensed under the MIT License;\n"
                 "https://github.com/xtermjs/xterm.js. The license text follows.\n\n",
}


def stage(target: Path) -> None:
    """A copy of the package with studio/bundled/ filled in, under `target`."""
    from studio import assets, initrd, kernel

    shutil.copy2(REPO / "pyproject.toml", target / "pyproject.toml")
    shutil.copy2(REPO / "README.md", target / "README.md")
    shutil.copytree(REPO / "studio", target / "studio", ignore=shutil.ignore_patterns("__pycache__", "bundled"))
    bundled = target / "studio" / "bundled"
    web = bundled / "resources" / "web"
    shutil.copytree(assets.PAGE_DIR, web / "app")
    for relative in sorted(assets.NPM_FILES):
        (web / "node_modules" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(assets.NPM_DIR / relative, web / "node_modules" / relative)
    for name in ("help", "init", "wasi"):
        shutil.copytree(REPO / "resources" / name, bundled / "resources" / name)
    (bundled / "packaging" / "kernel").mkdir(parents=True)
    shutil.copy2(kernel.FRAGMENT, bundled / "packaging" / "kernel" / "studio.config")
    built = kernel.build()
    (bundled / "kernel").mkdir()
    for name in ("bzImage", "config", "version"):
        shutil.copy2(built.directory / name, bundled / "kernel" / name)
    shutil.copy2(initrd.find_initrd(), bundled / "kernel" / "initrd.cpio")
    (bundled / "bios").mkdir()
    shutil.copy2(assets.SEABIOS, bundled / "bios" / "bios.bin")
    licenses = bundled / "LICENSES"
    licenses.mkdir()
    version = (built.directory / "version").read_text().strip()
    for name, text in LICENSE_NOTES.items():
        body = text.format(version=version)
        package = {"v86.txt": "v86", "xterm.txt": "@xterm/xterm"}.get(name)
        if package:
            body += (assets.NPM_DIR / package / "LICENSE").read_text()
        (licenses / name).write_text(body)


def check(wheel: Path) -> list[str]:
    """Members of the wheel that WHEEL_FILES does not allow (empty: all is declared)."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    return [n for n in names if not any(fnmatch.fnmatch(n, pattern) for pattern in WHEEL_FILES)]


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="studio-wheel-") as tmp:
        staged = Path(tmp)
        stage(staged)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "-w", str(out), str(staged)], check=True)
    (wheel,) = sorted(out.glob("image_studio-*.whl"), key=lambda p: p.stat().st_mtime)[-1:]
    stray = check(wheel)
    if stray:
        raise SystemExit(f"{wheel} holds files it does not declare:\n  " + "\n  ".join(stray))
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "dist"), help="where the wheel goes (default: dist/)")
    wheel = build(Path(parser.parse_args().out))
    print(f"{wheel} ({wheel.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
