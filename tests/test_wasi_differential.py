"""The same WebAssembly programs, run by wasmtime on the host and, translated by wasm2c with the
studio's WASI layer, inside the booted 32-bit guest, print the same things (one boot for all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.compile import packaging, programs
from studio.compile.hostrun import run_wasm
from studio.image import package_ops
from studio.compile.jobs import CompileCache
from studio.compile.queue import CompileQueue

pytestmark = pytest.mark.boot

SOURCES = Path(__file__).with_name("wasi_programs")
STDIN = b"one\ntwo\nthree\n"
ENV = {"STUDIO_TEST": "guest-value"}
CASES = {  # program -> arguments
    "args_env": ["first", "second arg"],
    "stdio": [],
    "files": [],
    "dirs": [],
    "clock": [],
    "exitcode": ["142"],
    "polling": [],
}
RUNNER = """#!/bin/sh
# dt PROGRAM ARGS...: run a test program with a fixed environment and stdin; report all it did.
p=$1; shift
env -i STUDIO_TEST=guest-value "/usr/local/bin/$p" "$@" < /root/input.txt > /tmp/o 2> /tmp/e
echo "EXIT=$?"; cat /tmp/o; echo ---STDERR---; cat /tmp/e
"""


def report(code: int, stdout: bytes, stderr: bytes) -> str:
    return f"EXIT={code}\n{stdout.decode()}---STDERR---\n{stderr.decode()}".rstrip("\n")


def test_host_and_guest_agree(new_project, tmp_path):
    from studio.boot.headless import boot_headless

    project = new_project("wasi")
    for name in CASES:
        programs.add(project, name, [SOURCES / f"{name}.c"])
    queue = CompileQueue(project.root, cache=CompileCache(tmp_path / "cache"))
    try:
        outcomes = queue.wait(queue.submit_all(programs.load(project)))
    finally:
        queue.shutdown()
    assert all(o.ok for o in outcomes), [o.output for o in outcomes if not o.ok]

    host = {}
    for outcome in outcomes:
        wasm = next(a.host_path for a in outcome.artifacts if a.image_path.endswith(".wasm"))
        root = tmp_path / f"root-{outcome.program}"
        (root / "tmp").mkdir(parents=True)
        result = run_wasm(wasm, CASES[outcome.program], STDIN, ENV, root=root, name=outcome.program)
        host[outcome.program] = report(result.exit_code, result.stdout, result.stderr)
    assert "argv[2]=second arg" in host["args_env"] and host["args_env"].startswith("EXIT=7")
    assert host["exitcode"].startswith("EXIT=42")

    change, installed, _ = packaging.install(project, project.base_index(), programs.load(project), outcomes)
    package_ops.commit(project, change.settings, installed.lock)  # each program as its package
    project.write_file("/usr/local/bin/dt", RUNNER, mode=0o755)
    project.write_file("/root/input.txt", STDIN)
    project.save_meta()

    commands = [" ".join(["dt", name] + [f"'{a}'" for a in args]) for name, args in CASES.items()]
    # Kernel warnings (a loaded host makes "hrtimer: interrupt took …") must not land in the outputs.
    result = boot_headless(project.root, ["dmesg -n 1", *commands], timeout=90)
    assert result.ok, result.reason + "\n" + result.console[-3000:]
    guest = {name: out.replace("\r", "").rstrip("\n") for name, out in zip(CASES, result.outputs[1:])}
    for name in CASES:
        assert guest[name] == host[name], f"{name} differs:\n--- host\n{host[name]}\n--- guest\n{guest[name]}"
