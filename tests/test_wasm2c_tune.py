"""studio.compile.wasm2c_tune: the module's own functions get regparm(3) and CALL_INDIRECT checks the
type id alone, only when every function a table holds is the module's own; a prog.c of another
shape is refused, not half-converted. The translated programs run on this (x86) host too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from studio.compile import toolchain, wasm2c_tune
from studio.compile.jobs import Program, compile_program

POINTERS = r"""
#include <stdio.h>
typedef long long (*op)(long long, int, double);
static long long add(long long a, int b, double c) { return a + b + (long long)c; }
static long long mul(long long a, int b, double c) { return a * b - (long long)c; }
static op ops[] = {add, mul};
static volatile int pick = 1;
static long long many(int a, int b, int c, int d, int e, long long f) { return a + b + c + d + e + f; }
int main(void) {
  long long x = 3;
  for (int i = 0; i < 10; i++) x = ops[(i + pick) & 1](x, i, 0.5 * i);
  printf("x=%lld many=%lld\n", x, many(1, 2, 3, 4, 5, 1LL << 40));
  return 0;
}
"""


def wasm2c(wasm: Path, out: Path) -> str:
    subprocess.run([toolchain.wasm2c(), "-n", toolchain.MODULE_NAME, wasm, "-o", out], check=True)
    return out.read_text()


def test_a_tuned_module_computes_what_wasmtime_does(tmp_path):
    (tmp_path / "p.c").write_text(POINTERS)
    outcome = compile_program(Program("p", ["p.c"], target=toolchain.WASM), tmp_path)
    assert outcome.ok, outcome.output
    assert "studio.compile.wasm2c_tune" in outcome.output  # the queue's translation step runs it
    program = next(a.host_path for a in outcome.artifacts if not a.host_path.name.endswith(".wasm"))
    module = next(a.host_path for a in outcome.artifacts if a.host_path.name.endswith(".wasm"))
    from studio.compile.hostrun import run_wasm

    expected = run_wasm(module).stdout
    assert expected.startswith(b"x=")
    ran = subprocess.run([program], capture_output=True, timeout=30)  # an i386 static program runs here
    assert ran.returncode == 0 and ran.stdout == expected, (ran.stdout, expected)
    tuned = wasm2c_tune.tune(wasm2c(module, tmp_path / "prog.c"))
    assert tuned.count(wasm2c_tune.REGPARM) > 10
    assert "table.data[x].func &&" not in tuned


def test_a_table_holding_an_import_keeps_cdecl(tmp_path):
    # a WASI function placed in a table (wasm2c passes it its own instance): no regparm anywhere
    (tmp_path / "m.wat").write_text("""
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (type $t (func (param i32)))
  (table 2 funcref)
  (elem (i32.const 0) $exit $own)
  (memory (export "memory") 1)
  (func $own (param i32))
  (func (export "_start") (call_indirect (type $t) (i32.const 0) (i32.const 0))))
""")
    subprocess.run(["wat2wasm", tmp_path / "m.wat", "-o", tmp_path / "m.wasm"], check=True)
    source = wasm2c(tmp_path / "m.wasm", tmp_path / "prog.c")
    tuned = wasm2c_tune.tune(source)
    assert wasm2c_tune.REGPARM not in tuned
    assert "table.data[x].func &&" not in tuned  # the type check alone is right either way


def test_another_wasm2c_output_is_refused():
    with pytest.raises(wasm2c_tune.NotRecognised, match="CALL_INDIRECT"):
        wasm2c_tune.tune("#define CALL_INDIRECT(table, t, ft, x, ...) something else\n")
