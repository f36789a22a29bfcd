"""The guest is untrusted code, and the page shows what it prints: neither can steer the studio.

The page stays on the studio's page (no navigation, no windows, drops of anything but files do
nothing); the bridge acts only on replies to requests Python made; copy and paste are Python's,
once; a crafted prompt never breaks a drop; the studio types at the guest's shell only when it
sits at its prompt.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWebEngineCore import QWebEngineSettings
from PySide6.QtWidgets import QMainWindow

from studio.boot.qtapp import wait_for
from studio.boot.session import PAGE_URL, STATE_PIECE, Bridge, BootSession
from studio.image import edits
from studio.ui import machine_files as machine_files_module
from studio.ui.boot_pane import BootPane
from pagetools import drag_and_drop, evaluate


# -- the page alone (no machine) ---------------------------------------------------------------
@pytest.fixture
def pane(qtbot):
    """The boot page loaded in the machine pane, as the main window shows it."""
    session = BootSession()
    window = QMainWindow()
    pane = BootPane(session, window)
    window.setCentralWidget(pane)
    window.resize(900, 600)
    window.show()
    session.load()
    assert wait_for(lambda: session.page_ready, 30), session.page_log
    # A navigation or reload would show as a new URL or a new document (without this marker).
    pane.urls = []
    session.page.urlChanged.connect(pane.urls.append)
    session.page.runJavaScript("window.sameDocument = true")
    assert wait_for(lambda: evaluate(session.page, "window.sameDocument") is True, 10)
    yield pane
    pane.release()
    window.close()
    session.close()


def _page_still_works(pane) -> None:
    page = pane.session.page
    assert page.url() == QUrl(PAGE_URL + "?embedded=1") and pane.urls == []
    assert evaluate(page, "window.sameDocument") is True
    assert evaluate(page, "typeof studio.boot") == "function"
    assert evaluate(page, "studio.size().cols") > 0


@pytest.mark.parametrize("script", [
    "location.href = 'https://example.com/'",
    "location.href = 'studio://app/index.html'",  # the studio's page, but not loaded by the studio
    "location.assign('studio://app/boot.css')",
    "location.reload()",
    "document.body.insertAdjacentHTML('beforeend', '<form id=f action=\"https://example.com/\"></form>');"
    " document.getElementById('f').submit()",
])
def test_page_script_cannot_navigate_away(pane, script):
    log = pane.session.page_log
    before = len(log)
    pane.session.page.runJavaScript(script)
    assert wait_for(lambda: any("refused" in line for line in log[before:]) or pane.urls
                    or evaluate(pane.session.page, "window.sameDocument") is not True, 10), log[before:]
    _page_still_works(pane)


def test_page_script_opens_no_window(pane):
    assert evaluate(pane.session.page, "window.open('https://example.com/') === null") is True
    assert evaluate(pane.session.page, "window.open('studio://app/index.html?embedded=1') === null") is True
    assert pane.session.page.createWindow(pane.session.page.WebWindowType.WebBrowserTab) is None
    _page_still_works(pane)


def test_dropped_link_or_text_does_nothing(pane, tmp_path):
    dropped = []
    pane.filesDropped.connect(lambda paths, folder: dropped.append(paths))
    link = QMimeData()
    link.setUrls([QUrl("https://example.com/page")])
    text = QMimeData()
    text.setText("echo typed-by-a-drop")
    for target in (pane.view, pane.view.focusProxy()):
        for mime in (link, text):
            assert drag_and_drop(target, mime) == (False, False, False)
    wait_for(lambda: pane.urls, 1)  # a navigation would have started by now
    _page_still_works(pane)
    assert dropped == []
    note = tmp_path / "note.txt"
    note.write_text("a file")
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(note))])
    assert drag_and_drop(pane.view, files) == (True, True, True)  # files still go to the machine
    assert dropped == [[note]]


def test_page_has_no_clipboard_access(pane):
    settings = pane.session.page.settings()
    assert not settings.testAttribute(QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard)
    assert not settings.testAttribute(QWebEngineSettings.WebAttribute.JavascriptCanPaste)
    QGuiApplication.clipboard().setText("a secret on the clipboard")
    assert evaluate(pane.session.page, "document.execCommand('paste')") is False
    assert evaluate(pane.session.page, "document.execCommand('copy')") is False


# -- the bridge's state transfer (no page) ------------------------------------------------------
def test_state_pieces_are_taken_only_for_the_request_and_bounded(qapp):
    import base64

    log: list[str] = []
    bridge = Bridge(log.append)
    states = []
    bridge.stateReceived.connect(lambda request, raw: states.append((request, raw)))
    piece = base64.b64encode(b"s" * 10).decode()
    bridge.stateChunk("unrequested", 0, 1, piece)
    bridge.expect_state("r1", 4 * STATE_PIECE)
    bridge.stateChunk("r2", 0, 1, piece)  # another id
    bridge.stateChunk("r1", 0, 1000, piece)  # more pieces than a machine this size needs
    bridge.stateChunk("r1", 0, 1, piece)  # the transfer was dropped: nothing is taken any more
    assert states == [] and len(log) == 4

    bridge.expect_state("r3", 4 * STATE_PIECE)
    bridge.stateChunk("r3", 0, 2, piece)
    bridge.stateChunk("r3", 0, 2, piece)  # the same piece twice
    bridge.expect_state("r4", 4 * STATE_PIECE)
    bridge.stateChunk("r4", 0, 1, base64.b64encode(b"x" * (STATE_PIECE + 1)).decode())  # too big a piece
    bridge.expect_state("r5", 4 * STATE_PIECE)
    bridge.stateChunk("r5", 1, 2, piece)
    bridge.forget_state()  # a boot, stop or new save frees the unfinished state
    bridge.stateChunk("r5", 0, 2, piece)
    assert states == []

    bridge.expect_state("r6", 4 * STATE_PIECE)
    bridge.stateChunk("r6", 1, 2, base64.b64encode(b"two").decode())
    bridge.stateChunk("r6", 0, 2, base64.b64encode(b"one").decode())
    bridge.stateChunk("r6", 0, 2, piece)  # a reply already used
    assert states == [("r6", b"onetwo")]

    # A boot's kernel state still arriving when the prompt's is taken: both arrive whole,
    # interleaved; a third request drops the oldest unfinished one (no pile-up).
    bridge.expect_state("kernel", 4 * STATE_PIECE)
    bridge.stateChunk("kernel", 0, 2, base64.b64encode(b"k1").decode())
    bridge.expect_state("prompt", 4 * STATE_PIECE)
    bridge.stateChunk("prompt", 0, 2, base64.b64encode(b"p1").decode())
    bridge.stateChunk("kernel", 1, 2, base64.b64encode(b"k2").decode())
    bridge.stateChunk("prompt", 1, 2, base64.b64encode(b"p2").decode())
    assert states[1:] == [("kernel", b"k1k2"), ("prompt", b"p1p2")]
    bridge.expect_state("a", 4 * STATE_PIECE)
    bridge.stateChunk("a", 0, 2, piece)
    bridge.expect_state("b", 4 * STATE_PIECE)
    bridge.expect_state("c", 4 * STATE_PIECE)
    bridge.stateChunk("a", 1, 2, piece)  # "a" went when "c" came
    assert len(states) == 3 and "nobody asked for ('a')" in log[-1]


# -- a running machine --------------------------------------------------------------------------
@pytest.fixture
def running(open_window, new_project):
    win = open_window(new_project("untrusted"), boot=True)
    assert wait_for(lambda: not win.session.saving_states, 30)  # the cold boot's state is saved
    return win


def run(win, command: str, timeout: float = 20) -> str:
    """Type a command at the guest's shell and return what it printed."""
    console = win.session.console
    mark = console.position
    win.session.type(command + "\n")
    assert wait_for(lambda: console.at_prompt(mark) and console.position > mark + len(command), timeout), \
        console.text[-500:]
    return console.since(mark)


