"""Boot-loop benchmark: click-to-prompt for a cold boot, a snapshot boot and a reboot after a
one-file edit (all measured from "Boot" to a shell that answers, build included), then export
time and bundle size by kind of file.

    .venv/bin/python bench/bench_loop.py [--runs 5] [--alpine PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from stats import fmt  # noqa: E402 (bench/ is on sys.path when a script runs)

DEFAULT_ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--alpine", type=Path, default=DEFAULT_ALPINE)
    args = parser.parse_args()

    from studio import kernel

    os.environ["STUDIO_KERNEL"] = str(kernel.find_kernel())
    from studio import initrd

    os.environ["STUDIO_INITRD"] = str(initrd.find_initrd())
    scratch = Path(tempfile.mkdtemp(prefix="studio-bench-loop-"))
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")

    from studio.boot.headless import close_session, open_session
    from studio.boot.qtapp import wait_for
    from studio.boot.snapshots import SnapshotStore
    from studio.build import fsjson
    from studio.build.export import export
    from studio.image import base
    from studio.image.project import Project

    try:
        project = Project.create(scratch / "loop", base.local_source(args.alpine))
        session, view, failure = open_session()
        assert session.page_ready, failure

        def click_to_prompt(snapshots: SnapshotStore | None) -> tuple[float, str]:
            session.snapshots = snapshots
            t0 = time.perf_counter()
            result = fsjson.build(project)
            session.boot(result.out, fsjson.boot_config(project))
            assert wait_for(lambda: "prompt" in session.console.milestones, 120), session.console.text[-800:]
            seconds = time.perf_counter() - t0
            assert wait_for(lambda: not session.saving_states, 30)
            session.stop()
            return seconds, session.boot_kind

        cold, snap, edited = [], [], []
        store_dir = scratch / "snapshots"
        for i in range(args.runs):
            cold.append(click_to_prompt(None)[0])
            shutil.rmtree(store_dir, ignore_errors=True)
            store = SnapshotStore(store_dir)
            click_to_prompt(store)  # saves the state
            seconds, kind = click_to_prompt(store)
            assert kind == "snapshot"
            snap.append(seconds)
            project.write_file("/etc/motd", f"edit {i} {time.time()}\n")
            seconds, kind = click_to_prompt(store)
            assert kind == "cold"
            edited.append(seconds)
        print(f"click to prompt, cold boot:               {fmt(cold)}")
        print(f"click to prompt, snapshot boot:           {fmt(snap)}   (target <= 0.5 s)")
        print(f"click to prompt, after a one-file edit:   {fmt(edited)}   "
              f"(target <= cold + 0.1 s: {statistics.median(edited) - statistics.median(cold):+.3f} s)")
        close_session(session, view)

        fresh = Project.create(scratch / "base", base.local_source(args.alpine))
        exports_cold, exports_warm = [], []
        report = None
        for i in range(3):
            shutil.rmtree(scratch / "cache" / "zstd19", ignore_errors=True)
            report = export(fresh, scratch / f"site-cold-{i}")
            exports_cold.append(report.seconds)
            exports_warm.append(export(fresh, scratch / f"site-warm-{i}").seconds)
        print(f"export of the Alpine base, cold:          {fmt(exports_cold)}   (target <= 3 s)")
        print(f"export again (compressed blobs cached):   {fmt(exports_warm)}")
        print(f"file blobs: {report.sizes['file blobs'] / 1e6:.2f} MB (target <= 2.9 MB); the whole bundle:")
        print(report.table())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
