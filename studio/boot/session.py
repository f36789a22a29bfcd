"""A boot session: the v86 page in QtWebEngine, the bridge to it, and the machine's state.

The GUI shows `session.page` in its boot pane; the headless runner shows it in an
offscreen view. Both drive the same page through the same calls.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import threading
import zlib
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
from studio.image.entry import normalize

PAGE_URL = ORIGIN + "/index.html"

# What the studio types at the guest's shell, and only at a prompt (see at_shell_prompt).
SYNC_COMMAND = "sync"
REFRESH_COMMAND = "sync; echo 3 > /proc/sys/vm/drop_caches"

IDLE, LOADING, BOOTING, RUNNING, STOPPED, FAILED = "idle", "loading", "booting", "running", "stopped", "failed"


STATE_PIECE = 1 << 21  # a saved state crosses the channel in pieces of this many bytes (before base64)
MAX_STATES_ON_THE_WAY = 2  # a boot's kernel state and its prompt state


class _StateTransfer:
    """The pieces of one requested machine state, checked as they arrive: the page says how many
    there are, but no more than the state of a machine this size can need, each at most one piece."""

    def __init__(self, request: str, max_bytes: int):
        self.request = request
        self.max_count = max(1, -(-max_bytes // STATE_PIECE))
        self.parts: list[bytes | None] = []

    def add(self, index: int, count: int, data: str) -> str:
        """Keep one piece; return what is wrong with it ('' when nothing)."""
        if not self.parts:
            if not 0 < count <= self.max_count:
                return f"a state in {count} pieces (at most {self.max_count} expected)"
            self.parts = [None] * count
        if count != len(self.parts) or not 0 <= index < count or self.parts[index] is not None:
            return f"state piece {index}/{count} does not fit the {len(self.parts)} announced"
        if len(data) > 4 * -(-STATE_PIECE // 3):  # checked before decoding it
            return f"state piece {index} is larger than {STATE_PIECE} bytes"
        try:
            part = base64.b64decode(data, validate=True)
        except ValueError:
            return f"state piece {index} is not base64"
        if len(part) > STATE_PIECE:
            return f"state piece {index} is larger than {STATE_PIECE} bytes"
        self.parts[index] = part
        return ""

    @property
    def complete(self) -> bool:
        return bool(self.parts) and all(part is not None for part in self.parts)


class Bridge(QObject):
    """The one object the page talks to (registered as `bridge` on the QWebChannel).

    Anything on the page can call it, so it trusts nothing it is told: events must be JSON
    objects, and a machine state is taken only for the request Python made (see expect_state).
    """

    eventReceived = Signal(dict)
    serialReceived = Signal(str, float)
    stateReceived = Signal(str, bytes)  # request id, the raw state

    def __init__(self, log, parent=None):
        super().__init__(parent)
        self._log = log
        # States on their way, by request: a boot's kernel state can still be arriving (on a loaded
        # machine) when the prompt's is taken, and each must reach Python whole.
        self._states: dict[str, _StateTransfer] = {}

    def expect_state(self, request: str, max_bytes: int) -> None:
        """Take the pieces of the state saved for `request` (beside at most one other unfinished
        state: the oldest goes first, so a page that never finishes cannot make them pile up)."""
        while len(self._states) >= MAX_STATES_ON_THE_WAY:
            self._states.pop(next(iter(self._states)))
        self._states[request] = _StateTransfer(request, max_bytes)

    def forget_state(self) -> None:
        """Drop the unfinished states and refuse their remaining pieces (a boot or a stop)."""
        self._states.clear()

    @Slot(str)
    def event(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            self._log(f"bridge: ignored a malformed event {payload[:200]!r}")
            return
        self.eventReceived.emit(event)

    @Slot(str, float)
    def serial(self, text: str, millis: float) -> None:
        self.serialReceived.emit(text, millis / 1000.0)

    @Slot(str, int, int, str)
    def stateChunk(self, request: str, index: int, count: int, data: str) -> None:  # noqa: N802 (JS name)
        """A saved machine state arrives in base64 pieces (PySide6's requestBody() crashes, so the
        state comes over the channel rather than as a POST)."""
        transfer = self._states.get(request)
        if transfer is None:
            self._log(f"bridge: ignored a state piece for a state nobody asked for ({request[:40]!r})")
            return
        problem = transfer.add(index, count, data)
        if problem:
            del self._states[request]
            self._log(f"bridge: dropped the machine state: {problem}")
            return
        if transfer.complete:
            del self._states[request]
            self.stateReceived.emit(request, b"".join(transfer.parts))


class _Page(QWebEnginePage):
    """The machine's page. It shows the studio's boot page and nothing else: it never navigates
    away (a link, a script, a drop) and opens no windows."""

    def __init__(self, profile, parent, on_console):
        super().__init__(profile, parent)
        self._on_console = on_console
        self._load_allowed: QUrl | None = None

    def allow_load(self, url: QUrl) -> None:
        """Let the next navigation, to `url` only, through: the load Python is about to start."""
        self._load_allowed = QUrl(url)

    def acceptNavigationRequest(self, url, kind, is_main_frame):  # noqa: N802 (Qt override)
        allowed, self._load_allowed = self._load_allowed, None
        if allowed is not None and is_main_frame and QUrl(url) == allowed:
            return True
        self._on_console(f"navigation to {QUrl(url).toString()[:200]} refused ({kind.name})")
        return False

    def createWindow(self, kind):  # noqa: N802 (Qt override)
        self._on_console(f"refused to open a {kind.name} window")
        return None

    def javaScriptConsoleMessage(self, level, message, line, source):  # noqa: N802 (Qt override)
        self._on_console(f"{source}:{line}: {message}")


class BootSession(QObject):
    """One emulated machine. Signals report progress, milestones, output and state.

    The guest is untrusted code and the page shows what it prints, so the session acts only on
    replies to requests it made itself: each request (inject, pull, save the state) carries a
    fresh random id that its one reply must name; other replies are logged in `page_log` and
    ignored. Copy and paste are Python's (QClipboard, asked by the view's shortcuts): the page
    has no clipboard access.
    """

    progress = Signal(str, float)  # message, fraction (negative: unknown)
    milestone = Signal(str, float)  # name, seconds since boot start
    output = Signal(str)  # serial console text, as it arrives
    stateChanged = Signal(str)
    pageReady = Signal()
    failed = Signal(str)
    snapshotSaved = Signal(str, int)  # key, compressed size
    injected = Signal(int, list)  # how many items, which paths existed already
    pulled = Signal(str, list)  # path, items: {path, kind, mode, target, data (bytes)}
    requestFailed = Signal(str)  # an inject or pull the page could not do: what went wrong
    networkActivity = Signal(str, int, int)  # a guest HTTP request answered: URL, status, bytes

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
        self.boot_kind = ""  # "snapshot" (at the prompt), "kernel" (the image's init runs fresh) or "cold"
        self.cold_reason = ""  # why no prompt state (and, for a cold boot, no kernel state) served
        self._snapshot_to_save: tuple[str, dict, str] | None = None
        self._kernel_to_save: tuple[str, dict, str] | None = None  # key, parts, request id
        self.kernel_state_saved = False
        self._keepers: list[threading.Thread] = []  # threads writing states to the cache
        self._state_request = ""  # the id of the state save asked for, if any
        self._state_max_bytes = 0
        self.snapshot_saved = False
        self._requests: dict[str, tuple[str, object]] = {}  # id -> (reply type, what was asked)
        self.profile.installUrlSchemeHandler(SCHEME, self.handler)
        self.page = _Page(self.profile, None, self.page_log.append)
        settings = self.page.settings()
        # The terminal needs no browser clipboard: copy and paste go through Python (copy(), paste()).
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanPaste, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanOpenWindows, False)  # and createWindow
        self.bridge = Bridge(self.page_log.append, self)
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
        url = QUrl(PAGE_URL + "?embedded=1")
        self.page.allow_load(url)
        self.page.load(url)

    def boot(self, build_dir: Path, boot_config: dict, network=None) -> None:
        """Boot the build in `build_dir` with `boot_config` (see studio.build.fsjson.boot_config):
        from a saved state when one matches exactly, else cold (saving a state at the prompt).
        `network` (studio.boot.guest_net.GuestNetwork) answers the guest's HTTP; None: it has
        no network card."""
        if not self.page_ready:
            raise RuntimeError("boot() before the page is ready; wait for pageReady")
        build_dir = Path(build_dir)
        self.handler.build_dir = build_dir
        self.handler.network = network
        if network is not None:
            network.activity = lambda url, status, size: self.networkActivity.emit(url, status, size)
        else:
            boot_config = {**boot_config, "network": "off"}
        self.console.reset()
        self._forget_requests()
        self.snapshot_saved = False
        self._snapshot_to_save = None
        config = dict(boot_config)
        # The largest state this machine can save: its memory, video memory and some device state.
        self._state_max_bytes = (int(config.get("memory_mb", 256)) + 2 + 62) << 20
        self.boot_kind, self.cold_reason = "cold", "snapshots are off"
        self._kernel_to_save = None
        self.kernel_state_saved = False
        if self.snapshots is not None:
            self._choose_state(build_dir, boot_config, config)
        self._set_state(BOOTING)
        self.progress.emit({"snapshot": "Restoring the saved machine", "kernel": "Restoring the saved kernel"}
                           .get(self.boot_kind, "Starting the machine"), 0.0)
        # A kernel state is given today's image at once (fs.json inlined: no round trip through
        # the scheme, which is busy serving the state).
        image = (build_dir / "fs.json").read_text() if config.get("kernel_state") else "null"
        self.page.runJavaScript(f"studio.boot({json.dumps(config)}, {image})")

    def _choose_state(self, build_dir: Path, boot_config: dict, config: dict) -> None:
        """A prompt state of this very image when there is one; else a kernel state of this
        machine (its init then runs the image's own); else a cold boot that saves a kernel state
        when the studio's init waits. Either of the last two saves a prompt state at the prompt."""
        name = boot_config.get("name", "")
        machine = snapshots.machine_parts(boot_config)
        parts = snapshots.components(build_dir, boot_config, machine)
        key = snapshots.key_of(parts)
        if self._place(self.snapshots.get(key), build_dir / "state.bin"):
            config["initial_state"] = "build/state.bin"
            self.boot_kind, self.cold_reason = "snapshot", ""
            return
        self.cold_reason = self.snapshots.why_cold(name, parts)
        self._snapshot_to_save = (key, parts, name)
        kernel_key = snapshots.key_of(machine)
        if self._place(self.snapshots.get(kernel_key), build_dir / "kernel-state.bin"):
            config["kernel_state"] = "build/kernel-state.bin"
            self.boot_kind = "kernel"
            return
        self.cold_reason += "; " + self.snapshots.why_no_kernel_state(machine)
        request = secrets.token_hex(16)
        self._kernel_to_save = (kernel_key, machine, request)
        self.bridge.expect_state(request, self._state_max_bytes)
        config["save_kernel_state"] = request
        config["state_piece"] = STATE_PIECE

    @staticmethod
    def _place(saved: Path | None, target: Path) -> bool:
        """Put a saved state where the page loads it from (a hard link: states never change)."""
        target.unlink(missing_ok=True)
        if saved is None:
            return False
        try:
            os.link(saved, target)
        except OSError:
            shutil.copyfile(saved, target)
        return True

    def stop(self) -> None:
        if self.state in (BOOTING, RUNNING):
            self.page.runJavaScript("studio.stop()")
            self._forget_requests()
            self._set_state(STOPPED)

    @property
    def saving_states(self) -> bool:
        """A requested state (the kernel's or the prompt's) has not reached the cache yet: a
        process about to exit waits for this, or the state is lost with it."""
        return (self._snapshot_to_save is not None or self._kernel_to_save is not None
                or any(t.is_alive() for t in self._keepers))

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

    def at_shell_prompt(self) -> bool:
        """The guest's console ends in its shell prompt: typing a command there runs it (rather
        than feeding some program, or joining a half-typed line)."""
        return self.state == RUNNING and self.console.at_prompt()

    # -- requests and their replies -------------------------------------------------------
    def _request(self, reply: str, asked: object) -> str:
        """A fresh id for a request whose one reply is a `reply` event."""
        request = secrets.token_hex(16)
        self._requests[request] = (reply, asked)
        return request

    def _answered(self, event: dict) -> object:
        """What was asked, for a reply to a pending request (which it closes); None for any other."""
        request = event.get("request")
        pending = self._requests.get(request) if isinstance(request, str) else None
        if pending is None or pending[0] != event.get("type"):
            self.page_log.append(f"bridge: ignored a {str(event.get('type'))[:40]!r} reply "
                                 f"to no pending request ({str(request)[:40]!r})")
            return None
        del self._requests[request]
        return pending[1]

    def _forget_requests(self) -> None:
        """A boot or stop ends what the old machine was asked: its replies are not wanted."""
        self._requests.clear()
        self._state_request = ""
        self.bridge.forget_state()

    # -- the running machine's files ------------------------------------------------------
    def inject(self, items: list[dict]) -> None:
        """Write files into the running guest. items: {path, kind ('file'|'dir'), mode, data (bytes)};
        `injected` reports back, with the paths that existed (see refresh_guest_cache)."""
        request = self._request("injected", [item["path"] for item in items])
        payload = [{**item, "data": base64.b64encode(item.get("data", b"")).decode()} for item in items]
        self.page.runJavaScript(f"studio.inject({json.dumps(request)}, {json.dumps(payload)})")

    def refresh_guest_cache(self) -> bool:
        """The guest mounts its root with cache=loose: it never rereads a file it has cached, so
        after replacing files it already knew, its caches are dropped (typed at its shell). Typed
        only at a shell prompt; returns whether it was."""
        if not self.at_shell_prompt():
            return False
        self.type(REFRESH_COMMAND + "\n")
        return True

    def pull(self, path: str, sync_first: bool = True, changed_only: bool = False) -> bool:
        """Read `path` (a file or a folder) from the running guest; `pulled` delivers it. When the
        guest sits at its shell prompt, `sync` is typed there first, so what it wrote but still
        caches reaches its filesystem; returns whether it was (else recent writes may be missing).
        With `changed_only`, files the guest never wrote since the boot come without their data,
        marked `unchanged` (the studio has them: they are the build's)."""
        def read() -> None:
            request = self._request("pulled", path)
            self.page.runJavaScript(f"studio.pull({json.dumps(request)}, {json.dumps(path)}, "
                                    f"{json.dumps(changed_only)})")

        if not (sync_first and self.at_shell_prompt()):
            read()
            return False
        mark = self.console.position
        self.type(SYNC_COMMAND + "\n")
        self._after_prompt(mark, read)
        return True

    def _after_prompt(self, mark: int, then) -> None:
        """Call `then` once the shell prints its prompt after console position `mark` (dropped
        when the machine stops or boots again first)."""
        def check(_text: str) -> None:
            if self.console.at_prompt(mark):
                done()
                then()

        def done(*_args) -> None:
            self.output.disconnect(check)
            self.stateChanged.disconnect(stopped)

        def stopped(state: str) -> None:
            if state != RUNNING:
                done()

        self.output.connect(check)
        self.stateChanged.connect(stopped)

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
        try:
            self._handle_event(event)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            self.page_log.append(f"bridge: ignored a malformed {str(event.get('type'))[:40]!r} event: {err!r}")

    def _handle_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "page-ready":
            if self.page_ready:  # once per load: the page cannot reset a booted machine's state
                self.page_log.append("bridge: ignored a second page-ready")
                return
            self.page_ready = True
            self._set_state(IDLE)
            self.pageReady.emit()
        elif kind == "download":
            total = float(event.get("total") or 0)
            fraction = float(event["loaded"]) / total if total else -1.0
            self.progress.emit(f"Loading {str(event.get('file', ''))[:200]}", fraction)
        elif kind == "9p":
            if self.state == BOOTING:
                self.progress.emit(f"Reading files over 9p ({int(event['files'])} so far)", -1.0)
        elif kind == "milestone":
            name, seconds = str(event["name"])[:40], float(event["t"]) / 1000.0
            self.console.milestones[name] = seconds
            self.milestone.emit(name, seconds)
        elif kind == "error":
            self._fail(str(event.get("message", "the machine failed"))[:500])
        elif kind == "injected":
            self._on_injected(event)
        elif kind == "pulled":
            self._on_pulled(event)
        else:
            self.page_log.append(f"bridge: ignored an event of unknown type {str(kind)[:40]!r}")

    def _on_injected(self, event: dict) -> None:
        sent = self._answered(event)
        if sent is None:
            return
        if "error" in event:
            self.requestFailed.emit(f"Could not write into the machine: {str(event['error'])[:300]}")
            return
        # Only paths this request sent can have existed; the count is what was sent.
        existed = [path for path in event.get("existed", []) if path in sent]
        self.injected.emit(len(sent), existed)

    def _on_pulled(self, event: dict) -> None:
        path = self._answered(event)
        if path is None:
            return
        if "error" in event:
            self.requestFailed.emit(f"Could not read {path} from the machine: {str(event['error'])[:300]}")
            return
        items = _pulled_items(path, event.get("items"))
        if items is None:
            self.page_log.append(f"bridge: the reply to the pull of {path} was malformed; ignored")
            return
        self.pulled.emit(path, items)

    def _on_serial(self, text: str, seconds: float) -> None:
        if self.state not in (BOOTING, RUNNING):
            return
        for name in self.console.feed(text, seconds):
            self.milestone.emit(name, seconds)
            if name == "prompt":
                self._set_state(RUNNING)
                self.progress.emit("Shell ready", 1.0)
                if self._snapshot_to_save is not None:
                    self._save_state()
        self.output.emit(text)

    def _save_state(self) -> None:
        self._state_request = secrets.token_hex(16)
        self.bridge.expect_state(self._state_request, self._state_max_bytes)
        self.page.runJavaScript(f"studio.saveState({json.dumps(self._state_request)}, {STATE_PIECE})")

    def _store_snapshot(self, request: str, packed: bytes) -> None:
        """A requested state arrived (gzipped by the page): unpack it, at most as large as this
        machine's state can be, and keep it, in a thread (it is tens of megabytes)."""
        store, limit = self.snapshots, self._state_max_bytes
        if store is not None and self._kernel_to_save is not None and request == self._kernel_to_save[2]:
            key, parts, _ = self._kernel_to_save
            self._kernel_to_save = None
            self._keep_in_thread(store, key, packed, limit, snapshots.KERNEL_STATES, parts, True)
            return
        if store is None or self._snapshot_to_save is None or not request or request != self._state_request:
            return
        key, parts, name = self._snapshot_to_save
        self._state_request = ""
        self._keep_in_thread(store, key, packed, limit, name, parts, False)

    def _keep_in_thread(self, *args) -> None:
        keeper = threading.Thread(target=self._keep_state, args=args, daemon=True)
        self._keepers = [t for t in self._keepers if t.is_alive()] + [keeper]
        keeper.start()

    def _keep_state(self, store, key: str, packed: bytes, limit: int, owner: str, parts: dict, kernel_state: bool):
        try:
            unpacker = zlib.decompressobj(wbits=31)
            raw = unpacker.decompress(packed, limit + 1)
            if len(raw) > limit or not unpacker.eof:
                raise ValueError(f"it unpacks to more than {limit} bytes or is cut short")
            saved = store.put(key, raw, owner, parts)
        except (ValueError, zlib.error, OSError) as err:
            self.page_log.append(f"the machine's state was not kept: {err}")
            if not kernel_state:
                self._snapshot_to_save = None
            return
        if kernel_state:
            self.kernel_state_saved = True
        else:
            self._snapshot_to_save = None
            self.snapshot_saved = True
            self.snapshotSaved.emit(key, saved.size)

    def _fail(self, message: str) -> None:
        self._set_state(FAILED)
        self.failed.emit(message)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)


