"""A boot session: the v86 page in QtWebEngine, the bridge to it, and the machine's state.

The GUI shows `session.page` in its boot pane; the headless runner shows it in an
offscreen view. Both drive the same page through the same calls.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import shiboken6

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineSettings

from studio import assets
from studio.boot import snapshots
from studio.boot.console import DEFAULT_PROMPT, Console
from studio.boot.snapshots import SnapshotStore
from studio.boot.scheme import ORIGIN, SCHEME, StudioSchemeHandler

PAGE_URL = ORIGIN + "/index.html"

IDLE, LOADING, BOOTING, RUNNING, STOPPED, FAILED = "idle", "loading", "booting", "running", "stopped", "failed"


class Bridge(QObject):
    """The one object the page talks to (registered as `bridge` on the QWebChannel)."""

    eventReceived = Signal(dict)
    serialReceived = Signal(str, float)
    stateReceived = Signal(str, bytes)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._chunks: dict[str, list] = {}

    @Slot(str)
    def event(self, payload: str) -> None:
        self.eventReceived.emit(json.loads(payload))

    @Slot(str, float)
    def serial(self, text: str, millis: float) -> None:
        self.serialReceived.emit(text, millis / 1000.0)

    @Slot(str, int, int, str)
    def stateChunk(self, key: str, index: int, count: int, data: str) -> None:  # noqa: N802 (JS name)
        """A saved machine state arrives in base64 pieces (PySide6's requestBody() crashes, so the
        state comes over the channel rather than as a POST)."""
        parts = self._chunks.setdefault(key, [None] * count)
        parts[index] = base64.b64decode(data)
        if all(part is not None for part in parts):
            del self._chunks[key]
            self.stateReceived.emit(key, b"".join(parts))


class _Page(QWebEnginePage):
    def __init__(self, profile, parent, on_console):
        super().__init__(profile, parent)
        self._on_console = on_console

    def javaScriptConsoleMessage(self, level, message, line, source):  # noqa: N802 (Qt override)
        self._on_console(f"{source}:{line}: {message}")


class BootSession(QObject):
    """One emulated machine. Signals report progress, milestones, output and state."""

    progress = Signal(str, float)  # message, fraction (negative: unknown)
    milestone = Signal(str, float)  # name, seconds since boot start
    output = Signal(str)  # serial console text, as it arrives
    stateChanged = Signal(str)
    pageReady = Signal()
    failed = Signal(str)
    snapshotSaved = Signal(str, int)  # key, compressed size
    injected = Signal(int, list)  # how many items, which paths existed already
    pulled = Signal(str, list)  # path, items: {path, kind, mode, target, data (bytes)}

    def __init__(self, parent: QObject | None = None, prompt: str = DEFAULT_PROMPT):
        super().__init__(parent)
        self.state = IDLE
        self.console = Console(prompt=prompt)
        self.page_ready = False
        self.page_log: list[str] = []
        # Off the record: nothing persists between runs. Not a Qt child of the session, because the
        # page must be deleted before its profile (close() does that in order).
        self.profile = QWebEngineProfile()
        self.handler = StudioSchemeHandler(self)
        self.snapshots: SnapshotStore | None = None  # None: never restore or save states
        self.boot_kind = ""  # "snapshot" or "cold"
        self.cold_reason = ""
        self._snapshot_to_save: tuple[str, dict, str] | None = None
        self.snapshot_saved = False
        self.profile.installUrlSchemeHandler(SCHEME, self.handler)
        self.page = _Page(self.profile, None, self.page_log.append)
        settings = self.page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard, True)
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanPaste, True)
        self.bridge = Bridge(self)
        self.bridge.eventReceived.connect(self._on_event)
        self.bridge.serialReceived.connect(self._on_serial)
        self.bridge.stateReceived.connect(self._store_snapshot)
        self.channel = QWebChannel(self)
        self.channel.registerObject("bridge", self.bridge)
        self.page.setWebChannel(self.channel)
        self.page.loadFinished.connect(self._on_load_finished)

    # -- commands ------------------------------------------------------------
    def load(self) -> None:
        """Load the boot page (once); pageReady fires when its bridge is connected,
        `failed` says what is missing when the machine lacks a part."""
        problems = assets.missing_assets()
        if problems:
            self._fail("Cannot boot: " + "; ".join(problems))
            return
        self._set_state(LOADING)
        self.page.load(QUrl(PAGE_URL + "?embedded=1"))

    def boot(self, build_dir: Path, boot_config: dict) -> None:
        """Boot the build in `build_dir` with `boot_config` (see studio.build.fsjson.boot_config):
        from a saved state when one matches exactly, else cold (saving a state at the prompt)."""
        if not self.page_ready:
            raise RuntimeError("boot() before the page is ready; wait for pageReady")
        build_dir = Path(build_dir)
        self.handler.build_dir = build_dir
        self.console.reset()
        self.snapshot_saved = False
        self._snapshot_to_save = None
        config = dict(boot_config)
        self.boot_kind, self.cold_reason = "cold", "snapshots are off"
        if self.snapshots is not None:
            parts = snapshots.components(build_dir, boot_config)
            key = snapshots.key_of(parts)
            saved = self.snapshots.get(key)
            state = build_dir / "state.bin"
            state.unlink(missing_ok=True)
            if saved is not None:
                try:
                    os.link(saved, state)  # states are written once and never changed
                except OSError:
                    shutil.copyfile(saved, state)
                config["initial_state"] = "build/state.bin"
                self.boot_kind, self.cold_reason = "snapshot", ""
            else:
                self.cold_reason = self.snapshots.why_cold(boot_config.get("name", ""), parts)
                self._snapshot_to_save = (key, parts, boot_config.get("name", ""))
        self._set_state(BOOTING)
        self.progress.emit("Restoring the saved machine" if self.boot_kind == "snapshot" else "Starting the machine", 0.0)
        self.page.runJavaScript(f"studio.boot({json.dumps(config)})")

    def stop(self) -> None:
        if self.state in (BOOTING, RUNNING):
            self.page.runJavaScript("studio.stop()")
            self._set_state(STOPPED)

    @property
    def saving_snapshot(self) -> bool:
        """A cold boot that will save (or is saving) the machine state at its prompt."""
        return self._snapshot_to_save is not None

    def close(self) -> None:
        """Stop the machine and release the page, then its profile. Safe to call twice."""
        if self.page is None:
            return
        self.stop()
        shiboken6.delete(self.page)
        self.page = None
        shiboken6.delete(self.profile)

    def type(self, text: str) -> None:
        """Send keystrokes to the guest's serial console."""
        self.page.runJavaScript(f"studio.type({json.dumps(text)})")

    # -- the running machine's files ------------------------------------------------------
    def inject(self, items: list[dict]) -> None:
        """Write files into the running guest. items: {path, kind ('file'|'dir'), mode, data (bytes)};
        `injected` reports back, with the paths that existed (see refresh_guest_cache)."""
        payload = [{**item, "data": base64.b64encode(item.get("data", b"")).decode()} for item in items]
        self.page.runJavaScript(f"studio.inject({json.dumps(payload)})")

    def refresh_guest_cache(self) -> None:
        """The guest mounts its root with cache=loose: it never rereads a file it has cached, so
        after replacing files it already knew, its caches are dropped (typed at its shell)."""
        self.type("sync; echo 3 > /proc/sys/vm/drop_caches\n")

    def pull(self, path: str, sync_first: bool = True) -> None:
        """Read `path` (a file or a folder) from the running guest; `pulled` delivers it. The guest
        is told to `sync` first, so what it wrote but still caches reaches its filesystem."""
        def read() -> None:
            self.page.runJavaScript(f"studio.pull({json.dumps(path)})")

        if not sync_first:
            read()
            return
        mark = len(self.console.text)
        self.type("sync\n")
        self._after_prompt(mark, read)

    def _after_prompt(self, mark: int, then) -> None:
        """Call `then` once the shell prints its prompt after console offset `mark`."""
        def check(_text: str) -> None:
            if self.console.at_prompt(mark):
                self.output.disconnect(check)
                then()

        self.output.connect(check)

    def copy(self) -> None:
        """Copy the terminal's selection to the clipboard."""
        self.page.runJavaScript(
            "studio.selection()", 0, lambda text: text and QGuiApplication.clipboard().setText(text))

    def paste(self) -> None:
        """Paste the clipboard into the terminal (as typed input; bracketed when the guest asks)."""
        text = QGuiApplication.clipboard().text()
        if text:
            self.page.runJavaScript(f"studio.paste({json.dumps(text)})")

    def focus_terminal(self) -> None:
        self.page.runJavaScript("studio.focus()")

    # -- page events ----------------------------------------------------------
    def _on_load_finished(self, ok: bool) -> None:
        if not ok:
            self._fail(f"the boot page {PAGE_URL} did not load; see the page log:\n" + "\n".join(self.page_log[-10:]))

    def _on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "page-ready":
            self.page_ready = True
            self._set_state(IDLE)
            self.pageReady.emit()
        elif kind == "download":
            total = event.get("total") or 0
            fraction = event["loaded"] / total if total else -1.0
            self.progress.emit(f"Loading {event.get('file', '')}", fraction)
        elif kind == "9p" and self.state == BOOTING:
            self.progress.emit(f"Reading files over 9p ({event['files']} so far)", -1.0)
        elif kind == "milestone":
            self.console.milestones[event["name"]] = event["t"] / 1000.0
            self.milestone.emit(event["name"], event["t"] / 1000.0)
        elif kind == "error":
            self._fail(event.get("message", "the machine failed"))
        elif kind == "injected":
            self.injected.emit(event["count"], event["existed"])
        elif kind == "pulled":
            for item in event["items"]:
                item["data"] = base64.b64decode(item.get("data", ""))
            self.pulled.emit(event["path"], event["items"])
        elif kind == "copy":
            if event.get("text"):
                QGuiApplication.clipboard().setText(event["text"])
        elif kind == "paste-request":
            self.paste()

    def _on_serial(self, text: str, seconds: float) -> None:
        if self.state not in (BOOTING, RUNNING):
            return
        for name in self.console.feed(text, seconds):
            self.milestone.emit(name, seconds)
            if name == "prompt":
                self._set_state(RUNNING)
                self.progress.emit("Shell ready", 1.0)
                if self._snapshot_to_save is not None:
                    self.page.runJavaScript(f"studio.saveState('{self._snapshot_to_save[0]}')")
        self.output.emit(text)

    def _store_snapshot(self, key: str, raw: bytes) -> None:
        if self.snapshots is None or self._snapshot_to_save is None or self._snapshot_to_save[0] != key:
            return
        _, parts, name = self._snapshot_to_save
        self._snapshot_to_save = None
        saved = self.snapshots.put(key, raw, name, parts)
        self.snapshot_saved = True
        self.snapshotSaved.emit(key, saved.size)

    def _fail(self, message: str) -> None:
        self._set_state(FAILED)
        self.failed.emit(message)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)
