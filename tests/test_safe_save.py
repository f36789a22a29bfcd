"""Saving never destroys what it did not write: files other programs put into the overlay survive
a save at any moment, changed files are conflicts (never silently overwritten or deleted), one
process writes a project at a time, and an interrupted save recovers even in a moved project."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from studio.image import edits
from studio.image import save as saving
from studio.image.document import ImageDocument
from studio.image.entry import FILE, Entry
from studio.image.lock import ProjectLock, ProjectLocked, read_owner
from studio.image.save import SaveConflict
from conftest import REPO, run_studio


def add_files(doc: ImageDocument, folder: str, count: int, size: int = 2048) -> None:
    entries = []
    for i in range(count):
        source, length, sha = doc.store_bytes(f"{folder}{i}-{time.time_ns()}".encode() * (size // 24))
        entries.append(Entry(f"{folder}/f{i}", FILE, 0o644, size=length, sha256=sha, source=source))
    doc.state.apply(edits.add_entries(doc.state, entries, "add"))


def test_a_file_appearing_in_the_overlay_at_any_moment_survives_the_save(new_project):
    """An external program (git checkout, an editor) creates a file while the studio saves: before
    the save reads the disk, while it writes, or after. Whatever the timing, the file survives
    and the next look at the disk shows it as a change."""
    project = new_project("racing")
    doc = ImageDocument(project)
    add_files(doc, "/opt/seed", 40)
    started = time.perf_counter()
    doc.save()
    estimate = time.perf_counter() - started
    rng = random.Random(8)
    lost, timings = 0, {"before": 0, "during": 0, "after": 0}
    rounds = 200
    for n in range(rounds):
        # Something to save each round: new files, one deleted, one edited.
        add_files(doc, f"/opt/r{n}", 8)
        doc.state.apply(edits.remove(doc.state, [f"/opt/seed/f{n % 40}"]) if doc.state.entry(f"/opt/seed/f{n % 40}")
                        else edits.new_folder(doc.state, f"/opt/empty{n}"))
        outsider = project.overlay_dir / "opt" / f"outside-{n}.txt"
        delay = rng.uniform(-estimate * 0.3, estimate * 1.5)  # below 0: just before the save starts
        marks = {}

        def create():
            time.sleep(max(0.0, delay))  # the point of the test: an arbitrary moment relative to the save
            outsider.parent.mkdir(parents=True, exist_ok=True)
            outsider.write_text(f"not the studio's {n}\n")
            marks["created"] = time.perf_counter()

        writer = threading.Thread(target=create)
        writer.start()
        if delay < 0:
            writer.join()
        begun = time.perf_counter()
        doc.save()
        ended = time.perf_counter()
        writer.join()
        when = "before" if marks["created"] < begun else "during" if marks["created"] < ended else "after"
        timings[when] += 1
        if not outsider.exists() or outsider.read_text() != f"not the studio's {n}\n":
            lost += 1
        change = doc.disk_change()  # what the window's watcher does next
        assert change is not None and f"/opt/outside-{n}.txt" in change.after
        doc.state.apply(change)
    print(f"\n{rounds} saves racing an external file: lost {lost}; created {timings}")
    assert lost == 0
    assert timings["before"] > 0  # the case today's save deleted
    doc.close()


def test_an_externally_changed_file_is_a_conflict_not_overwritten(new_project):
    project = new_project("conflict")
    doc = ImageDocument(project)
    hostname = project.overlay_path("/etc/hostname")
    assert hostname.exists()  # the preset writes it
    # Someone edits /etc/hostname on disk; the user edits it in the studio.
    hostname.write_text("theirs\n")
    source, size, sha = doc.store_bytes(b"mine\n")
    doc.state.apply(edits.set_content(doc.state, "/etc/hostname", source, size, sha))
    with pytest.raises(SaveConflict) as info:
        doc.save()
    assert "/etc/hostname" in info.value.paths and "nothing was saved" in str(info.value)
    assert hostname.read_text() == "theirs\n"
    assert not (project.root / ".studio" / "save").exists()
    # Choosing to overwrite is explicit.
    doc.save(overwrite={"/etc/hostname"})
    assert hostname.read_text() == "mine\n"
    doc.close()


def test_deleting_a_file_changed_on_disk_is_a_conflict(new_project):
    project = new_project("gone")
    doc = ImageDocument(project)
    rcs = project.overlay_path("/etc/init.d/rcS")
    rcs.write_text(rcs.read_text() + "echo theirs\n")
    doc.state.apply(edits.remove(doc.state, ["/etc/init.d/rcS"]))
    with pytest.raises(SaveConflict, match="rcS"):
        doc.save()
    assert rcs.read_text().endswith("echo theirs\n")
    doc.close()


def test_overlay_toml_changed_on_disk_is_a_conflict(new_project):
    project = new_project("meta")
    doc = ImageDocument(project)
    meta = project.root / "overlay.toml"
    meta.write_text(meta.read_text() + '\n[attrs."/etc/motd"]\nmode = "0600"\n')
    doc.state.apply(edits.set_properties(doc.state, "/etc/issue", mode=0o600))
    with pytest.raises(SaveConflict, match="overlay.toml"):
        doc.save()
    assert '"/etc/motd"' in meta.read_text()
    # Loading the change from disk first merges it; then the save keeps both.
    doc.state.apply(doc.disk_change())
    doc.save()
    reopened = ImageDocument.open(project.root, writable=False)
    assert reopened.state.entry("/etc/motd").mode == 0o600
    assert reopened.state.entry("/etc/issue").mode == 0o600
    doc.close()


def test_a_folder_holding_unknown_files_is_not_removed(new_project):
    project = new_project("folders")
    doc = ImageDocument(project)
    add_files(doc, "/srv/site", 3)
    doc.save()
    stranger = project.overlay_dir / "srv" / "site" / "stranger.txt"
    stranger.write_text("someone else's\n")
    doc.state.apply(edits.remove(doc.state, ["/srv/site"]))
    doc.save()  # removes what it wrote, keeps what it did not know
    assert stranger.read_text() == "someone else's\n"
    assert sorted(p.name for p in stranger.parent.iterdir()) == ["stranger.txt"]
    doc.close()


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from studio.image import edits
    from studio.image.document import ImageDocument
    from studio.image.entry import FILE, Entry
    from studio.errors import StudioError
    root, which, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    try:
        doc = ImageDocument.open(root)
    except StudioError as err:
        print("refused:", err, flush=True)
        sys.exit(3)
    entries = []
    for i in range(200):
        source, size, sha = doc.store_bytes(f"{{which}}{{i}} ".encode() * 500)
        entries.append(Entry(f"/opt/{{which}}/f{{i}}", FILE, 0o644, size=size, sha256=sha, source=source))
    doc.state.apply(edits.add_entries(doc.state, entries, "add"))
    doc.save()
    doc.close()
    print("saved", flush=True)
""").format(repo=str(REPO))


