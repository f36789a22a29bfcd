"""The guest kernel: a small i386 bzImage built once from Debian's linux-source.

The build is cached under the user's cache directory, keyed by the kernel
source package version, the config fragment and this recipe, so a changed
fragment or a source update builds a new kernel and an unchanged one never
rebuilds.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from studio import paths

SOURCE_PACKAGE = "linux-source-6.1"
SOURCE_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
FRAGMENT = paths.PACKAGING_DIR / "kernel" / "studio.config"
RECIPE_VERSION = "1"  # bump when the build steps below change their output

# The kernel command line every studio boot uses (ARCHITECTURE.md: measured to boot Alpine).
# loglevel=6 keeps notices and warnings on the console ("Linux version" comes first) and leaves
# the ~140 informational lines to dmesg: pushing them through the emulated UART cost v86 about
# 0.2 s of every boot. `kernel_args = "loglevel=7"` in studio.toml shows them all again.
CMDLINE = (
    "console=ttyS0,115200 loglevel=6 tsc=reliable mitigations=off random.trust_cpu=on "
    "root=host9p rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose rw"
)


class KernelError(RuntimeError):
    """The kernel is missing or could not be built; the message says what to do."""


@dataclass(frozen=True)
class KernelBuild:
    key: str
    directory: Path

    @property
    def bzimage(self) -> Path:
        return self.directory / "bzImage"

    @property
    def config(self) -> Path:
        return self.directory / "config"


@functools.lru_cache(maxsize=1)
def source_version() -> str:
    """The installed linux-source package version, or raise with how to install it. Asked once
    per process: every boot and every kernel request looks the cached kernel up by it."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", SOURCE_PACKAGE],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    if not out or not SOURCE_TARBALL.exists():
        raise KernelError(
            f"{SOURCE_TARBALL} is missing: install Debian's {SOURCE_PACKAGE} package "
            "(packaging/setup.sh does this) to build the guest kernel."
        )
    return out


def build_key(version: str | None = None) -> str:
    digest = hashlib.sha256()
    digest.update((version or source_version()).encode())
    digest.update(FRAGMENT.read_bytes())
    digest.update(RECIPE_VERSION.encode())
    return digest.hexdigest()[:16]


def cached_build(version: str | None = None) -> KernelBuild:
    key = build_key(version)
    return KernelBuild(key, paths.cache_dir() / "kernel" / key)


def find_kernel() -> Path:
    """The bzImage to boot: $STUDIO_KERNEL, else the cached build; raise if neither exists."""
    override = os.environ.get("STUDIO_KERNEL")
    if override:
        if not Path(override).is_file():
            raise KernelError(f"STUDIO_KERNEL={override} is not a file.")
        return Path(override)
    if paths.BUNDLED_KERNEL.is_file():  # an installed wheel carries its kernel
        return paths.BUNDLED_KERNEL
    build = cached_build()
    if not build.bzimage.is_file():
        raise KernelError(
            "The guest kernel has not been built yet: run `studio kernel` "
            "(or packaging/setup.sh), which builds it once in a few minutes."
        )
    return build.bzimage


def _wanted_options(fragment: Path) -> dict[str, str]:
    """Options the fragment sets, as name -> value ('n' for 'is not set')."""
    wanted = {}
    for line in fragment.read_text().splitlines():
        if m := re.match(r"^(CONFIG_\w+)=(.*)$", line):
            wanted[m[1]] = m[2]
        elif m := re.match(r"^# (CONFIG_\w+) is not set", line):
            wanted[m[1]] = "n"
    return wanted


def check_config(config_text: str, fragment: Path = FRAGMENT) -> list[str]:
    """Fragment options the merged config lost (their dependencies were off)."""
    actual = {}
    for line in config_text.splitlines():
        if m := re.match(r"^(CONFIG_\w+)=(.*)$", line):
            actual[m[1]] = m[2]
    missing = []
    for name, value in _wanted_options(fragment).items():
        got = actual.get(name, "n")
        if got != value:
            missing.append(f"{name}: wanted {value}, got {got}")
    return missing


Progress = Callable[[str, float], None]


def build(progress: Progress | None = None, jobs: int | None = None) -> KernelBuild:
    """Build the kernel unless the cached build exists. Returns the build."""
    report = progress or (lambda message, fraction: None)
    version = source_version()
    target = cached_build(version)
    if target.bzimage.is_file():
        report("kernel already built", 1.0)
        return target
    for tool in ("make", "gcc", "flex", "bison", "bc", "lz4"):
        if shutil.which(tool) is None:
            raise KernelError(f"`{tool}` is missing: packaging/setup.sh installs the kernel build tools.")
    jobs = jobs or os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="kernel-", dir=paths.cache_dir()))
    try:
        report(f"unpacking {SOURCE_TARBALL.name}", 0.0)
        _run(["tar", "-xf", str(SOURCE_TARBALL), "-C", str(work)], report, "unpacking")
        (src,) = [p for p in work.iterdir() if p.is_dir()]
        make = ["make", "-C", str(src), "ARCH=i386"]
        _run(make + ["tinyconfig"], report, "configuring")
        _run(["bash", str(src / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(src),
              str(src / ".config"), str(FRAGMENT)], report, "configuring")
        _run(make + ["olddefconfig"], report, "configuring")
        config_text = (src / ".config").read_text()
        lost = check_config(config_text)
        if lost:
            raise KernelError("The kernel config lost options of the fragment:\n  " + "\n  ".join(lost))
        _run(make + [f"-j{jobs}", "bzImage"], report, "compiling", expected_lines=900)
        staging = Path(tempfile.mkdtemp(prefix="staging-", dir=paths.cache_dir()))
        shutil.copy2(src / "arch/x86/boot/bzImage", staging / "bzImage")
        (staging / "config").write_text(config_text)
        shutil.copy2(src / "System.map", staging / "System.map")  # names for initcall_debug addresses
        (staging / "version").write_text(f"{SOURCE_PACKAGE} {version}\n")
        target.directory.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target.directory)  # atomic: a half-built kernel is never "cached"
        report("kernel built", 1.0)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], report: Progress, stage: str, expected_lines: int = 0) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    count = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        count += 1
        tail = (tail + [line.rstrip()])[-30:]
        if expected_lines:
            report(f"{stage}: {line.strip()}", min(0.99, count / expected_lines))
    if proc.wait() != 0:
        raise KernelError(f"kernel build failed while {stage}:\n" + "\n".join(tail))


def main() -> int:
    tty = sys.stdout.isatty()
    shown = [-1]

    def show(message: str, fraction: float) -> None:
        if tty:
            print(f"\r[{fraction * 100:5.1f}%] {message[:100]:<100}", end="", flush=True)
        elif int(fraction * 10) != shown[0]:  # logs get one line per tenth
            shown[0] = int(fraction * 10)
            print(f"[{fraction * 100:5.1f}%] {message[:100]}", flush=True)

    from studio import initrd
    from studio.errors import StudioError

    try:
        result = build(show)
        init = initrd.find_initrd()
    except (KernelError, StudioError) as err:
        print(f"\nerror: {err}", file=sys.stderr)
        return 1
    print(f"\nkernel: {result.bzimage} ({result.bzimage.stat().st_size // 1024} KiB)")
    print(f"initrd: {init} ({init.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