def start_reading_stdin(win, command: str) -> None:
    """Start `command`, which reads the tty: the shell is not at its prompt until it ends."""
    console = win.session.console
    mark = console.position
    win.session.type(command + "\n")
    assert wait_for(lambda: console.since(mark).endswith(command + "\n"), 10), console.since(mark)
    assert not win.session.at_shell_prompt()


def end_input(win) -> None:
    """End the input of a command started with start_reading_stdin (Ctrl+D) and wait for the prompt."""
    console = win.session.console
    mark = console.position
    win.session.type("\x04")
    assert wait_for(lambda: console.at_prompt(mark), 10), console.since(mark)


def send_from_page(win, *calls: str) -> None:
    """Run bridge calls in the page as a script there could, then wait until the bridge has
    handled them all (the channel delivers in order: a last marker event comes after them)."""
    seen = []
    marker = {"type": "test-marker"}
    win.session.bridge.eventReceived.connect(lambda event: event == marker and seen.append(event))
    win.session.page.runJavaScript("; ".join(calls) + f"; bridge.event({json.dumps(json.dumps(marker))})")
    assert wait_for(lambda: seen, 10)


def test_replies_nobody_asked_for_change_nothing(running, qtbot):
    session, editor = running.session, running.editor
    pulled, injected, states = [], [], []
    session.pulled.connect(lambda *a: pulled.append(a))
    session.injected.connect(lambda *a: injected.append(a))
    session.bridge.stateReceived.connect(lambda *a: states.append(a))
    QGuiApplication.clipboard().setText("echo INJECTED-BY-PASTE")
    evil = {"path": "/etc/evil", "kind": "file", "mode": 0o755, "target": "", "data": "ZXZpbAo="}
    forged = [
        {"type": "pulled", "path": "/etc", "items": [evil]},
        {"type": "pulled", "request": "0" * 32, "path": "/etc", "items": [evil]},
        {"type": "injected", "count": 1, "existed": ["/etc/motd"]},
        {"type": "injected", "request": "0" * 32, "count": 1, "existed": ["/etc/motd"]},
        {"type": "copy", "text": "copied-by-the-page"},
        {"type": "paste-request"},
    ]
    mark = session.console.position
    send_from_page(running, *[f"bridge.event({json.dumps(json.dumps(event))})" for event in forged],
                   "bridge.stateChunk('k', 0, 1, btoa('junk'))")
    assert pulled == [] and injected == [] and states == []
    assert editor.state.entry("/etc/evil") is None
    assert QGuiApplication.clipboard().text() == "echo INJECTED-BY-PASTE"
    assert "INJECTED-BY-PASTE" not in run(running, "echo after-the-forgeries")  # nothing was typed
    assert "INJECTED-BY-PASTE" not in session.console.since(mark)
    assert sum("ignored" in line for line in session.page_log) >= 7
    assert not running.isWindowModified()