def test_two_processes_saving_at_once_one_wins_the_other_is_told(new_project, tmp_path):
    project = new_project("two")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    go = tmp_path / "go"
    children = {w: subprocess.Popen([sys.executable, str(script), str(project.root), w, str(go)],
                                    stdout=subprocess.PIPE, text=True) for w in "AB"}
    for child in children.values():
        assert child.stdout.readline().strip() == "ready"
    go.touch()
    outputs = {w: c.communicate(timeout=120)[0] for w, c in children.items()}
    codes = {w: c.returncode for w, c in children.items()}
    winners = [w for w, code in codes.items() if code == 0]
    assert len(winners) == 1, (codes, outputs)
    loser = "B" if winners == ["A"] else "A"
    assert codes[loser] == 3
    assert "is open for writing in PID" in outputs[loser] and str(children[winners[0]].pid) in outputs[loser]
    doc = ImageDocument.open(project.root, writable=False)
    assert len([p for p in doc.state.entries if p.startswith(f"/opt/{winners[0]}/")]) == 200
    assert not any(p.startswith(f"/opt/{loser}/") for p in doc.state.entries)
    assert not (project.root / ".studio" / "save").exists()


def test_the_cli_refuses_while_the_project_is_open_and_waits_when_asked(new_project, tmp_path):
    project = new_project("busy")
    note = tmp_path / "note.txt"
    note.write_text("hi\n")
    doc = ImageDocument(project)  # as the window holds it
    refused = run_studio("add", str(project.root), str(note), "--to", "/root")
    assert refused.returncode == 2
    assert f"open for writing in PID {os.getpid()}" in refused.stderr
    releaser = threading.Timer(1.0, doc.close)  # the window closes the project a moment later
    releaser.start()
    waited = run_studio("add", str(project.root), str(note), "--to", "/root", "--wait", "30")
    releaser.join()
    assert waited.returncode == 0, waited.stderr
    assert ImageDocument.open(project.root, writable=False).read_bytes("/root/note.txt") == b"hi\n"


