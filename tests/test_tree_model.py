"""The rootfs tree model passes Qt's model tester, through edits, undo and filtering."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.image import edits
from studio.image.document import ImageDocument
from studio.ui.tree_model import COLUMNS, MODE, NAME, OWNER, PACKAGE, STATUS, ImageTreeModel


def _model(project):
    doc = ImageDocument(project)
    return doc, ImageTreeModel(doc.state, doc.read_bytes)


def test_model_tester_through_edits_undo_and_filters(qtmodeltester, alpine_project):
    doc, model = _model(alpine_project)
    qtmodeltester.check(model, force_py=True)
    state = doc.state
    source, size, sha = doc.store_bytes(b"hello\n")
    builders = [
        lambda: edits.new_folder(state, "/srv/web"),
        lambda: edits.new_file(state, "/srv/web/index.html", source, size, sha),
        lambda: edits.new_symlink(state, "/srv/current", "/srv/web"),
        lambda: edits.remove(state, ["/etc/apk"]),
        lambda: edits.move(state, "/srv/web", "/opt/web"),
        lambda: edits.restore(state, "/etc/apk"),
        lambda: edits.set_properties(state, "/opt/web", mode=0o700),
    ]
    applied = []
    for build in builders:
        applied.append(build())
        state.apply(applied[-1])
    for change in reversed(applied):
        state.apply(change.inverse())
    assert model.rowCount() == len(state.children("/"))
    model.set_filter(lambda path: state.status(path) != "base")
    state.apply(edits.remove(state, ["/etc/motd"]))
    assert model.rowCount() == 1  # only /etc, holding the deleted motd
    model.set_filter(None)
    qtmodeltester.check(model, force_py=True)


def test_columns_show_names_modes_owners_packages_and_status(qapp, alpine_project):
    doc, model = _model(alpine_project)
    busybox = model.index_of("/bin/busybox")
    row = {COLUMNS[c]: model.data(busybox.siblingAtColumn(c)) for c in range(len(COLUMNS))}
    assert row["Name"] == "busybox" and row["Mode"] == "-rwxr-xr-x"
    assert row["Owner"] == "root" and row["Group"] == "root"
    assert row["Package"] == "busybox" and row["Status"] == "base"
    assert row["Size"] == "801.3 KiB"
    inittab = model.index_of("/etc/inittab")
    # The preset replaced it: a file alpine-baselayout owns, so it differs from its package.
    assert model.data(inittab.siblingAtColumn(STATUS)) == "modified vs package"
    assert model.data(inittab.siblingAtColumn(PACKAGE)) == "alpine-baselayout-data"
    rcs = model.index_of("/etc/init.d/rcS")
    assert model.data(rcs.siblingAtColumn(STATUS)) == "added"
    sh = model.index_of("/bin/sh")
    assert model.data(sh.siblingAtColumn(NAME)) == "sh → /bin/busybox"
    assert model.data(sh.siblingAtColumn(MODE)) == "lrwxrwxrwx"


def test_chown_shows_image_user_names(qapp, new_project):
    project = new_project("owners")
    doc, model = _model(project)
    doc.state.apply(edits.set_properties(doc.state, "/etc/motd", uid=1, gid=4, mode=0o600))
    index = model.index_of("/etc/motd")
    assert model.data(index.siblingAtColumn(OWNER)) == "bin"
    assert model.data(index.siblingAtColumn(MODE)) == "-rw-------"
    assert model.data(index.siblingAtColumn(STATUS)) == "modified"


def test_base_file_changed_against_its_package(qapp, tmp_path):
    import base64
    import hashlib

    from studio.image import base
    from studio.image.project import Project
    from tarballs import make_tarball, minimal_rootfs

    def z(data: bytes) -> str:
        return "Z:Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()

    db = f"P:demo\nV:1.0-r0\nF:etc\nR:kept\n{z(b'as shipped')}\nR:edited\n{z(b'as shipped')}\n\n"
    tarball = make_tarball(tmp_path / "demo-x86.tar.gz", minimal_rootfs() + [
        ("./etc/kept", "file", b"as shipped"), ("./etc/edited", "file", b"changed after install"),
        ("./lib/", "dir", None), ("./lib/apk/", "dir", None), ("./lib/apk/db/", "dir", None),
        ("./lib/apk/db/installed", "file", db.encode())])
    project = Project.create(tmp_path / "demo", base.local_source(tarball))
    doc, model = _model(project)
    assert model.status("/etc/kept") == "base"
    assert model.status("/etc/edited") == "modified vs package"
    assert model.data(model.index_of("/etc/edited").siblingAtColumn(PACKAGE)) == "demo"


def test_rename_through_the_model_is_an_edit(qapp, new_project):
    doc, model = _model(new_project("rename"))
    performed = []
    model.perform = lambda change: (performed.append(change), doc.state.apply(change))
    index = model.index_of("/etc/motd")
    assert model.setData(index, "motd.old", Qt.ItemDataRole.EditRole)
    assert doc.state.entry("/etc/motd.old") is not None and doc.state.entry("/etc/motd") is None
    assert performed[0].label == "Rename motd"
    assert model.data(model.index_of("/etc/motd"), Qt.ItemDataRole.DisplayRole) == "motd"  # a ghost now
