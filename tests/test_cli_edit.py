"""`studio add` injects like a drop; `studio check` reports what the editors flag."""

from __future__ import annotations

import os

from studio.image.document import ImageDocument
from conftest import run_studio


def test_add_folder_keeps_modes_and_refuses_to_replace(new_project, tmp_path):
    project = new_project("adding")
    tree = tmp_path / "tools"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    os.chmod(tree / "bin" / "hello", 0o755)
    (tree / "README").write_text("read me\n")
    result = run_studio("add", str(project.root), str(tree), "--to", "/opt")
    assert result.returncode == 0, result.stderr
    doc = ImageDocument.open(project.root, writable=False)
    assert doc.state.entry("/opt/tools/bin/hello").mode == 0o755
    assert doc.state.entry("/opt/tools/README").mode == 0o644
    assert doc.read_bytes("/opt/tools/bin/hello") == b"#!/bin/sh\necho hello\n"
    assert (project.overlay_dir / "opt/tools/bin/hello").read_text() == "#!/bin/sh\necho hello\n"

    (tree / "README").write_text("changed\n")
    again = run_studio("add", str(project.root), str(tree / "README"), "--to", "/opt/tools")
    assert again.returncode == 1 and "--replace" in again.stderr and "/opt/tools/README" in again.stderr
    assert ImageDocument.open(project.root, writable=False).read_bytes("/opt/tools/README") == b"read me\n"
    replaced = run_studio("add", str(project.root), str(tree / "README"), "--to", "/opt/tools",
                          "--replace", "--mode", "600")
    assert replaced.returncode == 0, replaced.stderr
    doc = ImageDocument.open(project.root, writable=False)
    assert doc.read_bytes("/opt/tools/README") == b"changed\n"
    assert doc.state.entry("/opt/tools/README").mode == 0o600


def test_check_passes_the_preset_and_flags_breakage(new_project):
    project = new_project("checked")
    ok = run_studio("check", str(project.root))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 errors" in ok.stdout

    project.write_file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n::bogus:/bin/true\n")
    project.write_file("/etc/init.d/rcS", "#!/bin/sh\nif true; then\n  echo hi\n", mode=0o755)
    project.save_meta()
    bad = run_studio("check", str(project.root))
    assert bad.returncode == 1
    assert "/etc/inittab:2: error: unknown action 'bogus'" in bad.stdout
    assert "no prompt" in bad.stdout
    assert "/etc/init.d/rcS:4: error:" in bad.stdout  # the unterminated if, reported at the end


def test_check_flags_a_wrong_architecture(new_project):
    project = new_project("arch")
    project.write_file("/etc/apk/arch", "x86_64\n")
    result = run_studio("check", str(project.root))
    assert result.returncode == 1
    assert "/etc/apk/arch: error: the image says it is x86_64; v86 boots 32-bit x86 only" in result.stdout


def test_export_copies_files_folders_symlinks_and_modes(new_project, tmp_path):
    doc = ImageDocument.open(new_project("export").root)
    written = doc.export("/etc/apk", tmp_path / "out")
    assert written >= 4
    assert (tmp_path / "out" / "apk" / "arch").read_text() == "x86\n"
    doc.export("/bin/sh", tmp_path / "out")
    assert os.readlink(tmp_path / "out" / "sh") == "/bin/busybox"
    doc.export("/etc/init.d/rcS", tmp_path / "out")
    assert os.stat(tmp_path / "out" / "rcS").st_mode & 0o777 == 0o755
