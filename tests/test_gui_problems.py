"""One Problems panel for every diagnostic: a compile error and an inittab error side by side,
counted in the status bar, each double-clickable to its place; package problems too."""

from __future__ import annotations

from pathlib import Path

from studio.boot.qtapp import wait_for
from studio.image import edits
from studio.ui.text_editor import SourceEditor

PROGRAMS = Path(__file__).with_name("wasi_programs")


def texts(win) -> list[str]:
    return [win.problems.item(i).text() for i in range(win.problems.count())]


def test_compile_and_inittab_errors_together(open_window, new_project):
    win = open_window(new_project("troubled"))
    doc = win.editor.doc
    source, size, sha = doc.store_bytes(doc.read_bytes("/etc/inittab") + b"::bogus:/bin/true\n")
    win.editor.perform(edits.set_content(win.editor.state, "/etc/inittab", source, size, sha))
    panel = win.compile_panel
    panel.add_program("broken", [PROGRAMS / "broken.c"])
    (job,) = panel.compile([panel.selected()])
    assert wait_for(lambda: job.done and any("broken:" in t for t in texts(win)), 120), texts(win)
    assert wait_for(lambda: any("unknown action 'bogus'" in t for t in texts(win)), 10), texts(win)
    errors = [t for t in texts(win) if t.startswith("✖")]
    assert any("broken.c" in t for t in errors) and any("/etc/inittab" in t for t in errors)
    assert win.problem_counts.text().startswith(f"✖ {len(errors)}")
    compile_item = next(win.problems.item(i) for i in range(win.problems.count())
                        if "broken.c" in win.problems.item(i).text())
    win.problems.itemDoubleClicked.emit(compile_item)
    assert isinstance(win.tabs.currentWidget(), SourceEditor)
    inittab_item = next(win.problems.item(i) for i in range(win.problems.count())
                        if "bogus" in win.problems.item(i).text())
    win.problems.itemDoubleClicked.emit(inittab_item)
    assert win.tabs.currentWidget() is win.inittab_editor


def test_a_lock_for_another_package_list_is_a_problem(open_window, new_project):
    project = new_project("stale-lock")
    project.packages.world = ["nano"]  # edited by hand: the lock (none) was not resolved for it
    project.save_settings()
    from studio.image.project import Project

    win = open_window(Project.open(project.root))
    assert any("packages.lock was resolved for another package list" in t for t in texts(win)), texts(win)