def test_a_reply_counts_once(running, tmp_path):
    session = running.session
    session.page.runJavaScript(
        "window.replies = []; const original = send;"
        " send = (event) => { window.replies.push(JSON.parse(JSON.stringify(event))); original(event); };")
    injected = []
    session.injected.connect(lambda count, existed: injected.append(count))
    session.inject([{"path": "/root/once.txt", "kind": "file", "mode": 0o644, "data": b"once\n"}])
    assert wait_for(lambda: injected, 10)
    replies = [e for e in evaluate(session.page, "window.replies") if e["type"] == "injected"]
    assert len(replies) == 1 and replies[0]["request"]
    send_from_page(running, f"bridge.event({json.dumps(json.dumps(replies[0]))})")
    assert injected == [1]
    assert "once" in run(running, "cat /root/once.txt")


def _keyboard_target(win):
    view = win.boot_pane.view
    view.setFocus()
    win.session.focus_terminal()
    return view.focusProxy() or view


def test_ctrl_shift_v_pastes_once_and_ctrl_shift_c_copies(running, qtbot):
    session = running.session
    target = _keyboard_target(running)
    QGuiApplication.clipboard().setText("echo once-$((3+4))")
    mark = session.console.position
    qtbot.keyClick(target, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert wait_for(lambda: "echo once-$((3+4))" in session.console.since(mark), 10)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    assert wait_for(lambda: "\nonce-7" in session.console.since(mark) and session.console.at_prompt(mark), 10)
    run(running, "echo barrier")  # anything pasted late has reached the guest by now
    assert session.console.since(mark).count("once-$((3+4))") == 1, session.console.since(mark)

    QGuiApplication.clipboard().clear()
    session.page.runJavaScript("studio.selectAll()")
    assert wait_for(lambda: "once-7" in (evaluate(session.page, "studio.selection()") or ""), 10)
    qtbot.keyClick(target, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert wait_for(lambda: "once-7" in QGuiApplication.clipboard().text(), 10)


@pytest.mark.parametrize("ps1", [
    "PS1='x:/../../../etc# '",  # climbs above /
    "PS1=\"$(printf 'x:/tmp/\\001\\033(0# ')\"",  # control bytes
    "PS1=\"$(printf 'x:/tmp/\\377\\376# ')\"",  # not UTF-8
])
def test_a_hostile_prompt_cannot_break_a_drop(running, tmp_path, ps1):
    run(running, ps1)
    assert running.session.console.cwd() is None
    assert running.boot_pane.drop_folder() == "/root"
    note = tmp_path / "dropped.txt"
    note.write_text("dropped under a hostile prompt\n")
    running.machine_files.ask_keep = lambda folder, count: False
    injected = []
    running.session.injected.connect(lambda *a: injected.append(a))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(note))])
    assert drag_and_drop(running.boot_pane.view, mime) == (True, True, True)
    assert wait_for(lambda: injected, 10)
    assert "dropped under a hostile prompt" in run(running, "cat /root/dropped.txt")


