"""The tree as a desktop user expects it: the search highlights matches and keeps the selection,
a drag shows its target folder, desktop drops are copies, Compare with Base shows a diff and
Revert to Base undoes a change in one step."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.image.compare import unified_diff
from studio.ui.tree_model import NAME


def test_search_highlights_matches_and_keeps_the_selection(open_window, new_project):
    win = open_window(new_project("searching"))
    panel = win.tree_panel
    panel.select("/etc/hostname")
    panel.search.setText("host")
    panel._apply_filter()
    model = panel.model
    hosts = model.index_of("/etc/hosts")
    assert model.data(hosts, Qt.ItemDataRole.FontRole).bold()
    assert model.data(hosts, Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index_of("/etc"), Qt.ItemDataRole.BackgroundRole) is None
    assert panel.selected_paths() == ["/etc/hostname"]
    panel.search.clear()
    panel._apply_filter()
    assert panel.selected_paths() == ["/etc/hostname"] and panel.current_path() == "/etc/hostname"
    assert panel.tree.isExpanded(model.index_of("/etc"))  # the selection stays in view
    assert model.data(model.index_of("/etc/hosts"), Qt.ItemDataRole.BackgroundRole) is None


def drag(tree, path: str, mime: QMimeData, leave: bool = False):
    index = tree.model().index_of(path)
    tree.scrollTo(index)
    QApplication.processEvents()
    pos = tree.visualRect(index).center()
    viewport = tree.viewport()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    QApplication.sendEvent(viewport, QDragEnterEvent(pos, actions, mime, buttons, mods))
    move = QDragMoveEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    if leave:
        QApplication.sendEvent(viewport, QDragLeaveEvent())
        return move, None
    drop = QDropEvent(QPointF(pos), actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    return move, drop


def test_a_drag_marks_its_target_and_desktop_drops_are_copies(open_window, new_project, tmp_path):
    win = open_window(new_project("dragging"))
    tree = win.tree_panel.tree
    model = tree.model()
    note = tmp_path / "note.txt"
    note.write_text("from the desktop\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(note))])
    move, _ = drag(tree, "/root", mime, leave=True)
    assert model.drop_target == ""  # the mark goes when the drag leaves
    model_seen = []
    original = model.show_drop_target
    model.show_drop_target = lambda path: (model_seen.append(path), original(path))
    move, drop = drag(tree, "/root", mime)
    assert "/root" in model_seen and model.drop_target == ""
    assert move.dropAction() == Qt.DropAction.CopyAction
    assert drop.dropAction() == Qt.DropAction.CopyAction  # the file manager keeps its file
    assert note.exists() and win.editor.doc.read_bytes("/root/note.txt") == b"from the desktop\n"


def test_compare_with_base_and_revert_in_one_undo_step(open_window, new_project):
    win = open_window(new_project("comparing"))
    doc = win.editor.doc
    diff = unified_diff(doc, "/etc/inittab")  # the preset replaced Alpine's inittab
    assert diff.startswith("--- /etc/inittab (base)") and "+ttyS0::respawn:-/bin/sh" in diff
    assert "-tty1::respawn" in diff
    preset = doc.read_bytes("/etc/inittab")
    win.tree_panel.select("/etc/inittab")
    win.tree_panel.revert_action.trigger()
    assert doc.read_bytes("/etc/inittab") == doc.store.read(doc.state.base["/etc/inittab"].sha256)
    assert win.tree_panel.model.status("/etc/inittab") == "base"
    assert unified_diff(doc, "/etc/inittab") == ""
    win.undo_action.trigger()
    assert doc.read_bytes("/etc/inittab") == preset
    assert win.tree_panel.model.data(win.tree_panel.model.index_of("/etc/inittab").siblingAtColumn(NAME)) == "inittab"
