"""Editor benchmark: opening a 20,000-entry image until the tree is usable, the longest UI stall
while expanding and scrolling a 5,000-entry folder, undo of a 5,000-file drop, and memory.

    .venv/bin/python bench/bench_editor.py [--runs 5] [--alpine PATH]

Runs offscreen (QT_QPA_PLATFORM=offscreen). A stall is the longest gap between ticks of a 1 ms
timer while the operation runs, i.e. how long the event loop could not answer the user.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from stats import fmt  # noqa: E402 (bench/ is on sys.path when a script runs)

DEFAULT_ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class StallMeter:
    """Longest gap between ticks of a fast timer: how long the event loop was blocked."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.longest = 0.0

    def _tick(self):
        now = time.perf_counter()
        if self.last:
            self.longest = max(self.longest, now - self.last)
        self.last = now

    def measure(self, work) -> float:
        from PySide6.QtWidgets import QApplication

        self.longest, self.last = 0.0, 0.0
        self.timer.start()
        QApplication.processEvents()
        work()
        for _ in range(5):
            QApplication.processEvents()
        self._tick()
        self.timer.stop()
        return self.longest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--alpine", type=Path, default=DEFAULT_ALPINE)
    args = parser.parse_args()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    scratch = Path(tempfile.mkdtemp(prefix="studio-bench-editor-"))
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")

    from studio.boot.qtapp import application
    app = application(headless=True)
    from PySide6.QtWidgets import QApplication

    from bench_foundation import make_synthetic
    from studio.image import base, edits, inject
    from studio.image.document import ImageDocument
    from studio.image.project import Project
    from studio.ui.image_editor import ImageEditor
    from studio.ui.tree_panel import TreePanel

    try:
        project = Project.create(scratch / "big", base.local_source(args.alpine))
        make_synthetic(project, 15_000)
        big = project.overlay_dir / "srv" / "big"
        big.mkdir(parents=True)
        for i in range(5_000):
            (big / f"entry{i:05d}").write_bytes(b"x")
        drop_source = scratch / "drop"
        drop_source.mkdir()
        for i in range(5_000):
            (drop_source / f"file{i:05d}").write_bytes(b"dropped")
        rss_before = rss_mb()

        opened, expand_stall, scroll_stall, undo_stall, drop_seconds, apply_stall = [], [], [], [], [], []
        entries = 0
        meter = StallMeter()
        for _ in range(args.runs):
            t0 = time.perf_counter()
            doc = ImageDocument.open(project.root)
            editor = ImageEditor(doc)
            panel = TreePanel(editor)
            panel.resize(900, 700)
            panel.show()
            QApplication.processEvents()
            panel.tree.viewport().repaint()
            opened.append(time.perf_counter() - t0)
            entries = len(doc.state.entries)

            srv = panel.model.index_of("/srv")
            panel.tree.expand(srv)
            index = panel.model.index_of("/srv/big")
            expand_stall.append(meter.measure(lambda: (panel.tree.expand(index), panel.tree.viewport().repaint())))

            def scroll():
                bar = panel.tree.verticalScrollBar()
                for value in range(0, bar.maximum(), max(1, bar.pageStep())):
                    bar.setValue(value)
                    panel.tree.viewport().repaint()
                    QApplication.processEvents()
            scroll_stall.append(meter.measure(scroll))

            t1 = time.perf_counter()
            dropped = inject.collect(doc, [drop_source], "/opt")  # a background task in the GUI
            drop_seconds.append(time.perf_counter() - t1)
            apply_stall.append(meter.measure(lambda: editor.perform(edits.add_entries(doc.state, dropped, "drop"))))
            undo_stall.append(meter.measure(editor.undo_stack.undo))
            panel.close()
            panel.deleteLater()
            editor.model.detach()
            QApplication.processEvents()
        print(f"image: {entries} entries (Alpine base + 20,000 overlay files; one folder of 5,000)")
        print(f"open until the tree is usable:      {fmt(opened)}   (target <= 1 s)")
        print(f"longest stall expanding 5,000 rows:  {fmt(expand_stall, 'ms', 1000)}   (target <= 50 ms)")
        print(f"longest stall scrolling them:        {fmt(scroll_stall, 'ms', 1000)}   (target <= 50 ms)")
        print(f"drop of 5,000 files, copying:        {fmt(drop_seconds)}   (in the background, with progress)")
        print(f"longest stall applying that drop:    {fmt(apply_stall, 'ms', 1000)}")
        print(f"longest stall undoing that drop:     {fmt(undo_stall, 'ms', 1000)}")
        print(f"memory: {rss_mb():.0f} MB resident after {args.runs} opens ({rss_before:.0f} MB before opening)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
