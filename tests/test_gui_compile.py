"""The Programs panel: compile through the queue, install into the image (undoable), open a
diagnostic at its line, run on the host in the background (output pane shows it; a runaway
program is stopped from the panel while the window stays responsive)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.boot.qtapp import wait_for
from studio.ui.main_window import MainWindow
from studio.ui.text_editor import SourceEditor

PROGRAMS = Path(__file__).with_name("wasi_programs")
SPIN = "int main(void) { volatile unsigned n = 0; for (;;) n++; }\n"


@pytest.fixture
def window(qtbot, new_project, monkeypatch):
    win = MainWindow(new_project("compiled"))
    qtbot.addWidget(win)
    win.show()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    yield win
    win.close()


def test_compile_installs_into_the_image_and_undo_removes_it(window):
    panel = window.compile_panel
    panel.add_program("stdio", [PROGRAMS / "stdio.c"])
    assert (window.project.root / "src" / "stdio" / "stdio.c").exists()
    (job,) = panel.compile([panel.selected()])
    assert wait_for(lambda: job.done and window.editor.state.entry("/usr/local/bin/stdio") is not None, 60), (job.status, panel.package_task and panel.package_task.error, [w.text() for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)])
    assert job.status in ("succeeded", "cached")  # cached when an earlier test compiled the same source
    assert panel.job_table.item(0, 2).text() == job.status
    model = window.editor.model
    assert model.index_of("/usr/local/bin/stdio.wasm").isValid()
    # Installed as its package: written to the project at once (world, lock), like the Packages panel's changes.
    assert "stdio" in window.project.lock.by_name() and window.project.lock.by_name()["stdio"].repository == "programs:"
    assert window.editor.state.status("/usr/local/bin/stdio") != "added"  # not an overlay file: the package's
    window.undo_action.trigger()
    assert window.editor.state.entry("/usr/local/bin/stdio") is None
    assert "stdio" not in window.project.lock.by_name()
    window.redo_action.trigger()
    assert window.editor.state.entry("/usr/local/bin/stdio") is not None


def output_shown(panel) -> bool:
    """The output pane is on screen: its dock raised (it shares a tab with Problems), not collapsed."""
    return panel.output.isVisible() and not panel.output.visibleRegion().isEmpty()


def test_run_on_host_shows_output_and_exit_code(window):
    panel = window.compile_panel
    window.problems_dock.raise_()  # the Programs dock behind its neighbour, as at start-up
    panel.add_program("stdio", [PROGRAMS / "stdio.c"])
    task = panel.run_on_host(panel.selected(), ["--upper"], b"a\nb\nc\n")
    assert wait_for(lambda: task.done and "[exit code" in panel.output.toPlainText(), 120)
    text = panel.output.toPlainText()
    assert text.startswith("$ stdio --upper\n")
    assert "A\nB\nC\n" in text and "read 3 lines" in text and text.endswith("[exit code 0]")
    assert output_shown(panel)
    assert not panel.stop_run_button.isEnabled()


@pytest.mark.timeout(300, method="thread")  # the old, blocking run would never return
def test_a_runaway_run_is_stopped_from_the_panel(window, qtbot, tmp_path):
    panel = window.compile_panel
    (tmp_path / "spin.c").write_text(SPIN)
    panel.add_program("spin", [tmp_path / "spin.c"])
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    task = panel.run_on_host(panel.selected(), [])
    assert wait_for(lambda: "(running…)" in panel.output.toPlainText(), 120), panel.output.toPlainText()
    assert output_shown(panel) and panel.stop_run_button.isEnabled()
    spinning_since = len(ticks)
    assert wait_for(lambda: len(ticks) >= spinning_since + 25, 10)  # the event loop runs meanwhile
    gaps = [b - a for a, b in zip(ticks[spinning_since:], ticks[spinning_since + 1:])]
    print(f"\nwhile the program spun: {len(gaps)} timer ticks, longest gap {max(gaps) * 1000:.0f} ms")
    assert max(gaps) < 0.5
    pressed = time.monotonic()
    qtbot.mouseClick(panel.stop_run_button, Qt.MouseButton.LeftButton)
    assert wait_for(lambda: task.done and "[cancelled]" in panel.output.toPlainText(), 10)
    print(f"stopped {time.monotonic() - pressed:.2f} s after the click")
    assert panel.output.toPlainText() == "$ spin\n[cancelled]"
    assert not panel.stop_run_button.isEnabled()
    timer.stop()


def test_diagnostic_opens_the_source_at_its_line(window):
    panel = window.compile_panel
    panel.add_program("broken", [PROGRAMS / "broken.c"])
    (job,) = panel.compile([panel.selected()])
    assert wait_for(lambda: job.done and panel.problems.count() > 0, 60)
    assert job.status == "failed"
    item = next(panel.problems.item(i) for i in range(panel.problems.count())
                if ":5:" in panel.problems.item(i).text())
    panel.problems.itemDoubleClicked.emit(item)
    editor = window.tabs.currentWidget()
    assert isinstance(editor, SourceEditor) and editor.path.name == "broken.c"
    assert editor.error_line() == 5


def test_program_definitions_are_undoable(window, tmp_path, monkeypatch):
    from studio.compile import programs
    from studio.image.project import Project

    panel = window.compile_panel
    stack = window.editor.undo_stack
    assert panel.add_program("stdio", [PROGRAMS / "stdio.c"])
    first = programs.find(Project.open(window.project.root), "stdio").install
    shown = panel.install.text()
    panel.install.setText("/usr/bin/stdio")
    panel.apply_program()
    assert programs.find(Project.open(window.project.root), "stdio").install == "/usr/bin/stdio"
    assert [stack.text(i) for i in range(stack.count())] == ["Add program stdio", "Change program stdio"]
    window.undo_action.trigger()
    assert programs.find(Project.open(window.project.root), "stdio").install == first
    assert panel.install.text() == shown
    window.undo_action.trigger()
    assert programs.load(Project.open(window.project.root)) == [] and panel.program_list.count() == 0
    window.redo_action.trigger()
    assert panel.program_list.count() == 1
    # a refused definition is no step and changes nothing
    monkey_boxes = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: monkey_boxes.append(a[2] if len(a) > 2 else ""))
    assert not panel.add_program("ghost", [tmp_path / "missing.c"])
    assert monkey_boxes and "does not exist" in monkey_boxes[0]
    assert stack.count() == 2 and [p.name for p in programs.load(Project.open(window.project.root))] == ["stdio"]