def test_a_dead_writers_lock_is_recovered(new_project):
    project = new_project("stale")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time; sys.path.insert(0, {str(REPO)!r});"
         "from studio.image.lock import ProjectLock;"
         f"ProjectLock({str(project.root)!r}).acquire(); print('locked', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ProjectLocked, match=f"PID {holder.pid}"):
        ProjectLock(project.root).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert read_owner(project.root)["pid"] == holder.pid  # the dead writer's note is still there
    lock = ProjectLock(project.root).acquire()  # but its lock went with it
    assert read_owner(project.root)["pid"] == os.getpid()
    lock.release()


def test_an_interrupted_save_recovers_in_a_moved_project(new_project, tmp_path, monkeypatch):
    project = new_project("moving")
    doc = ImageDocument(project)
    add_files(doc, "/opt/moved", 5)
    source, size, sha = doc.store_bytes(b"after the move\n")
    doc.state.apply(edits.set_content(doc.state, "/etc/hostname", source, size, sha))

    def crash(root, work):
        raise KeyboardInterrupt("killed right after the commit point")

    monkeypatch.setattr(saving, "_carry_out", crash)
    with pytest.raises(KeyboardInterrupt):
        doc.save()
    monkeypatch.undo()
    doc.close()
    assert (project.root / ".studio" / "save" / "journal.json").exists()
    moved = tmp_path / "elsewhere"
    shutil.move(str(project.root), moved)
    reopened = ImageDocument.open(moved)
    assert reopened.interrupted_save_finished
    assert reopened.read_bytes("/etc/hostname") == b"after the move\n"
    assert reopened.state.entry("/opt/moved/f4") is not None
    assert not (moved / ".studio" / "save").exists()
    reopened.close()


def test_a_replayed_journal_keeps_a_file_changed_after_the_commit_point(new_project, monkeypatch):
    project = new_project("replay")
    doc = ImageDocument(project)
    source, size, sha = doc.store_bytes(b"studio's\n")
    doc.state.apply(edits.set_content(doc.state, "/etc/hostname", source, size, sha))
    doc.state.apply(edits.remove(doc.state, ["/etc/init.d/rcS"]))
    monkeypatch.setattr(saving, "_carry_out", lambda root, work: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        doc.save()
    monkeypatch.undo()
    doc.close()
    # Between the crash and the next open, someone edits both files the journal replaces/removes.
    project.overlay_path("/etc/hostname").write_text("edited after the crash\n")
    project.overlay_path("/etc/init.d/rcS").write_text("#!/bin/sh\necho edited after the crash\n")
    reopened = ImageDocument.open(project.root)
    assert reopened.read_bytes("/etc/hostname") == b"studio's\n"
    rescued = list((project.root / ".studio" / "rescued").rglob("hostname"))
    assert [p.read_text() for p in rescued] == ["edited after the crash\n"]
    assert project.overlay_path("/etc/init.d/rcS").read_text() == "#!/bin/sh\necho edited after the crash\n"
    reopened.close()
