"""The Programs panel: compile through the queue, install into the image (undoable), open a
diagnostic at its line, run on the host."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from studio.boot.qtapp import wait_for
from studio.ui import main_window as main_window_module
from studio.ui.main_window import MainWindow
from studio.ui.text_editor import SourceEditor

PROGRAMS = Path(__file__).with_name("wasi_programs")


@pytest.fixture
def window(qtbot, new_project, monkeypatch):
    win = MainWindow(new_project("compiled"))
    qtbot.addWidget(win)
    win.show()
    monkeypatch.setattr(main_window_module.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    yield win
    win.close()


def test_compile_installs_into_the_image_and_undo_removes_it(window):
    panel = window.compile_panel
    panel.add_program("stdio", [PROGRAMS / "stdio.c"])
    assert (window.project.root / "src" / "stdio" / "stdio.c").exists()
    (job,) = panel.compile([panel.selected()])
    assert wait_for(lambda: job.done and window.editor.state.entry("/usr/local/bin/stdio") is not None, 60)
    assert job.status == "succeeded"
    assert panel.job_table.item(0, 2).text() == "succeeded"
    model = window.editor.model
    assert model.index_of("/usr/local/bin/stdio.wasm").isValid()
    assert window.isWindowModified()
    window.undo_action.trigger()
    assert window.editor.state.entry("/usr/local/bin/stdio") is None

    text = panel.run_on_host(panel.selected(), [], b"a\nb\nc\n")
    assert "A\nB\nC\n" in text and "read 3 lines" in text and "[exit code 0]" in text


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
