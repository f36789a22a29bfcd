"""Prebuilt WebAssembly modules: a wasm32-wasi command compiled elsewhere (here by a separate zig
invocation, not through the queue) is added with `--source X.wasm`, translated and installed like
a compiled program, and gives in the guest what wasmtime gives on the host; modules the guest
cannot run are refused, naming what is wrong; a .wasm dropped on the tree can become a program."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_studio
from studio.boot.qtapp import wait_for
from studio.compile.hostrun import run_wasm

PROGRAMS = Path(__file__).with_name("wasi_programs")


def zig_module(tmp_path: Path, source: str, name: str, *flags: str) -> Path:
    """A .wasm built the way another project would build it: zig directly, no studio involved."""
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / f"{name}.wasm"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", *flags, str(src),
                    "-o", str(out)], check=True, capture_output=True)
    return out


def report(code: int, stdout: bytes, stderr: bytes) -> str:
    return f"EXIT={code}\n{stdout.decode()}---STDERR---\n{stderr.decode()}".rstrip("\n")


@pytest.mark.boot
def test_a_module_built_elsewhere_runs_in_the_guest_as_on_the_host(new_project, tmp_path):
    from studio.boot.headless import boot_headless

    module = zig_module(tmp_path, (PROGRAMS / "exitcode.c").read_text(), "exits", "-s")
    host = run_wasm(module, ["142"], b"", {}, root=tmp_path, name="exits")
    expected = report(host.exit_code, host.stdout, host.stderr)
    assert expected.startswith("EXIT=42\nexiting with 142")

    project = new_project("prebuilt")
    added = run_studio("program", "add", str(project.root), "exits", "--source", str(module),
                       "--install", "/usr/bin/exits")
    assert added.returncode == 0, added.stderr
    assert "/usr/bin/exits.wasm" in added.stdout
    compiled = run_studio("compile", str(project.root))
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert "installed /usr/bin/exits\n" in compiled.stdout and "installed /usr/bin/exits.wasm" in compiled.stdout
    on_host = run_studio("run", str(project.root), "exits", "142")  # the installed module, by name
    assert on_host.returncode == 42 and "exiting with 142" in on_host.stdout

    # Short commands: a line longer than the terminal comes back wrapped into the output.
    commands = ["dmesg -n 1", "exits 142 >/tmp/o 2>/tmp/e; echo EXIT=$?", "cat /tmp/o; echo ---STDERR---; cat /tmp/e",
                "head -c 4 /usr/bin/exits.wasm | od -An -c"]
    result = boot_headless(project.root, commands, timeout=90)
    assert result.ok, result.reason + result.console[-2000:]
    guest = "\n".join(out.replace("\r", "").rstrip("\n") for out in result.outputs[1:3])
    assert guest == expected
    assert "\\0   a   s   m" in result.outputs[3]  # the module itself is installed beside the program


FOREIGN = """
__attribute__((import_module("env"), import_name("magic"))) int magic(int);
int main(void) { return magic(3); }
"""
SOCKETS = """
__attribute__((import_module("wasi_snapshot_preview1"), import_name("sock_open"))) int sock_open(int, int, int*);
int main(void) { int fd; return sock_open(2, 1, &fd); }  /* WasmEdge's extension, not WASI preview 1 */
"""


def test_modules_the_guest_cannot_run_are_refused_by_name(new_project, tmp_path):
    project = new_project("refused")
    cases = [
        (zig_module(tmp_path, FOREIGN, "foreign"), "imports env.magic (a function), which is not part of WASI preview 1"),
        (zig_module(tmp_path, SOCKETS, "sockets"), "imports wasi_snapshot_preview1.sock_open, which the studio's "
                                                   "WASI layer does not provide"),
        (zig_module(tmp_path, "int add(int a, int b) { return a + b; }\n", "library", "-mexec-model=reactor"),
         "exports no _start function: it is a library"),
    ]
    component = tmp_path / "component.wasm"
    component.write_bytes(b"\0asm\x0d\0\x01\0")
    cases.append((component, "is a WebAssembly component (WASI preview 2)"))
    text = tmp_path / "notes.wasm"
    text.write_text("hello\n")
    cases.append((text, "is not a WebAssembly module"))
    truncated = tmp_path / "truncated.wasm"
    truncated.write_bytes(b"\0asm\x01\0\0\0\x01\xff")
    cases.append((truncated, "is not a valid WebAssembly module"))
    for module, message in cases:
        done = run_studio("program", "add", str(project.root), module.stem, "--source", str(module))
        assert done.returncode == 2 and message in done.stderr, (module.name, done.stderr)
        assert "Traceback" not in done.stderr
    assert "[[programs]]" not in (project.root / "studio.toml").read_text()  # nothing was added
    assert not (project.root / "src").exists()  # nor copied in

    mixed = run_studio("program", "add", str(project.root), "mixed", "--source", str(tmp_path / "foreign.c"),
                       "--source", str(tmp_path / "foreign.wasm"))
    assert mixed.returncode == 2 and "only source" in mixed.stderr
    native = run_studio("program", "add", str(project.root), "native", "--source", str(tmp_path / "foreign.wasm"),
                        "--target", "i386")
    assert native.returncode == 2 and "wasm32-wasi" in native.stderr


def test_a_module_dropped_on_the_tree_becomes_a_program(qtbot, new_project, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from studio.compile import programs
    from studio.ui.main_window import MainWindow

    module = zig_module(tmp_path, (PROGRAMS / "exitcode.c").read_text(), "tool", "-s")
    plain = tmp_path / "readme.txt"
    plain.write_text("beside the module\n")
    win = MainWindow(new_project("dropped"))
    qtbot.addWidget(win)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    asked = []
    win.editor.ask_module_drop = lambda wasm, folder: asked.append((wasm, folder)) or "program"
    win.editor.drop_host_files([module, plain], "/opt/tools")
    assert asked == [([module], "/opt/tools")]
    (program,) = programs.load(win.project)
    assert program.prebuilt and program.install == "/opt/tools/tool"
    state = win.editor.state
    assert state.entry("/opt/tools/readme.txt") is not None  # the other file is copied as dropped
    assert wait_for(lambda: state.entry("/opt/tools/tool") is not None and state.entry("/opt/tools/tool.wasm")
                    is not None, 120)
    assert state.entry("/opt/tools/tool.wasm").size == module.stat().st_size
    assert "WebAssembly module" in win.compile_panel.language.text()

    win.editor.ask_module_drop = lambda wasm, folder: "copy"  # or the file itself, as it is
    win.editor.drop_host_files([module], "/srv")
    assert state.entry("/srv/tool.wasm") is not None and len(programs.load(win.project)) == 1
    win.close()
