"""Foundation benchmark: build times and boot times, medians of several runs.

    .venv/bin/python bench/bench_foundation.py [--runs 5] [--boots 5] [--alpine PATH]

Prints:
  - cold and incremental (one-file edit) build of the Alpine base and of a synthetic
    20,000-file tree;
  - boot to the first kernel line and to the shell prompt in the Qt pane (offscreen);
  - side by side, the same kernel and rootfs under `qemu-system-i386 -accel tcg` over virtio-9p.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from stats import fmt  # noqa: E402 (bench/ is on sys.path when a script runs)

DEFAULT_ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- builds -------------------------------------------------------------------------
def bench_builds(project, runs: int, label: str, edit_path: str) -> None:
    from studio.build import fsjson

    cold, warm, edit = [], [], []
    for i in range(runs):
        out = Path(tempfile.mkdtemp(prefix="bench-out-"))
        try:
            cold.append(fsjson.build(project, out).seconds)
            warm.append(fsjson.build(project, out).seconds)
            project.write_file(edit_path, f"edit {i} {time.time()}\n")
            result = fsjson.build(project, out)
            assert result.hashed == 1, result.summary()
            edit.append(result.seconds)
        finally:
            shutil.rmtree(out)
    print(f"{label}: cold build          {fmt(cold)}")
    print(f"{label}: no-change rebuild   {fmt(warm)}")
    print(f"{label}: one-file-edit build {fmt(edit)}")


def make_synthetic(project, files: int = 20_000) -> None:
    """An overlay of `files` small files in 200 folders (plus the Alpine base)."""
    root = project.overlay_dir / "srv" / "synthetic"
    per_dir = 100
    for d in range(files // per_dir):
        folder = root / f"d{d:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(per_dir):
            (folder / f"f{f:03d}.txt").write_bytes(f"file {d}/{f}\n".encode() * (1 + f % 7))


# -- boots --------------------------------------------------------------------------
def bench_qt_boots(project, boots: int) -> tuple[list[float], list[float]]:
    """Boots in one pane, as Boot / Reboot do in the window: the page stays loaded, each boot
    makes a new machine. Times run from the boot call to the first kernel line and the prompt."""
    from studio.boot.headless import close_session, open_session
    from studio.boot.qtapp import wait_for
    from studio.build import fsjson

    fsjson.build(project)
    first, prompt = [], []
    session, view, failure = open_session()
    assert session.page_ready, failure or session.page_log
    for _ in range(boots):
        session.boot(project.build_dir, fsjson.boot_config(project))
        ok = wait_for(lambda: "prompt" in session.console.milestones, 120)
        assert ok, session.console.text[-2000:]
        first.append(session.console.milestones["first-kernel-line"])
        prompt.append(session.console.milestones["prompt"])
        session.stop()
    close_session(session, view)
    return first, prompt


def bench_qemu_boots(project, boots: int) -> tuple[list[float], list[float]]:
    from studio import kernel
    from studio.build.materialize import materialize

    qemu = shutil.which("qemu-system-i386")
    if not qemu:
        print("qemu-system-i386 not found (apt install qemu-system-x86): skipping the comparison")
        return [], []
    rootfs = Path(tempfile.mkdtemp(prefix="bench-rootfs-")) / "root"
    materialize(project, rootfs)
    cmdline = kernel.CMDLINE + (" " + project.boot.kernel_args if project.boot.kernel_args else "")
    first, prompt = [], []
    try:
        for _ in range(boots):
            f, p = _one_qemu_boot(qemu, kernel.find_kernel(), cmdline, rootfs, project.boot.memory_mb)
            first.append(f)
            prompt.append(p)
    finally:
        shutil.rmtree(rootfs.parent)
    return first, prompt


def _one_qemu_boot(qemu: str, bzimage: Path, cmdline: str, rootfs: Path, memory_mb: int) -> tuple[float, float]:
    cmd = [
        qemu, "-accel", "tcg", "-m", str(memory_mb), "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", "stdio", "-monitor", "none", "-kernel", str(bzimage), "-append", cmdline,
        "-fsdev", f"local,id=root,path={rootfs},security_model=none",
        "-device", "virtio-9p-pci,fsdev=root,mount_tag=host9p",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    times: dict[str, float] = {}
    seen = bytearray()
    done = threading.Event()

    def reader():
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(4096):
            now = time.perf_counter() - start
            seen.extend(chunk)
            times.setdefault("first", now)
            tail = re.sub(rb"\x1b\[[0-9;]*[a-zA-Z]|\r", b"", bytes(seen[-200:])).rsplit(b"\n", 1)[-1]
            if re.search(rb"[#$] $", tail):
                times["prompt"] = now
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    ok = done.wait(120)
    proc.kill()
    proc.wait()
    if not ok:
        raise RuntimeError("QEMU did not reach a prompt:\n" + seen[-2000:].decode(errors="replace"))
    return times["first"], times["prompt"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="build runs per measurement")
    parser.add_argument("--boots", type=int, default=5, help="boots per emulator")
    parser.add_argument("--alpine", type=Path, default=DEFAULT_ALPINE)
    parser.add_argument("--skip-boot", action="store_true")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    kernel_path = None
    try:
        from studio import kernel

        from studio import initrd

        kernel_path = kernel.find_kernel()
        os.environ["STUDIO_INITRD"] = str(initrd.find_initrd())
    except Exception as err:  # noqa: BLE001 (report and go on with the build numbers)
        print(f"no kernel: {err}")
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")
    if kernel_path:
        os.environ["STUDIO_KERNEL"] = str(kernel_path)

    from studio.image import base
    from studio.image.project import Project

    try:
        alpine = Project.create(scratch / "alpine", base.local_source(args.alpine))
        print(f"machine: {os.cpu_count()} cores; runs={args.runs}, boots={args.boots}")
        bench_builds(alpine, args.runs, "alpine base   ", "/etc/motd")
        synthetic = Project.create(scratch / "synthetic", base.local_source(args.alpine))
        make_synthetic(synthetic)
        bench_builds(synthetic, max(3, args.runs // 2), "20,000 files  ", "/srv/synthetic/d000/f000.txt")
        if not args.skip_boot and kernel_path:
            alpine.write_file("/etc/motd", "Welcome\n")
            qt_first, qt_prompt = bench_qt_boots(alpine, args.boots)
            q_first, q_prompt = bench_qemu_boots(alpine, args.boots)
            print(f"v86 in Qt pane: first kernel line {fmt(qt_first)}")
            print(f"v86 in Qt pane: shell prompt      {fmt(qt_prompt)}")
            print(f"QEMU TCG 9p:    first kernel line {fmt(q_first)}")
            print(f"QEMU TCG 9p:    shell prompt      {fmt(q_prompt)}")
            if q_prompt and qt_prompt:
                print(f"prompt ratio v86/QEMU: {median(qt_prompt) / median(q_prompt):.2f}x (target <= 1.5x)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
