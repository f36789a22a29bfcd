"""The export dialog's "Open in Browser": the bundle's URL is always shown (selectable, with a
Copy button), and the dialog says when no browser could be opened."""

from __future__ import annotations

import os
import urllib.request

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QPushButton

from studio.boot.snapshots import SnapshotStore
from studio.ui.export_dialog import ExportDialog


@pytest.fixture
def dialog(qtbot, alpine_project, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "index.html").write_text("<title>the exported bundle</title>")
    dialog = ExportDialog(alpine_project, SnapshotStore())
    qtbot.addWidget(dialog)
    dialog.out = bundle  # as after an export
    dialog.open_button.setEnabled(True)
    dialog.show()
    return dialog


def _open(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)


def test_no_browser_shows_the_url_and_says_so(qtbot, dialog, monkeypatch):
    # The desktop's launcher (xdg-open through QDesktopServices) finds no browser.
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    _open(qtbot, dialog)
    url = dialog.url_field.text()
    assert url.startswith("http://127.0.0.1:") and dialog.url_field.isVisible()
    assert dialog.url_field.isReadOnly()  # selectable, not editable
    with urllib.request.urlopen(url + "index.html", timeout=10) as answer:  # the URL serves the bundle
        assert b"the exported bundle" in answer.read()
    note = dialog.open_note.text()
    assert dialog.open_note.isVisible() and "Could not open a browser" in note and "root" not in note
    copy = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Copy")
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == url


def test_as_root_it_says_chromium_needs_no_sandbox(qtbot, dialog, monkeypatch):
    # xdg-open starts (so openUrl says True) but Chromium refuses to run as root without --no-sandbox.
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: True))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    _open(qtbot, dialog)
    assert dialog.url_field.text().startswith("http://127.0.0.1:")
    note = dialog.open_note.text()
    assert "--no-sandbox" in note and "as root" in note and "open the URL in a browser" in note


def _export_as(qtbot, dialog, kind: str, out) -> str:
    dialog.format.setCurrentIndex(dialog.format.findData(kind))
    dialog.folder.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled() and bool(dialog.report.toPlainText()), timeout=60_000)
    return dialog.report.toPlainText()


def test_the_archive_formats_write_and_report_what_they_leave_out(qtbot, new_project, tmp_path):
    import tarfile

    project = new_project("archives")  # this test writes: not the shared read-only project
    project.write_file("/etc/motd", "hello from the studio\n")
    project.write_file("/usr/local/bin/tool", "#!/bin/sh\necho tool\n", 0o755)
    dialog = ExportDialog(project, SnapshotStore())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.with_snapshot.isVisible() and dialog.open_button.isVisible()
    dialog.format.setCurrentIndex(dialog.format.findData("rootfs"))
    assert dialog.folder.text().endswith(f"{project.name}-rootfs.tar.gz")
    assert not dialog.with_snapshot.isVisible() and not dialog.open_button.isVisible()  # web-only choices

    report = _export_as(qtbot, dialog, "rootfs", tmp_path / "image.tar.gz")
    assert "rootfs" in report and (tmp_path / "image.tar.gz").is_file()
    with tarfile.open(tmp_path / "image.tar.gz") as tar:
        names = tar.getnames()
        assert "./usr/local/bin/tool" in names and "./bin/busybox" in names
        assert tar.extractfile("./etc/motd").read() == b"hello from the studio\n"

    report = _export_as(qtbot, dialog, "apkovl", tmp_path / "backup.apkovl.tar.gz")
    with tarfile.open(tmp_path / "backup.apkovl.tar.gz") as tar:
        assert "etc/motd" in tar.getnames() and "usr/local/bin/tool" not in tar.getnames()
    # the file lbu cannot carry is named to the user, not silently dropped
    assert "NOT in the archive" in report and "/usr/local/bin/tool" in report
