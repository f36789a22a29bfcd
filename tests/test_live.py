"""The running machine: files dropped on it appear in the guest (and in the project when kept),
an edited image file pushed to it replaces what the guest had cached, and what the guest made
comes back into the project."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.boot.qtapp import wait_for
from studio.image import edits

pytestmark = pytest.mark.boot


@pytest.fixture
def running(open_window, new_project):
    return open_window(new_project("live"), boot=True)


def run(win, command: str, timeout: float = 20) -> str:
    """Type a command at the guest's shell and return what it printed."""
    console = win.session.console
    mark = console.position
    win.session.type(command + "\n")
    assert wait_for(lambda: console.at_prompt(mark) and console.position > mark + len(command), timeout)
    return console.since(mark)


def test_drop_on_the_machine_appears_in_the_guest_and_is_kept(running, tmp_path):
    run(running, "mkdir -p /srv/inbox && cd /srv/inbox")
    assert running.boot_pane.drop_folder() == "/srv/inbox"  # the shell's folder, from its prompt
    note = tmp_path / "note.txt"
    note.write_text("dropped while running\n")
    running.machine_files.ask_keep = lambda folder, count: True
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(note))])
    view = running.boot_pane.view
    pos = QPoint(200, 200)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(view, QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods))
    wait_for(lambda: False, 0.1)
    QApplication.sendEvent(view, QDragMoveEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods))
    wait_for(lambda: False, 0.1)
    QApplication.sendEvent(view, QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, buttons, mods))
    assert wait_for(lambda: running.editor.state.entry("/srv/inbox/note.txt") is not None, 20)
    assert "dropped while running" in run(running, "cat note.txt")
    assert running.editor.doc.read_bytes("/srv/inbox/note.txt") == b"dropped while running\n"


def test_pushed_file_replaces_what_the_guest_cached(running):
    assert "Welcome to Alpine" in run(running, "cat /etc/motd")  # now the guest caches /etc/motd
    editor = running.editor
    source, size, sha = editor.doc.store_bytes(b"pushed from the studio\n")
    editor.perform(edits.set_content(editor.state, "/etc/motd", source, size, sha))
    running.machine_files.push(["/etc/motd"])
    assert wait_for(lambda: "drop_caches" in running.session.console.text, 20)
    assert "pushed from the studio" in run(running, "cat /etc/motd")


def test_pull_brings_back_what_the_guest_wrote(running):
    run(running, "mkdir -p /root/made && echo 'written in the guest' > /root/made/a.txt && ln -s a.txt /root/made/b"
                 " && touch /root/made/empty && mkfifo /root/made/fifo")
    running.machine_files.pull("/root/made")
    state = running.editor.state
    assert wait_for(lambda: state.entry("/root/made/a.txt") is not None, 20)
    assert running.editor.doc.read_bytes("/root/made/a.txt") == b"written in the guest\n"
    assert running.editor.doc.read_bytes("/root/made/empty") == b""  # v86 calls an empty file missing
    assert state.entry("/root/made/fifo") is None  # no device nodes or FIFOs in an image
    assert state.entry("/root/made/b").kind == "symlink" and state.entry("/root/made/b").target == "a.txt"
    assert running.isWindowModified()
