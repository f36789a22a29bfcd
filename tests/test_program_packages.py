"""Programs as apk packages: a compiled program goes into the image as a real package of the
project's own repository (programs:), signed with the project's key (private half in the user's
config, never in the project), in the world and the lock like any package; the guest's apk knows
it (`apk info`, `apk info -L`, `apk del`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_studio
from studio.compile import packaging, programs
from studio.compile.jobs import CompileCache, compile_program
from studio.errors import StudioError
from studio.image import package_ops
from studio.image.document import ImageDocument
from studio.image.project import Project
from studio.packages.apkfile import open_apk
from studio.packages.keys import SigningKey, TrustedKeys

HELLO = '#include <stdio.h>\nint main(void) { puts("hello from a package"); return 0; }\n'


def compiled(project, name: str, source: Path):
    program = programs.add(project, name, [source]) if name not in [p.name for p in programs.load(project)] \
        else programs.find(project, name)
    outcome = compile_program(program, project.root, CompileCache(project.root.parent / "cc"))
    assert outcome.ok, outcome.output
    return program, outcome


def install(project, program, outcome):
    index = project.base_index()
    change, done, packaged = packaging.install(project, index, [program], [outcome])
    package_ops.commit(project, change.settings, done.lock)
    return change, packaged[0]


def test_a_program_is_a_signed_package_in_the_world_and_the_lock(new_project, tmp_path):
    project = new_project("packaged")
    source = tmp_path / "hello.c"
    source.write_text(HELLO)
    program, outcome = compiled(project, "hello", source)
    change, packaged = install(project, program, outcome)
    assert [p.name for p in change.added] == ["hello"] and packaged.version == "0.1-r0"

    reopened = Project.open(project.root)
    assert reopened.packages.world == ["hello=0.1-r0"] and "programs:" in reopened.packages.repositories
    locked = reopened.lock.by_name()["hello"]
    assert locked.repository == "programs:" and locked.version == "0.1-r0"
    doc = ImageDocument(reopened)
    assert doc.read_bytes("/usr/local/bin/hello")[:4] == b"\x7fELF"
    assert doc.read_bytes("/usr/local/bin/hello.wasm")[:4] == b"\0asm"
    assert doc.state.entry("/usr/local/bin/hello").mode == 0o755
    installed = doc.read_bytes("/lib/apk/db/installed").decode()
    assert "P:hello\nV:0.1-r0\n" in installed and "p:cmd:hello=0.1-r0" in installed
    (public,) = (project.root / "keys").glob("studio-programs-*.rsa.pub")
    assert doc.read_bytes(f"/etc/apk/keys/{public.name}") == public.read_bytes()  # the image trusts it
    doc.close()

    # The private half is in the user's config, never in the project folder.
    private = packaging.private_keys_dir() / public.name.removesuffix(".pub")
    assert private.is_file() and private.stat().st_mode & 0o077 == 0
    assert not [p for p in project.root.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]

    # Signed with the project's key: verifies with it, refused with another.
    apk = packaging.repository_dir(project) / "hello-0.1-r0.apk"
    own = TrustedKeys.from_pems({public.name: public.read_bytes()}, "the project's key")
    assert open_apk(apk, own).package.name == "hello"
    other = SigningKey.generate("someone-else", bits=2048)
    with pytest.raises(StudioError):
        open_apk(apk, TrustedKeys.from_pems({public.name: other.public_pem()}, "another key"))

    # The same build again changes nothing; a changed program is the next release.
    again, same = install(Project.open(project.root), program, outcome)
    assert not same.built and same.version == "0.1-r0" and again.is_empty()
    (project.root / program.sources[0]).write_text(HELLO.replace("a package", "release one"))
    program, outcome = compiled(Project.open(project.root), "hello", source)
    change, newer = install(Project.open(project.root), program, outcome)
    assert newer.version == "0.1-r1" and [(old.version, new.version) for old, new in change.upgraded] == \
        [("0.1-r0", "0.1-r1")]
    assert Project.open(project.root).packages.world == ["hello=0.1-r1"]


def test_a_copied_project_without_the_private_key_gets_its_own(new_project, tmp_path, monkeypatch):
    project = new_project("moved")
    source = tmp_path / "hello.c"
    source.write_text(HELLO)
    install(project, *compiled(project, "hello", source))
    (first,) = (project.root / "keys").glob("studio-programs-*.rsa.pub")
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "another-machine"))  # no private key there
    key = packaging.signing_key(Project.open(project.root))
    (second,) = (project.root / "keys").glob("studio-programs-*.rsa.pub")
    assert second.name == key.key_name != first.name
    assert not list(packaging.repository_dir(project).glob("*.apk"))  # signed with the old key: dropped
    project = Project.open(project.root)
    change, packaged = install(project, *compiled(project, "hello", source))
    assert packaged.built and "hello" in Project.open(project.root).lock.by_name()


def test_packaging_is_refused_for_a_failed_compile(new_project, tmp_path):
    project = new_project("failed")
    source = tmp_path / "broken.c"
    source.write_text("int main(void) { return missing; }\n")
    program = programs.add(project, "broken", [source])
    outcome = compile_program(program, project.root, None)
    assert not outcome.ok
    with pytest.raises(StudioError, match="did not compile"):
        packaging.package_program(project, program, outcome, packaging.signing_key(project))


@pytest.mark.boot
def test_the_guest_apk_knows_the_program(new_project, tmp_path):
    from studio.boot.headless import boot_headless

    project = new_project("apk-info")
    source = tmp_path / "hello.c"
    source.write_text(HELLO)
    assert run_studio("program", "add", str(project.root), "hello", "--source", str(source)).returncode == 0
    done = run_studio("compile", str(project.root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello 0.1-r0: package hello-0.1-r0.apk" in done.stdout
    result = boot_headless(project.root, ["hello", "apk info 2>/dev/null | grep -x hello",
                                          "apk info -L hello 2>/dev/null", "apk del hello >/dev/null 2>&1; echo del=$?",
                                          "ls /usr/local/bin | wc -l; grep -c hello /etc/apk/world"], timeout=90)
    assert result.ok, result.reason + result.console[-2000:]
    ran, listed, files, removed, after = (o.replace("\r", "") for o in result.outputs)
    assert ran.strip() == "hello from a package"
    assert listed.strip() == "hello"
    assert "usr/local/bin/hello\n" in files and "usr/local/bin/hello.wasm" in files
    assert removed.strip() == "del=0"
    assert after.split() == ["0", "0"]  # its files and its world entry gone


def test_removing_a_program_takes_its_package_out_and_old_overlay_copies_give_way(new_project, tmp_path):
    project = new_project("removed")
    source = tmp_path / "hello.c"
    source.write_text(HELLO)
    assert run_studio("program", "add", str(project.root), "hello", "--source", str(source)).returncode == 0
    # What an older studio left: the compiled files as overlay files, which would hide the package's.
    project.write_file("/usr/local/bin/hello", b"\x7fELF old build", 0o755)
    project.write_file("/usr/local/bin/hello.wasm", b"\0asm old build")
    project.save_meta()
    done = run_studio("compile", str(project.root))
    assert done.returncode == 0, done.stdout + done.stderr
    project = Project.open(project.root)
    assert not (project.overlay_dir / "usr/local/bin/hello").exists()
    doc = ImageDocument(project)
    assert doc.state.status("/usr/local/bin/hello") == "base"  # the package's file, nothing on top
    assert b"old build" not in doc.read_bytes("/usr/local/bin/hello")
    doc.close()

    removed = run_studio("program", "remove", str(project.root), "hello")
    assert removed.returncode == 0 and "and its package" in removed.stdout, removed.stderr
    project = Project.open(project.root)
    assert project.programs == [] and project.packages.world == [] and "hello" not in project.lock.by_name()
    doc = ImageDocument(project)
    assert doc.state.entry("/usr/local/bin/hello") is None
    doc.close()


def test_the_programs_panel_removes_a_program_with_its_package(qtbot, new_project, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from studio.boot.qtapp import wait_for
    from studio.ui.main_window import MainWindow

    win = MainWindow(new_project("panel"))
    qtbot.addWidget(win)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    source = tmp_path / "hello.c"
    source.write_text(HELLO)
    panel = win.compile_panel
    panel.add_program("hello", [source])
    (job,) = panel.compile([panel.selected()])
    state = win.editor.state
    assert wait_for(lambda: state.entry("/usr/local/bin/hello") is not None, 120)
    panel.remove_program()
    assert wait_for(lambda: state.entry("/usr/local/bin/hello") is None, 60)
    assert win.project.packages.world == [] and programs.load(win.project) == []
    win.undo_action.trigger()  # the package comes back...
    assert state.entry("/usr/local/bin/hello") is not None and "hello" in win.project.lock.by_name()
    assert programs.load(win.project) == []
    win.undo_action.trigger()  # ...then the program's definition, on disk and in the panel
    assert [p.name for p in programs.load(Project.open(win.project.root))] == ["hello"]
    assert [panel.program_list.item(i).text() for i in range(panel.program_list.count())] == ["hello"]
    win.redo_action.trigger()
    assert programs.load(Project.open(win.project.root)) == [] and panel.program_list.count() == 0
    win.close()


def test_a_clone_without_the_scratch_folder_compiles_back_to_the_same_lock(new_project, alpine_mirror, tmp_path):
    import shutil

    project = new_project("original")
    source = tmp_path / "hello.c"
    source.write_text(HELLO)
    assert run_studio("program", "add", str(project.root), "hello", "--source", str(source)).returncode == 0
    assert run_studio("compile", str(project.root)).returncode == 0
    lock = (project.root / "packages.lock").read_text()
    clone = tmp_path / "clone"  # what git gives on another machine: no .studio/, no caches, no private key
    shutil.copytree(project.root, clone, ignore=shutil.ignore_patterns(".studio", ".build"))
    elsewhere = {"STUDIO_CONFIG_DIR": str(tmp_path / "config2"), "STUDIO_CACHE_DIR": str(tmp_path / "cache2"),
                 "STUDIO_ALPINE_MIRROR": alpine_mirror.as_uri()}
    import os

    env = {**os.environ, **elsewhere}
    built = run_studio("build", str(clone), env=env)  # the program's package is not there yet: said, not fatal
    assert built.returncode == 0, built.stderr
    done = run_studio("compile", str(clone), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (clone / "packages.lock").read_text() == lock  # the same release, the same package
    doc = ImageDocument(Project.open(clone))
    assert doc.state.entry("/usr/local/bin/hello") is not None
    doc.close()


def test_a_program_named_like_a_base_package_is_refused(new_project, tmp_path):
    project = new_project("clash")
    source = tmp_path / "busybox.c"
    source.write_text(HELLO)
    program, outcome = compiled(project, "busybox", source)
    with pytest.raises(StudioError, match=r"replace the base's own package of that name \(busybox\)"):
        install(project, program, outcome)
    assert Project.open(project.root).packages.world == []


def test_an_install_and_a_removal_at_once_both_land(qtbot, new_project, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from studio.boot.qtapp import wait_for
    from studio.ui.main_window import MainWindow

    win = MainWindow(new_project("both"))
    qtbot.addWidget(win)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    panel = win.compile_panel
    for name in ("first", "second"):
        (tmp_path / f"{name}.c").write_text(HELLO)
        panel.add_program(name, [tmp_path / f"{name}.c"])
    panel.compile(programs.load(win.project))
    assert wait_for(lambda: set(win.project.lock.by_name()) == {"first", "second"}
                    and panel.package_task.done and not panel._to_install, 120)
    (win.project.root / "src/first/first.c").write_text(HELLO.replace("a package", "a new release"))
    (job,) = panel.compile([programs.find(win.project, "first")])
    assert wait_for(lambda: job.done and panel.package_task is not None and not panel.package_task.done, 60)
    panel.program_list.setCurrentRow([p.name for p in programs.load(win.project)].index("second"))
    panel.remove_program()  # while the new release of `first` is being installed
    assert wait_for(lambda: panel.package_task.done and not panel._to_remove, 120)
    locked = win.project.lock.by_name()
    assert "second" not in locked and locked["first"].version == "0.1-r1", locked
    assert win.project.packages.world == ["first=0.1-r1"]
    win.close()


def test_opening_a_clone_builds_the_programs_this_machine_lacks(qtbot, new_project, tmp_path, monkeypatch):
    import shutil

    from PySide6.QtWidgets import QMessageBox

    from studio.boot.qtapp import wait_for
    from studio.ui.main_window import MainWindow

    project = new_project("original")
    (tmp_path / "hello.c").write_text(HELLO)
    program, outcome = compiled(project, "hello", tmp_path / "hello.c")
    install(project, program, outcome)
    lock = (project.root / "packages.lock").read_text()
    clone = tmp_path / "clone"  # what git gives on another machine: no .studio/, no private key
    shutil.copytree(project.root, clone, ignore=shutil.ignore_patterns(".studio", ".build"))
    # ...and this machine's caches never saw the package (the unpacked copy is shared by projects)
    from studio.image.package_layer import _unpack_cache
    from studio.packages.fetch import cached_package

    locked = Project.open(clone).lock.by_name()["hello"]
    _unpack_cache(locked.checksum).unlink()
    cached_package(locked.name, locked.version, locked.checksum).unlink(missing_ok=True)
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config2"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(Project.open(clone))
    qtbot.addWidget(win)
    said = []
    win.editor.message.connect(said.append)
    assert win.editor.state.entry("/usr/local/bin/hello") is None  # not built here yet
    assert wait_for(lambda: win.editor.state.entry("/usr/local/bin/hello") is not None, 120), \
        [j.outcome.output for j in win.compile_panel.jobs if j.outcome]
    assert any("Compiling hello: this machine has not built its package yet" in m for m in said), said
    assert (clone / "packages.lock").read_text() == lock  # the same release as the lock names
    assert win.editor.undo_stack.count() == 0  # nothing the user did
    win.close()
