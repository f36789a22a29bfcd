"""Rewrites wasm2c 1.0.32's prog.c for the 32-bit guest: fewer instructions per call (Qt-free).

v86 executes every guest instruction, so the count is the cost. In a call-heavy program (the
interpreter of bench/bench_wasm_speed.py, perf-counted on the host) the translated module ran
2.19x the native instructions; most of the difference was at calls:

- Calling convention. Every wasm function takes the instance pointer and its parameters on the
  stack (cdecl), so each call pushes them and the callee loads them back. The module's own
  functions (never called from outside the file except through the exported wrappers, which call
  them directly) get regparm(3): the first three words go in registers. Applied only when every
  function a table holds is the module's own, so a call through a table always meets the
  convention its target was compiled with; otherwise the file is left on cdecl.
- CALL_INDIRECT checked the table entry's function pointer for NULL and then its type id; an
  empty entry's type id is 0 and wasm_rt_register_func_type never returns 0, so the type check
  alone refuses an empty entry (the NULL test was a load and a branch per indirect call).

Each rewrite checks that the text it replaces is exactly what it expects; a wasm2c that writes
differently fails the job ("not recognised") rather than building something half-converted.

    python -m studio.compile.wasm2c_tune prog.c      (rewrites the file in place)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from studio.errors import StudioError

REGPARM = "__attribute__((regparm(3)))"

_CALL_INDIRECT = """#define CALL_INDIRECT(table, t, ft, x, ...)             \\
  (LIKELY((x) < table.size && table.data[x].func &&     \\
          table.data[x].func_type == func_types[ft]) || \\
       TRAP(CALL_INDIRECT),                             \\
   ((t)table.data[x].func)(__VA_ARGS__))"""
_CALL_INDIRECT_TYPE_ONLY = """#define CALL_INDIRECT(table, t, ft, x, ...)                         \\
  (LIKELY((x) < table.size && table.data[x].func_type == func_types[ft]) || \\
       TRAP(CALL_INDIRECT),                                         \\
   ((t)table.data[x].func)(__VA_ARGS__))"""

# The module's own functions: `static RESULT w2c_fN(` / `static RESULT w2c_NAME(` at a line's start
# (declarations and definitions alike); imports and exports have other prefixes (Z_...).
_OWN_FUNCTION = re.compile(r"^static ((?:u32|u64|f32|f64|void|wasm_rt_\w+)) (w2c_\w+)\(", re.M)
# A call through a table: the cast to the callee's C type names the pointer as `(*)`.
_INDIRECT_CAST = re.compile(r"(CALL_INDIRECT\(instance->w2c_T\d+, [^,]*?)\(\*\)\(")
# What tables hold: entries of the element segments, and ref.func values made in code (the module's
# own functions as `&w2c_f1`, an import as its C name, `Z_wasi_snapshot_preview1Z_proc_exit`).
_FUNCTION_POINTER = "(wasm_rt_function_ptr_t)"
_TABLE_ENTRY = re.compile(r"\(wasm_rt_function_ptr_t\)&?(\w+)")


class NotRecognised(StudioError):
    pass


def tune(source: str) -> str:
    """prog.c's text, rewritten (see the module's docstring)."""
    if _CALL_INDIRECT not in source:
        raise NotRecognised("wasm2c_tune: prog.c's CALL_INDIRECT is not the one of wasm2c 1.0.32 "
                            "(another wasm2c?); the studio's runtime supports that version only")
    source = source.replace(_CALL_INDIRECT, _CALL_INDIRECT_TYPE_ONLY)
    own = {m[2] for m in _OWN_FUNCTION.finditer(source)}
    held = _TABLE_ENTRY.findall(source)
    if not own or len(held) != source.count(_FUNCTION_POINTER) or not set(held) <= own:
        return source  # a table may hold an import: keep one convention (cdecl) for every call through it
    source = _OWN_FUNCTION.sub(lambda m: f"static {m[1]} {REGPARM} {m[2]}(", source)
    source, casts = _INDIRECT_CAST.subn(lambda m: f"{m[1]}({REGPARM} *)(", source)
    if casts != source.count("CALL_INDIRECT(instance->"):
        raise NotRecognised("wasm2c_tune: a CALL_INDIRECT of prog.c has a form this version does not know")
    return source


def tune_file(path: Path) -> None:
    path.write_text(tune(path.read_text()))


if __name__ == "__main__":
    try:
        tune_file(Path(sys.argv[1]))
    except StudioError as err:
        print(err, file=sys.stderr)
        sys.exit(1)