_KINDS = {"file", "dir", "symlink"}


def _normalized(path: str) -> str | None:
    try:
        return normalize(path) if "\0" not in path else None
    except ValueError:
        return None


def _pulled_items(path: str, items) -> list[dict] | None:
    """The items of a pull reply, checked: each is `path` or below it, of a known kind, with a
    plain mode, and its data decoded; None when any is not."""
    if not isinstance(items, list):
        return None
    below = path.rstrip("/") + "/"
    checked = []
    for item in items:
        if not isinstance(item, dict):
            return None
        item_path, kind, mode = item.get("path"), item.get("kind"), item.get("mode")
        target, data = item.get("target", ""), item.get("data", "")
        if not (isinstance(item_path, str) and (item_path == path or item_path.startswith(below))):
            return None
        if _normalized(item_path) != item_path:
            return None  # '..', '.', '//' or NUL: not a path the guest's filesystem walk makes
        if kind not in _KINDS or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
            return None
        if not isinstance(target, str) or not isinstance(data, str):
            return None
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            return None
        uid, gid, unchanged = item.get("uid", 0), item.get("gid", 0), item.get("unchanged", False)
        blob = item.get("blob", "")
        if not (isinstance(uid, int) and isinstance(gid, int) and isinstance(unchanged, bool)
                and isinstance(blob, str)):
            return None
        checked.append({"path": item_path, "kind": kind, "mode": mode, "target": target, "data": raw,
                        "uid": uid, "gid": gid, "unchanged": unchanged, "blob": blob[:80]})
    return checked
