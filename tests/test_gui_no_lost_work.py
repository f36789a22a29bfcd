"""The window never loses or silently ignores what the user did: edits arriving during a save stay
unsaved, unsaved editor tabs are applied (or the user says otherwise) before a boot or a compile,
tabs show their unsaved state and follow their file, "modified" means the image differs from
disk, and the small defects of issue 8 (recent projects, a missing kernel) stay fixed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.boot.qtapp import wait_for
from studio.image import edits
from studio.image.document import ImageDocument
from studio.image.entry import FILE, Entry
from studio.ui import editor_tabs
from studio.ui.main_window import MainWindow
from studio.ui.project_controller import RECENT_KEY
from studio.ui.text_editor import FileEditor, SourceEditor

PROGRAMS = Path(__file__).with_name("wasi_programs")


@pytest.fixture
def window(open_window, new_project):
    return open_window(new_project("careful"))


def big_edit(win, count: int = 400) -> None:
    """Enough new content that a save takes a while (so something can happen during it)."""
    doc = win.editor.doc
    entries = []
    for i in range(count):
        source, size, sha = doc.store_bytes(os.urandom(64 << 10))
        entries.append(Entry(f"/srv/blob{i}", FILE, 0o644, size=size, sha256=sha, source=source))
    win.editor.perform(edits.add_entries(win.editor.state, entries, "big"))


def test_an_edit_arriving_during_a_save_stays_unsaved_and_is_saved_next_time(window):
    big_edit(window)
    doc = window.editor.doc
    source, size, sha = doc.store_bytes(b"installed while saving\n")
    arrived = {}

    def compile_finishes():  # what the Programs panel does when a job ends: install, undoably
        if window.projects.saving and not arrived:
            window.editor.perform(edits.new_file(window.editor.state, "/usr/local/bin/late", source, size, sha))
            arrived["during"] = True

    poll = QTimer(interval=2)
    poll.timeout.connect(compile_finishes)
    poll.start()
    assert window.save()
    poll.stop()
    assert arrived, "the save ended before the edit could arrive"
    assert window.editor.state.entry("/usr/local/bin/late") is not None
    on_disk = ImageDocument.open(window.project.root, writable=False)
    assert on_disk.state.entry("/srv/blob399") is not None
    assert on_disk.state.entry("/usr/local/bin/late") is None
    assert window.isWindowModified() and window.save_action.isEnabled()  # not marked clean
    assert window.save()
    assert not window.isWindowModified()
    assert ImageDocument.open(window.project.root, writable=False).read_bytes("/usr/local/bin/late") \
        == b"installed while saving\n"


def test_a_file_created_on_disk_before_the_save_is_kept_and_shown(window):
    big_edit(window, 20)
    outsider = window.project.overlay_dir / "etc" / "from-git.conf"
    outsider.write_text("checked out a moment ago\n")  # no watcher event handled yet
    assert window.save()
    assert outsider.read_text() == "checked out a moment ago\n"
    assert window.editor.state.entry("/etc/from-git.conf") is not None  # merged before saving
    assert not window.isWindowModified()


def test_a_save_conflict_asks_and_overwrite_or_load_are_honoured(window):
    window.projects.watcher.paused = True  # the conflict arises in the instant before the save
    hostname = window.project.overlay_path("/etc/hostname")
    source, size, sha = window.editor.doc.store_bytes(b"mine\n")
    window.editor.perform(edits.set_content(window.editor.state, "/etc/hostname", source, size, sha))
    real_reload = window.projects.reload_from_disk
    window.projects.reload_from_disk = lambda: None  # the other program writes after the merge
    hostname.write_text("theirs\n")
    asked = []
    window.projects.ask_conflict = lambda paths: asked.append(paths) or "cancel"
    assert not window.save()
    assert asked == [["/etc/hostname"]] and hostname.read_text() == "theirs\n"
    window.projects.ask_conflict = lambda paths: "overwrite"
    assert window.save()
    assert hostname.read_text() == "mine\n"
    window.projects.reload_from_disk = real_reload


def test_delete_then_restore_is_not_a_change_and_save_is_disabled_without_changes(window):
    assert not window.save_action.isEnabled()
    window.editor.perform(edits.remove(window.editor.state, ["/etc/motd"]))
    assert window.isWindowModified() and window.save_action.isEnabled()
    window.editor.perform(edits.restore(window.editor.state, "/etc/motd"))
    assert not window.isWindowModified()
    assert not window.save_action.isEnabled()


def test_tabs_show_unsaved_text_and_follow_their_file(window):
    doc = window.editor.doc
    source, size, sha = doc.store_bytes(b"draft\n")
    window.editor.perform(edits.new_file(window.editor.state, "/root/notes.txt", source, size, sha))
    window.open_file("/root/notes.txt")
    tab = window.tabs.currentWidget()
    assert isinstance(tab, FileEditor) and window.tabs.tabText(window.tabs.currentIndex()) == "notes.txt"
    tab.text.insertPlainText("typed ")
    assert window.tabs.tabText(window.tabs.indexOf(tab)).startswith(editor_tabs.MODIFIED_MARK)
    assert window.isWindowModified()
    window.undo_action.trigger()  # the file's creation is undone; the tab holds unsaved text
    assert window.tabs.indexOf(tab) >= 0 and "(deleted)" in window.tabs.tabText(window.tabs.indexOf(tab))
    assert "no longer in the image" in tab.status.text()
    assert tab.save()  # puts it back with the typed text
    assert window.editor.doc.read_bytes("/root/notes.txt") == b"typed draft\n"
    # Without unsaved text, a tab whose file goes is closed.
    window.editor.perform(edits.remove(window.editor.state, ["/root/notes.txt"]))
    assert wait_for(lambda: window.tabs.indexOf(tab) < 0, 5)


def test_compile_asks_about_an_unsaved_source_tab_and_builds_what_is_shown(window):
    panel = window.compile_panel
    source = PROGRAMS / "stdio.c"
    panel.add_program("stdio", [source])
    (first,) = panel.compile([panel.selected()])
    assert wait_for(lambda: first.done, 120) and first.outcome.ok
    path = window.project.root / "src" / "stdio" / "stdio.c"
    window.open_source(path)
    tab = window.tabs.currentWidget()
    assert isinstance(tab, SourceEditor)
    tab.text.moveCursor(tab.text.textCursor().MoveOperation.End)
    tab.text.insertPlainText("\nint edited_in_the_tab = 1;\n")
    asked = []
    window.editor_tabs.ask_unsaved = lambda verb, titles: asked.append((verb, titles)) or editor_tabs.CANCEL
    jobs_before = len(panel.queue.jobs)
    panel.compile_selected()
    assert asked == [("compiling", ["stdio.c"])] and len(panel.queue.jobs) == jobs_before  # cancelled
    window.editor_tabs.ask_unsaved = lambda verb, titles: editor_tabs.APPLY
    panel.compile_selected()
    job = panel.queue.jobs[-1]
    assert wait_for(lambda: job.done, 120)
    assert job.status == "succeeded"  # not "cached": the source changed
    assert "edited_in_the_tab" in path.read_text() and not tab.is_modified()


def test_open_recent_lists_projects_not_characters(qtbot, new_project):
    project = new_project("recent")
    QSettings().setValue(RECENT_KEY, str(project.root))  # how one project came back as a string before
    win = MainWindow(project)
    qtbot.addWidget(win)
    win._fill_recent()
    texts = [a.text() for a in win.recent_menu.actions()]
    assert texts == [str(project.root)]
    win.close()


def test_a_missing_kernel_is_quiet_until_boot_and_nothing_pops_up_on_quit(qtbot, new_project, monkeypatch,
                                                                         tmp_path):
    monkeypatch.setenv("STUDIO_KERNEL", str(tmp_path / "no-kernel"))
    win = MainWindow(new_project("nokernel"))
    qtbot.addWidget(win)
    win.show()
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda *a, **k: warnings.append(a[2]))
    QApplication.processEvents()
    assert "Cannot boot yet" in win.state_label.text() and "Failed" not in win.state_label.text()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    win.boot()
    assert warnings and "STUDIO_KERNEL" in warnings[0]
    win.close()
    QApplication.processEvents()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


@pytest.mark.boot
def test_reboot_with_changes_uses_the_unsaved_tab_or_asks(window):
    assert wait_for(lambda: window.session.page_ready, 30), window.session.page_log
    window.boot()
    assert wait_for(lambda: window.session.state == "running" and window.session.snapshot_saved, 90), \
        window.session.console.text[-1000:]
    window.open_file("/etc/hostname")
    tab = window.tabs.currentWidget()
    tab.text.selectAll()
    tab.text.insertPlainText("typed-not-saved\n")
    asked = []
    window.editor_tabs.ask_unsaved = lambda verb, titles: asked.append((verb, titles)) or editor_tabs.CANCEL
    window.reboot_action.trigger()
    assert asked == [("booting", ["hostname"])]
    assert window.session.state == "running"  # cancelled: the machine goes on as it was
    window.editor_tabs.ask_unsaved = lambda verb, titles: editor_tabs.APPLY
    window.reboot_action.trigger()
    assert wait_for(lambda: window.session.state == "running" and window.session.boot_kind, 90)
    assert window.session.boot_kind == "kernel"  # not the old prompt state: the image changed
    console = window.session.console
    mark = console.position
    window.session.type("cat /etc/hostname\n")
    assert wait_for(lambda: "typed-not-saved" in console.since(mark) and console.at_prompt(mark), 30), \
        console.since(mark)
    assert not tab.is_modified()


def test_export_writes_the_image_as_the_user_sees_it(window, tmp_path, monkeypatch):
    import json

    from studio.ui.export_dialog import ExportDialog

    source, size, sha = window.editor.doc.store_bytes(b"not saved yet\n")
    window.editor.perform(edits.new_file(window.editor.state, "/root/unsaved.txt", source, size, sha))
    window.open_file("/etc/motd")
    window.tabs.currentWidget().text.insertPlainText("typed in a tab\n")
    window.editor_tabs.ask_unsaved = lambda verb, titles: editor_tabs.APPLY if verb == "exporting" else "cancel"
    out = tmp_path / "bundle"

    def run(dialog):
        dialog.folder.setText(str(out))
        dialog.start()
        assert wait_for(lambda: dialog.task.done, 120)

    monkeypatch.setattr(ExportDialog, "exec", run)
    window.export_action.trigger()
    fs = json.loads((out / "build" / "fs.json").read_text())
    root = next(node for node in fs["fsroot"] if node[0] == "root")
    assert "unsaved.txt" in [child[0] for child in root[6]]
    assert window.editor.doc.read_bytes("/etc/motd").startswith(b"typed in a tab\n")