def test_pull_types_sync_only_at_the_prompt_and_says_so(running, monkeypatch):
    asked = []
    monkeypatch.setattr(machine_files_module.QInputDialog, "getText",
                        lambda parent, title, label, **kw: (asked.append(label), ("", False))[1])
    running.machine_files._ask_pull_path()
    assert "types `sync`" in asked[0]

    run(running, "echo made-in-the-guest > /root/made.txt && sync")
    start_reading_stdin(running, "cat > /tmp/typed")
    running.machine_files.pull("/root/made.txt")
    assert wait_for(lambda: running.editor.state.entry("/root/made.txt") is not None, 10)
    assert running.editor.doc.read_bytes("/root/made.txt") == b"made-in-the-guest\n"
    assert "recent writes may be missing" in running.statusBar().currentMessage()
    end_input(running)
    assert run(running, "wc -c < /tmp/typed").split("\n")[1].strip() == "0"  # nothing went into cat


def test_cache_drop_is_typed_only_at_the_prompt_and_says_so(running):
    assert "Welcome to Alpine" in run(running, "cat /etc/motd")  # the guest caches /etc/motd
    editor = running.editor
    source, size, sha = editor.doc.store_bytes(b"pushed while a program reads the tty\n")
    editor.perform(edits.set_content(editor.state, "/etc/motd", source, size, sha))
    start_reading_stdin(running, "cat > /tmp/typed")
    injected = []
    running.session.injected.connect(lambda *a: injected.append(a))
    running.machine_files.push(["/etc/motd"])
    assert wait_for(lambda: injected, 10)
    message = running.statusBar().currentMessage()
    assert "not at its prompt" in message and "drop_caches" in message
    end_input(running)
    assert run(running, "wc -c < /tmp/typed").split("\n")[1].strip() == "0"
