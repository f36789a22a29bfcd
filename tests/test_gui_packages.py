"""The Packages panel: searching while typing, details, Add and Remove shown first and undoable,
Check for Updates, and the tree showing package-owned files (and an edit of one as "modified vs
package")."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from apkrepo import build_repository
from studio.boot.qtapp import wait_for
from studio.image import edits
from studio.image.project import Project
from studio.ui.main_window import MainWindow
from studio.ui.tree_model import MODIFIED_VS_PACKAGE, PACKAGE, STATUS
from test_packages_project import with_repository


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    return build_repository(tmp_path_factory.mktemp("guirepo"))


@pytest.fixture
def window(qtbot, new_project, repository, monkeypatch):
    project = with_repository(new_project("packaged"), repository)
    win = MainWindow(Project.open(project.root))
    qtbot.addWidget(win)
    win.resize(1300, 900)
    win.show()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    win.packages_dock.raise_()
    yield win
    win.close()


def cell(win, path, column):
    model = win.editor.model
    return model.index_of(path).siblingAtColumn(column).data()


def test_search_add_undo_redo_and_updates(window):
    panel = window.packages_panel
    assert wait_for(lambda: panel.index is not None, 30), panel.status.text()
    panel.search_box.setText("greet")
    assert wait_for(lambda: [p.name for p in panel.results.rows][:1] == ["greet"], 5)
    assert panel.select("greet")
    assert "so:libgreet.so.1" in panel.details.toPlainText()
    shown = []
    panel.confirm = lambda label, change: shown.append(change.summary()) or True
    task = panel.add(["greet"])
    assert wait_for(lambda: window.editor.state.entry("/usr/bin/greet") is not None, 60), panel.status.text()
    assert "add      greet 2.0-r0" in shown[0] and "libgreet" in shown[0]
    assert task is not None
    window.tree_panel.select("/usr/bin/greet")
    assert cell(window, "/usr/bin/greet", PACKAGE) == "greet"
    assert cell(window, "/usr/bin/greet", STATUS) == "base"
    assert "greet" in panel.world_label.text()
    assert not window.isWindowModified()  # written to the project at once, like a program

    window.undo_action.trigger()
    assert window.editor.state.entry("/usr/bin/greet") is None
    assert Project.open(window.project.root).packages.world == []
    window.redo_action.trigger()
    assert window.editor.state.entry("/usr/bin/greet") is not None

    # A user's edit of a package file shows against the package.
    source, size, sha = window.editor.doc.store_bytes(b"#!/bin/sh\necho mine\n")
    window.editor.perform(edits.set_content(window.editor.state, "/etc/greet/greet.conf", source, size, sha))
    window.tree_panel.select("/etc/greet/greet.conf")
    assert cell(window, "/etc/greet/greet.conf", STATUS) == MODIFIED_VS_PACKAGE

    shown.clear()
    panel.check_updates()
    assert wait_for(lambda: "Nothing to change" in panel.status.text(), 30), panel.status.text()
    assert not shown


def test_a_conflicting_add_is_refused_with_its_reason(window, monkeypatch):
    panel = window.packages_panel
    panel.confirm = lambda label, change: True
    panel.add(["greet"])
    assert wait_for(lambda: window.editor.state.entry("/usr/bin/greet") is not None, 60)
    reports = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: reports.append(box.text()))
    panel.add(["greet-classic"])
    assert wait_for(lambda: bool(reports), 30)
    assert "Nothing was changed" in reports[0] and "greet-classic" in reports[0]
    assert window.editor.state.entry("/usr/bin/greet").size > 0


@pytest.mark.boot
def test_install_scripts_run_from_the_panel(window):
    panel = window.packages_panel
    panel.confirm = lambda label, change: True
    panel.add(["daemon"])
    assert wait_for(lambda: window.editor.state.entry("/var/lib/daemond/installed") is not None, 120), \
        panel.status.text()
    passwd = window.editor.doc.read_bytes("/etc/passwd").decode()
    assert "daemond:x:" in passwd
    assert cell(window, "/usr/sbin/daemond", PACKAGE) == "daemon"


@pytest.mark.boot
def test_what_the_machine_installs_can_be_kept(window):
    from test_guest_network import LEASE

    asked = []
    window.machine_packages.ask_record = lambda added, removed: asked.append((added, removed)) or True
    window.packages_panel.confirm = lambda label, change: True
    assert wait_for(lambda: window.session.page_ready, 30)
    window.boot()
    assert wait_for(lambda: window.session.state == "running", 90)
    console = window.session.console
    mark = console.position
    window.session.type(LEASE + "; apk update >/dev/null 2>&1; apk add greet >/dev/null 2>&1; echo added=$?\n")
    assert wait_for(lambda: "added=0" in console.since(mark), 90), console.since(mark)
    # Once apk has been quiet a moment, the studio reads the guest's world and offers to keep it.
    assert wait_for(lambda: bool(asked), 30), window.statusBar().currentMessage()
    assert asked[0] == (["greet"], [])
    assert wait_for(lambda: window.editor.state.entry("/usr/bin/greet") is not None, 60), \
        window.packages_panel.status.text()
    assert Project.open(window.project.root).packages.world == ["greet"]


def test_a_package_added_while_a_program_installs_waits_and_both_land(window, tmp_path):
    from studio.compile import programs

    panel, compile_panel = window.packages_panel, window.compile_panel
    assert wait_for(lambda: panel.index is not None, 30), panel.status.text()
    refusals = []

    def confirm(label, change):
        # Asked while "Add greet" holds the slot, after the program's change landed: undoing that now
        # would write a lock under the running change, so it is refused, saying why.
        window.undo_action.trigger()
        refusals.append(window.statusBar().currentMessage())
        return True

    panel.confirm = confirm
    source = tmp_path / "hello.c"
    source.write_text('#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
    compile_panel.add_program("hello", [source])
    (job,) = compile_panel.compile([programs.find(window.project, "hello")])
    # the Programs panel is installing the program's package: the Packages panel's change waits
    assert wait_for(lambda: job.done and compile_panel.package_task is not None
                    and not compile_panel.package_task.done, 120), job.outcome and job.outcome.output
    assert panel.add(["greet"]) is None
    assert "waits for “Programs”" in panel.status.text()
    assert window.editor.package_slot.busy
    assert wait_for(lambda: not window.editor.package_slot.busy and "greet: done" in panel.status.text(), 120), \
        panel.status.text()
    assert refusals and "Cannot undo “Install hello” while “Add greet” changes the packages" in refusals[0], refusals
    project = Project.open(window.project.root)
    assert set(project.lock.by_name()) >= {"hello", "greet", "libgreet"}
    assert sorted(project.packages.world) == ["greet", "hello=0.1-r0"], project.packages.world
    assert window.editor.state.entry("/usr/bin/greet") is not None
    assert window.editor.state.entry("/usr/local/bin/hello") is not None
    # two steps, undone in turn: first greet, then the program
    window.undo_action.trigger()
    assert window.editor.state.entry("/usr/bin/greet") is None
    assert window.editor.state.entry("/usr/local/bin/hello") is not None
    window.undo_action.trigger()
    assert window.editor.state.entry("/usr/local/bin/hello") is None
