"""The self-contained wheel: built by packaging/build_wheel.py, it holds only the files it
declares, and installed into a clean virtual environment away from the source tree its `studio`
creates a project, compiles a C program and boots the image (its own kernel, initramfs, SeaBIOS
and boot page: no kernel build, no node). Without wasm2c, a compile says which package to install."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "packaging"))

import build_wheel  # noqa: E402

pytestmark = pytest.mark.boot


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built as a developer builds it: the kernel and initramfs from the real cache set-up filled."""
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k not in ("STUDIO_CACHE_DIR", "STUDIO_DATA_DIR")}
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "build_wheel.py"), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    (built,) = out.glob("image_studio-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel and its dependencies (pip's cache serves them offline)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def _clean_env(home: Path, path: str | None = None) -> dict[str, str]:
    """An environment a user's would be: nothing pointing into the source tree or its caches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "PYTHON"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), QT_QPA_PLATFORM="offscreen")
    if path is not None:
        env["PATH"] = path
    return env


def _studio(venv: Path, home: Path, *args: str, path: str | None = None, timeout: float = 300):
    return subprocess.run([str(venv / "bin" / "studio"), *args], capture_output=True, text=True, cwd=home,
                          env=_clean_env(home, path), timeout=timeout)


def test_the_wheel_holds_only_what_it_declares(wheel):
    assert build_wheel.check(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for needed in ("studio/bundled/kernel/bzImage", "studio/bundled/kernel/initrd.cpio",
                   "studio/bundled/bios/bios.bin", "studio/bundled/resources/web/app/boot.js",
                   "studio/bundled/resources/web/node_modules/v86/build/v86.wasm",
                   "studio/bundled/resources/wasi/wasi_runtime.c", "studio/bundled/LICENSES/linux.txt",
                   "studio/desktop_files/io.github.imagestudio.ImageStudio.svg"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "bench/", "studio/bundled/resources/web/node_modules/.bin")) for n in names)
    assert wheel.stat().st_size <= 15_000_000


def test_the_installed_wheel_compiles_and_boots(installed, alpine_mirror, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import studio; print(studio.__file__)"],
                           capture_output=True, text=True, cwd=home, env=_clean_env(home), check=True).stdout
    assert where.startswith(str(installed)), where  # the installed copy, not the checkout
    made = _studio(installed, home, "new", "demo", "--base", "alpine:3.19", "--mirror", alpine_mirror.as_uri())
    assert made.returncode == 0, made.stderr
    (home / "hello.c").write_text(textwrap.dedent("""\
        #include <stdio.h>
        int main(void) { printf("hello from the installed wheel %d\\n", 6 * 7); return 0; }
    """))
    added = _studio(installed, home, "program", "add", "demo", "hello", "--source", "hello.c")
    assert added.returncode == 0, added.stderr
    compiled = _studio(installed, home, "compile", "demo")
    assert compiled.returncode == 0, compiled.stderr
    booted = _studio(installed, home, "boot", "demo", "--headless", "--run", "hello",
                     "--expect", "hello from the installed wheel 42", "--timeout", "120")
    assert booted.returncode == 0, booted.stdout + booted.stderr
    assert not (home / ".cache" / "image-studio" / "kernel").exists()  # no kernel was built


def test_without_wasm2c_a_compile_names_the_package(installed, alpine_mirror, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert _studio(installed, home, "new", "demo", "--base", "alpine:3.19", "--mirror",
                   alpine_mirror.as_uri()).returncode == 0
    (home / "hello.c").write_text("int main(void) { return 0; }\n")
    assert _studio(installed, home, "program", "add", "demo", "hello", "--source", "hello.c").returncode == 0
    no_wabt = str(installed / "bin")  # zig comes from the venv; wasm2c is not on this PATH
    compiled = _studio(installed, home, "compile", "demo", path=no_wabt)
    assert compiled.returncode != 0
    said = compiled.stdout + compiled.stderr
    assert "apt install wabt" in said, said
    assert "Traceback" not in said


def _can_hide_a_library() -> bool:
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_hide_a_library(), reason="needs root for a private mount namespace (unshare -m)")
def test_a_missing_qt_library_names_the_package_not_a_traceback(installed, alpine_mirror, tmp_path):
    """libEGL hidden for real (bound over by an empty file in a private mount namespace)."""
    import ctypes.util

    egl = subprocess.run(["sh", "-c", "ldconfig -p | grep -o '/.*libEGL.so.1$' | head -n1"],
                         capture_output=True, text=True).stdout.strip()
    assert egl and ctypes.util.find_library("EGL"), "libEGL (Debian's libegl1) is installed by set-up"
    home = tmp_path / "home"
    home.mkdir()
    assert _studio(installed, home, "new", "demo", "--base", "alpine:3.19", "--mirror",
                   alpine_mirror.as_uri()).returncode == 0
    for command in (["gui"], ["boot", "demo", "--headless"]):
        script = f"mount --bind /dev/null {egl} && exec {installed / 'bin' / 'studio'} {' '.join(command)}"
        done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                              env=_clean_env(home), cwd=home, timeout=60)
        said = done.stdout + done.stderr
        assert done.returncode == 3, said
        assert "sudo apt install libegl1." in said and "Traceback" not in said, said
