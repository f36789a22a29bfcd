"""Editing the image (Qt-free core): every edit undoes exactly, rows stay consistent, saves
load back as what was edited."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from studio.errors import StudioError
from studio.image import edits
from studio.image.document import ImageDocument
from studio.image.entry import DIR
from studio.image.state import ImageState


def check_rows(state: ImageState) -> None:
    """Rows list exactly the live children plus the deletable base ghosts of each live folder."""
    for path, entry in state.entries.items():
        if entry.kind != DIR:
            assert path not in state.rows
            continue
        prefix = "" if path == "/" else path
        live = {p.rsplit("/", 1)[1] for p in state.entries if p != "/" and p.rsplit("/", 1)[0] == prefix}
        if path == "/":
            live = {p[1:] for p in state.entries if p != "/" and p.count("/") == 1}
        ghosts = {p.rsplit("/", 1)[1] for p in state.base if p != "/" and (p.rsplit("/", 1)[0] or "/") == path
                  and p not in state.entries}
        assert state.rows[path] == sorted(live | ghosts), path


def nonempty(rows):
    return {k: v for k, v in rows.items() if v}


class Recorder:
    """An observer that replays notifications onto its own copy of the rows, checking order."""

    def __init__(self, state):
        self.state = state
        self.rows = {k: list(v) for k, v in state.rows.items()}
        self.pending = None

    def nonempty(self):
        return nonempty(self.rows)

    def rows_about_to_be_inserted(self, parent, first, last):
        self.pending = ("insert", parent, first, last)

    def rows_inserted(self):
        _, parent, first, last = self.pending
        names = self.state.rows[parent]
        self.rows.setdefault(parent, [])[first:first] = names[first:last + 1]
        self.pending = None

    def rows_about_to_be_removed(self, parent, first, last):
        del self.rows[parent][first:last + 1]

    def rows_removed(self):
        pass

    def row_changed(self, path):
        pass

    def about_to_reset(self):
        pass

    def change_started(self):
        pass

    def change_finished(self):
        pass

    def reset(self):
        self.rows = {k: list(v) for k, v in self.state.rows.items()}


@pytest.fixture(scope="module")
def doc_factory(alpine_project):
    return lambda: ImageDocument(alpine_project)


NAMES = st.sampled_from(["a", "b", "etc", "motd", "x y", "ünï"])
FOLDERS = st.sampled_from(["/", "/etc", "/root", "/usr/bin", "/a", "/etc/apk", "/tmp"])


@st.composite
def edit_steps(draw):
    return draw(st.lists(st.tuples(st.sampled_from(
        ["file", "folder", "symlink", "remove", "move", "props", "restore", "content", "drop"]),
        FOLDERS, NAMES, st.integers(0, 0o777)), min_size=1, max_size=25))


def _try_edit(doc, kind, folder, name, number):
    state = doc.state
    path = ("" if folder == "/" else folder) + "/" + name
    if kind == "file":
        source, size, sha = doc.store_bytes(f"content {number}".encode())
        return edits.new_file(state, path, source, size, sha, mode=number)
    if kind == "folder":
        return edits.new_folder(state, path, mode=number)
    if kind == "symlink":
        return edits.new_symlink(state, path, f"/target/{number}")
    live = sorted(state.entries)
    pick = live[number % len(live)]
    if kind == "remove":
        return edits.remove(state, [pick])
    if kind == "move":
        return edits.move(state, pick, path)
    if kind == "props":
        return edits.set_properties(state, pick, mode=number, uid=number % 7)
    if kind == "restore":
        ghosts = [p for p in state.base if state.ghost(p) is not None]
        if not ghosts:
            raise StudioError("nothing to restore")
        return edits.restore(state, ghosts[number % len(ghosts)])
    if kind == "content":
        source, size, sha = doc.store_bytes(f"edited {number}".encode())
        return edits.set_content(state, pick, source, size, sha)
    source, size, sha = doc.store_bytes(b"dropped")
    from studio.image.entry import Entry
    entries = [Entry(path, DIR, 0o755), Entry(path + "/inner", DIR, 0o700),
               Entry(path + "/inner/f", "file", 0o644, size=size, sha256=sha, source=source)]
    return edits.add_entries(state, entries, "Drop", replace=bool(number % 2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=edit_steps())
def test_random_edits_undo_to_the_original_and_redo_to_the_edited(doc_factory, steps):
    doc = doc_factory()
    recorder = Recorder(doc.state)
    doc.state.observers.append(recorder)
    original = dict(doc.state.entries)
    applied = []
    for step in steps:
        try:
            change = _try_edit(doc, *step)
        except StudioError:
            continue
        doc.state.apply(change)
        applied.append(change)
        check_rows(doc.state)
        assert recorder.nonempty() == nonempty(doc.state.rows)
    edited = dict(doc.state.entries)
    for change in reversed(applied):
        doc.state.apply(change.inverse())
    assert doc.state.entries == original
    check_rows(doc.state)
    assert recorder.nonempty() == nonempty(doc.state.rows)
    for change in applied:
        doc.state.apply(change)
    assert doc.state.entries == edited
    assert recorder.nonempty() == nonempty(doc.state.rows)


_counter = itertools.count()


def _comparable(entries):
    return {p: (e.kind, e.mode, e.uid, e.gid, e.size, e.target) for p, e in entries.items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=edit_steps())
def test_saved_edits_load_back_identically(new_project, steps):
    project = new_project(f"saved-{next(_counter)}")
    doc = ImageDocument(project)
    for step in steps:
        try:
            doc.state.apply(_try_edit(doc, *step))
        except StudioError:
            continue
    contents = {p: doc.read_bytes(p) for p, e in doc.state.entries.items() if e.kind == "file"}
    doc.save()
    reopened = ImageDocument.open(project.root)
    assert _comparable(reopened.state.entries) == _comparable(doc.state.entries)
    assert {p: reopened.read_bytes(p) for p in contents} == contents
    assert not reopened.is_dirty()
    assert not doc.is_dirty()
    # Saving again with nothing changed writes nothing.
    assert not reopened.save().writes


def test_edit_errors_say_what_is_wrong(doc_factory):
    doc = doc_factory()
    with pytest.raises(StudioError, match="already exists"):
        edits.new_folder(doc.state, "/etc")
    with pytest.raises(StudioError, match="not a folder"):
        edits.new_file(doc.state, "/etc/motd/x")
    with pytest.raises(StudioError, match="into itself"):
        edits.move(doc.state, "/etc", "/etc/apk/etc")
    with pytest.raises(StudioError, match="not a symlink"):
        edits.set_properties(doc.state, "/etc/motd", target="/x")


def test_deleting_a_base_file_leaves_a_restorable_ghost(doc_factory):
    doc = doc_factory()
    doc.state.apply(edits.remove(doc.state, ["/etc/apk"]))
    assert doc.state.status("/etc/apk") == "deleted"
    assert doc.state.ghost("/etc/apk") is not None
    assert "apk" in doc.state.children("/etc")
    doc.state.apply(edits.restore(doc.state, "/etc/apk"))
    assert doc.state.entry("/etc/apk/arch") is not None
    assert doc.state.status("/etc/apk/arch") == "base"


def test_add_entries_makes_missing_folders_and_undo_removes_them(doc_factory):
    from studio.image.entry import Entry

    doc = doc_factory()
    source, size, sha = doc.store_bytes(b"deep\n")
    change = edits.add_entries(doc.state, [Entry("/opt/a/b/c.txt", "file", 0o644, size=size, sha256=sha,
                                                 source=source)], "Add")
    doc.state.apply(change)
    assert [doc.state.entry(p).mode for p in ("/opt/a", "/opt/a/b")] == [0o755, 0o755]
    doc.state.apply(change.inverse())
    assert doc.state.entry("/opt/a") is None and doc.state.entry("/opt") is not None
    with pytest.raises(StudioError, match="/etc/motd is not a folder"):
        edits.add_entries(doc.state, [Entry("/etc/motd/x", "file", 0o644)], "Add")
