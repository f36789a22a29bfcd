"""Noticing changes other programs make to a project's overlay (an editor, git checkout), with
watchdog. Events arrive on watchdog's thread; a Qt signal carries them to the GUI thread,
where a short timer folds a burst of events into one reload."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from studio.image.project import BUILD_DIR, META_FILE, OVERLAY_DIR


class DiskWatcher(QObject):
    changed = Signal()  # debounced, in the GUI thread
    _raw = Signal()

    def __init__(self, root: Path, parent: QObject | None = None, delay_ms: int = 300):
        super().__init__(parent)
        self.root = Path(root).resolve()
        self.paused = False
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self._fire)
        self._raw.connect(self._timer.start)
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if any(watcher.concerns(Path(p)) for p in (event.src_path, getattr(event, "dest_path", ""))
                       if p):
                    watcher._raw.emit()

        # The overlay recursively, the project folder itself only for overlay.toml: never the
        # build output or the .studio scratch space, which hold thousands of files.
        overlay = self.root / OVERLAY_DIR
        overlay.mkdir(exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.root), recursive=False)
        self._observer.schedule(Handler(), str(overlay), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def concerns(self, path: Path) -> bool:
        try:
            relative = path.resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        parts = relative.parts
        return bool(parts) and (parts[0] == OVERLAY_DIR or parts == (META_FILE,)) and parts[0] != BUILD_DIR

    def _fire(self) -> None:
        if not self.paused:
            self.changed.emit()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
