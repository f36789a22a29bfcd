"""Boot to the shell prompt four ways, alternated in one run (the page kept loaded, as Boot and
Reboot with Changes do in the window):

  cold          a new machine: BIOS, kernel, the studio's init, the image's init (no state saved)
  kernel state  after an edit: the saved kernel state restored, today's image attached, its init run
  prompt state  an unchanged image: the machine restored at its prompt
  QEMU TCG      the same kernel and root filesystem under qemu-system-i386 -accel tcg, cold

    .venv/bin/python bench/bench_boot_states.py [--rounds 5]

Targets: kernel state <= 0.35x cold and <= 0.5x QEMU; prompt state <= 0.5 s; cold <= 1.0x QEMU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from stats import fmt  # noqa: E402

ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from studio import initrd, kernel

    os.environ.setdefault("STUDIO_KERNEL", str(kernel.find_kernel()))
    os.environ.setdefault("STUDIO_INITRD", str(initrd.find_initrd()))
    scratch = Path(tempfile.mkdtemp(prefix="bench-states-"))
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")
    try:
        run(scratch, args.rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, rounds: int) -> None:
    from bench_foundation import bench_qemu_boots
    from studio.boot.headless import close_session, open_session
    from studio.boot.qtapp import wait_for
    from studio.boot.snapshots import SnapshotStore
    from studio.build import fsjson
    from studio.image import base
    from studio.image.project import Project

    project = Project.create(scratch / "states", base.local_source(ALPINE))
    session, view, failure = open_session()
    assert session.page_ready, failure or session.page_log
    store = SnapshotStore()
    times: dict[str, list[float]] = {"cold": [], "kernel state": [], "prompt state": [], "QEMU TCG": []}

    def boot(snapshots) -> tuple[str, float]:
        session.snapshots = snapshots
        session.boot(project.build_dir, fsjson.boot_config(project))
        assert wait_for(lambda: "prompt" in session.console.milestones or failure, 90), session.console.text[-1500:]
        kind, seconds = session.boot_kind, session.console.milestones["prompt"]
        wait_for(lambda: not session.saving_states, 30)  # a state still travelling would slow the next
        session.stop()
        return kind, seconds

    fsjson.build(project)
    boot(store)  # the kernel state of this machine and the image's prompt state
    try:
        for round_number in range(rounds):
            fsjson.build(project)
            kind, seconds = boot(None)
            times["cold"].append(seconds)
            project.write_file("/root/edited", f"round {round_number}\n")  # the image changed
            project.save_meta()
            fsjson.build(project)
            kind, seconds = boot(store)
            assert kind == "kernel", kind
            times["kernel state"].append(seconds)
            kind, seconds = boot(store)
            assert kind == "snapshot", kind
            times["prompt state"].append(seconds)
            times["QEMU TCG"] += bench_qemu_boots(project, 1)[1]
    finally:
        close_session(session, view)
    for label, values in times.items():
        print(f"{label:<13} to the prompt: {fmt(values)}")
    median = {k: statistics.median(v) for k, v in times.items() if v}
    if "QEMU TCG" in median:
        print(f"kernel state / cold {median['kernel state'] / median['cold']:.2f}x, / QEMU "
              f"{median['kernel state'] / median['QEMU TCG']:.2f}x; cold / QEMU {median['cold'] / median['QEMU TCG']:.2f}x; "
              f"prompt state / QEMU {median['prompt state'] / median['QEMU TCG']:.2f}x")


if __name__ == "__main__":
    main()
