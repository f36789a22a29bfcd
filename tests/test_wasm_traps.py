"""The translated program's sandbox inside the guest (resources/wasi/wasm-rt.h: masked accesses
over a fixed 1 GiB reservation, no call-depth counter): an access past the module's memory traps
as on the host, deep recursion works, runaway recursion traps, a call through a function pointer of
the wrong type or an empty one traps; nothing crashes the runtime."""

from __future__ import annotations

import pytest

from studio.compile import packaging, programs
from studio.compile.jobs import CompileCache
from studio.compile.queue import CompileQueue
from studio.image import package_ops

pytestmark = pytest.mark.boot

PROBE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef int (*two_args)(int, int);
static int one_arg(int a) { return a + 1; }
static int (*volatile as_one)(int) = one_arg;
static void (*volatile nothing)(void);
static int depth(int n) { volatile char pad[64]; pad[0] = (char)n; return n == 0 ? pad[0] : depth(n - 1) + pad[0] - (char)n + 1; }
int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "read")) { volatile char *p = (char *)0x3000000; printf("%d\n", *p); }   /* 48 MiB: past the memory */
  if (!strcmp(what, "write")) { volatile char *p = (char *)0x3fffff00; *p = 1; puts("wrote"); }
  if (!strcmp(what, "deep")) printf("depth %d\n", depth(100000));
  if (!strcmp(what, "runaway")) printf("depth %d\n", depth(100000000));
  /* calls through a table (wasm2c_tune checks the type id alone): a wrong type and an empty entry trap */
  if (!strcmp(what, "right")) printf("called %d\n", as_one(41));
  if (!strcmp(what, "wrongtype")) printf("called %d\n", ((two_args)(void *)as_one)(1, 2));
  if (!strcmp(what, "null")) { nothing(); puts("called"); }
  if (!strcmp(what, "grow")) { char *big = malloc(64 << 20); memset(big, 7, 64 << 20); printf("grew %d\n", big[(64 << 20) - 1]); }
  return 0;
}
"""


def test_out_of_bounds_traps_and_deep_recursion_works_in_the_guest(new_project, tmp_path):
    from studio.boot.headless import boot_headless

    project = new_project("traps")
    (tmp_path / "probe.c").write_text(PROBE)
    programs.add(project, "probe", [tmp_path / "probe.c"])
    queue = CompileQueue(project.root, cache=CompileCache(tmp_path / "cache"))
    try:
        outcomes = queue.wait(queue.submit_all(programs.load(project)))
    finally:
        queue.shutdown()
    assert outcomes[0].ok, outcomes[0].output
    change, done, _ = packaging.install(project, project.base_index(), programs.load(project), outcomes)
    package_ops.commit(project, change.settings, done.lock)
    cases = ["read", "write", "deep", "runaway", "grow", "right", "wrongtype", "null"]
    result = boot_headless(project.root, ["dmesg -n 1"] + [f"probe {c} 2>&1; echo rc=$?" for c in cases], timeout=120)
    assert result.ok, result.reason + result.console[-2000:]
    said = dict(zip(cases, (o.replace("\r", "") for o in result.outputs[1:])))
    for case in ("read", "write"):
        assert "WebAssembly trap: Out-of-bounds access" in said[case] and "rc=134" in said[case], said[case]
    assert "depth " in said["deep"] and "rc=0" in said["deep"], said["deep"]  # deeper than the old cap of 500
    assert "WebAssembly trap" in said["runaway"] and "rc=134" in said["runaway"], said["runaway"]
    assert "grew 7" in said["grow"] and "rc=0" in said["grow"], said["grow"]  # memory.grow works
    assert "called 42" in said["right"] and "rc=0" in said["right"], said["right"]
    for case in ("wrongtype", "null"):
        assert "WebAssembly trap: Invalid call_indirect" in said[case] and "rc=134" in said[case], said[case]
