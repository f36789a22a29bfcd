"""Editing the image in the window: drops from the desktop, moves inside the tree, undo, the
script and inittab editors, the project's life cycle, and an edit that shows up in a boot."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.boot.qtapp import wait_for
from studio.image.document import ImageDocument
from studio.image.project import Project
from studio.ui.main_window import MainWindow
from studio.ui.text_editor import FileEditor
from studio.ui.tree_model import MIME_PATHS
from conftest import run_studio


@pytest.fixture
def window(qtbot, new_project, monkeypatch):
    project = new_project("edited")
    win = MainWindow(project)
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    qtbot.waitExposed(win)
    # Closing at teardown must not stop at the unsaved-changes question.
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    yield win
    win.close()


def drop(panel, path: str, mime: QMimeData) -> None:
    """Drag `mime` onto the tree row of `path`, as the window system would deliver it."""
    tree = panel.tree
    index = panel.model.index_of(path)
    tree.scrollTo(index)
    QApplication.processEvents()
    pos = tree.visualRect(index).center()
    viewport = tree.viewport()
    action = Qt.DropAction.CopyAction if mime.hasUrls() else Qt.DropAction.MoveAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QDragEnterEvent(pos, action, mime, buttons, mods))
    QApplication.sendEvent(viewport, QDragMoveEvent(pos, action, mime, buttons, mods))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), action, mime, buttons, mods))


def url_mime(*paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_desktop_drop_adds_files_recursively_with_modes_and_undo_removes_them(window, tmp_path):
    tool = tmp_path / "tool"
    (tool / "bin").mkdir(parents=True)
    (tool / "bin" / "run").write_text("#!/bin/sh\necho run\n")
    os.chmod(tool / "bin" / "run", 0o755)
    (tool / "notes.txt").write_text("notes\n")
    state = window.editor.state
    drop(window.tree_panel, "/opt", url_mime(tool))
    assert state.entry("/opt/tool/bin/run").mode == 0o755
    assert state.entry("/opt/tool/notes.txt").mode == 0o644
    assert window.editor.doc.read_bytes("/opt/tool/bin/run") == b"#!/bin/sh\necho run\n"
    assert window.isWindowModified()
    assert window.editor.undo_stack.count() == 1  # the whole drop is one step
    window.undo_action.trigger()
    assert state.entry("/opt/tool") is None and state.entry("/opt/tool/bin/run") is None
    window.redo_action.trigger()
    assert state.entry("/opt/tool/bin/run") is not None


def test_drop_asks_before_replacing(window, tmp_path):
    motd = tmp_path / "motd"
    motd.write_text("new motd\n")
    asked = []
    window.editor.ask_replace = lambda clashes: (asked.append(clashes), None)[1]  # cancel
    drop(window.tree_panel, "/etc", url_mime(motd))
    assert asked == [["/etc/motd"]]
    assert window.editor.doc.read_bytes("/etc/motd") != b"new motd\n"
    window.editor.ask_replace = lambda clashes: True
    drop(window.tree_panel, "/etc", url_mime(motd))
    assert window.editor.doc.read_bytes("/etc/motd") == b"new motd\n"


def test_large_drop_runs_in_the_background_and_can_be_cancelled(window, tmp_path, qtbot):
    many = tmp_path / "many"
    many.mkdir()
    for i in range(1500):  # enough that the copy is still running when the cancel comes
        (many / f"f{i:04d}").write_bytes(b"x" * 1000)
    drop(window.tree_panel, "/srv", url_mime(many))
    task = window.editor._drop_task
    assert task is not None  # went to the background
    assert wait_for(lambda: task.done and window.editor.state.entry("/srv/many/f1499") is not None, 30)

    drop(window.tree_panel, "/opt", url_mime(many))
    window.editor._drop_task.cancel()
    assert wait_for(lambda: window.editor._drop_task.done, 30)
    QApplication.processEvents()
    assert window.editor.state.entry("/opt/many") is None


def test_drag_inside_the_tree_moves_in_one_undo_step(window):
    mime = QMimeData()
    mime.setData(MIME_PATHS, json.dumps(["/etc/motd", "/etc/issue"]).encode())
    drop(window.tree_panel, "/root", mime)
    state = window.editor.state
    assert state.entry("/root/motd") and state.entry("/root/issue")
    assert state.entry("/etc/motd") is None
    window.undo_action.trigger()
    assert state.entry("/etc/motd") and state.entry("/etc/issue") and not state.entry("/root/motd")


def test_save_clears_the_modified_flag_and_persists(window):
    drop_dir = window.project.root.parent / "payload"
    drop_dir.mkdir()
    (drop_dir / "hello").write_text("hi\n")
    drop(window.tree_panel, "/root", url_mime(drop_dir / "hello"))
    assert window.isWindowModified()
    assert window.save()
    assert not window.isWindowModified()
    assert ImageDocument.open(window.project.root, writable=False).read_bytes("/root/hello") == b"hi\n"
    window.undo_action.trigger()
    assert window.isWindowModified()


def test_script_editor_refuses_a_syntax_error_and_marks_the_line(window):
    window.open_file("/etc/init.d/rcS")
    editor = window.tabs.currentWidget()
    assert isinstance(editor, FileEditor) and editor.is_script
    original = window.editor.doc.read_bytes("/etc/init.d/rcS")
    broken = original.decode() + "if [ -x /bin/true ]; then\n  echo broken\n"
    editor.text.setPlainText(broken)
    assert not editor.save()
    assert editor.error_line() == broken.count("\n") + 1  # ash reports the unclosed 'if' at end of file
    assert "syntax error" in editor.status.text()
    assert window.editor.doc.read_bytes("/etc/init.d/rcS") == original
    editor.text.setPlainText(original.decode() + "echo fixed\n")
    assert editor.save()
    assert window.editor.doc.read_bytes("/etc/init.d/rcS").endswith(b"echo fixed\n")
    editor.executable.setChecked(False)
    assert window.editor.state.entry("/etc/init.d/rcS").mode & 0o111 == 0
    window.refresh_problems()
    assert any("not executable" in window.problems.item(i).text() for i in range(window.problems.count()))


def test_inittab_table_and_text_stay_in_sync(window, monkeypatch):
    window.show_inittab()
    tab = window.inittab_editor
    row = next(r for r in range(tab.table.rowCount()) if tab.table.item(r, 2).text() == "respawn")
    tab.table.item(row, 3).setText("/sbin/getty -L 115200 ttyS0 vt100")
    assert "ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100" in tab.text.toPlainText()
    tab.text.setPlainText(tab.text.toPlainText() + "::once:/usr/bin/missing-tool\n")
    assert wait_for(lambda: tab.table.rowCount() == 5, 5)
    assert tab.table.item(4, 3).text() == "/usr/bin/missing-tool"
    assert any("missing-tool is not in the image" in f.message for f in tab.findings)
    monkeypatch.setattr("studio.ui.inittab_editor.QMessageBox.warning",
                        lambda *a, **k: QMessageBox.StandardButton.No)
    tab.apply_preset("Alpine OpenRC")  # openrc is missing: declined, nothing changes
    assert "openrc" not in tab.text.toPlainText()
    tab.apply_preset("Serial getty with login")
    assert tab.save()
    assert b"getty -L 115200 ttyS0" in window.editor.doc.read_bytes("/etc/inittab")


def test_autosave_recovers_after_a_crash(qtbot, new_project, monkeypatch):
    project = new_project("crashed")
    first = MainWindow(project)
    qtbot.addWidget(first)
    editor = first.editor
    source, size, sha = editor.doc.store_bytes(b"unsaved work\n")
    from studio.image import edits

    editor.perform(edits.new_file(editor.state, "/root/draft.txt", source, size, sha))
    first.autosave()
    # The session dies here: no save, no close.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    second = MainWindow(Project.open(project.root))
    qtbot.addWidget(second)
    assert second.editor.doc.read_bytes("/root/draft.txt") == b"unsaved work\n"
    assert second.isWindowModified()
    assert second.save()
    assert ImageDocument.open(project.root, writable=False).read_bytes("/root/draft.txt") == b"unsaved work\n"
    for win in (first, second):
        win.editor.undo_stack.setClean()
        win.close()


def test_changes_on_disk_show_up_in_the_tree(window):
    (window.project.overlay_dir / "root").mkdir(exist_ok=True)
    (window.project.overlay_dir / "root" / "from-git.txt").write_text("checked out\n")
    model = window.editor.model
    assert wait_for(lambda: model.index_of("/root/from-git.txt").isValid(), 10)
    assert not window.isWindowModified()  # the state is what the disk holds
    (window.project.overlay_dir / "root" / "from-git.txt").unlink()
    assert wait_for(lambda: not window.editor.state.entry("/root/from-git.txt"), 10)


@pytest.mark.boot
def test_gui_edits_show_up_in_a_headless_boot(window, tmp_path):
    greet = tmp_path / "greet"
    greet.write_text("#!/bin/sh\necho \"greetings from $(hostname) at boot\" > /run/greeting\n")
    os.chmod(greet, 0o755)
    drop(window.tree_panel, "/usr/local/bin", url_mime(greet))
    window.open_file("/etc/init.d/rcS")
    editor = window.tabs.currentWidget()
    editor.text.moveCursor(QTextCursor.MoveOperation.End)
    editor.text.insertPlainText("/usr/local/bin/greet\n")  # as typed: the tab is now modified
    assert editor.is_modified()
    assert window.save()  # applies the editor tab, then saves the project
    result = run_studio("boot", str(window.project.root), "--headless", "--timeout", "60",
                        "--run", "cat /run/greeting", "--run", "ls -l /usr/local/bin/greet",
                        "--expect", r"greetings from edited at boot\n-rwxr-xr-x")
    assert result.returncode == 0, result.stdout + result.stderr


def test_properties_dialog_keeps_octal_and_checkboxes_in_sync(qapp):
    from studio.image.entry import Entry
    from studio.ui.properties_dialog import PropertiesDialog

    dialog = PropertiesDialog(Entry("/usr/bin/tool", "file", 0o755), {"root": 0, "bin": 1}, {"root": 0, "wheel": 10})
    assert dialog.boxes[0o100].isChecked() and not dialog.boxes[0o002].isChecked()
    dialog.boxes[0o4000].setChecked(True)
    dialog.boxes[0o001].setChecked(False)
    assert dialog.octal.text() == "4754"
    dialog.octal.setText("0600")
    dialog.octal.textEdited.emit("0600")
    assert dialog.boxes[0o400].isChecked() and not dialog.boxes[0o100].isChecked()
    dialog.owner.setCurrentIndex(dialog.owner.findData(1))
    dialog.group.setEditText("wheel")
    assert dialog.values() == (0o600, 1, 10, "")


def test_undo_shows_in_open_editors_and_search_filters_the_tree(window):
    window.show_inittab()
    tab = window.inittab_editor
    tab.apply_preset("Serial getty with login")
    assert tab.save()
    window.undo_action.trigger()
    assert "-/bin/sh" in tab.text.toPlainText() and not tab.is_modified()

    panel = window.tree_panel
    panel.search.setText("inittab")
    panel._apply_filter()
    model = panel.model
    assert model.rowCount() == 1 and model.index(0, 0).data() == "etc"
    etc = model.index(0, 0)
    assert [model.index(r, 0, etc).data() for r in range(model.rowCount(etc))] == ["inittab"]
    panel.search.clear()
    panel.changes_only.setChecked(True)
    etc = model.index_of("/etc")
    names = {model.index(r, 0, etc).data() for r in range(model.rowCount(etc))}
    assert {"inittab", "hostname", "init.d"} <= names and "passwd" not in names
