"""Prebuilt WebAssembly modules (Qt-free): a wasm32-wasi command built elsewhere (Rust, TinyGo,
Zig, Emscripten's standalone WASI output) is checked before it is translated like a compiled
program: a valid core module that defines its memory, exports `_start`, and imports nothing but
the WASI preview 1 functions the studio's WASI layer gives it (resources/wasi/wasi_runtime.c)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from studio.compile import toolchain
from studio.errors import StudioError

WASI = "wasi_snapshot_preview1"
MODULE_SUFFIX = ".wasm"
_MAGIC = b"\0asm"
_CORE_VERSION = b"\x01\0\0\0"
# The layer's definitions, as wasm2c names an import: Z_<module>Z_<function>.
_PROVIDED = re.compile(r"^\w[\w ]*\bZ_wasi_snapshot_preview1Z_(\w+)\s*\(", re.MULTILINE)


def is_module(path: str | Path) -> bool:
    return str(path).lower().endswith(MODULE_SUFFIX)


@functools.cache
def provided_functions() -> frozenset[str]:
    """The WASI preview 1 functions a translated program can call in the guest."""
    return frozenset(_PROVIDED.findall(toolchain.WASI_RUNTIME.read_text()))


def check_module(path: Path) -> None:
    """Raise a StudioError saying what is wrong and what to do when `path` is not a WASI command
    the guest can run."""
    import wasmtime

    name = Path(path).name
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise StudioError(f"cannot read {path}: {err.strerror or err}") from None
    if data[:4] != _MAGIC:
        raise StudioError(f"{name} is not a WebAssembly module (a .wasm file starts with \\0asm)")
    if data[4:8] != _CORE_VERSION:
        raise StudioError(f"{name} is a WebAssembly component (WASI preview 2), not a core module: build it "
                          "for wasm32-wasip1 (wasm32-wasi), e.g. `cargo build --target wasm32-wasip1`")
    try:
        module = wasmtime.Module(wasmtime.Engine(), data)
    except wasmtime.WasmtimeError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid"
        raise StudioError(f"{name} is not a valid WebAssembly module: {first}") from None
    foreign, missing, memory = [], [], []
    for item in module.imports:
        where = f"{item.module}.{item.name}"
        if isinstance(item.type, wasmtime.MemoryType):
            memory.append(where)
        elif item.module != WASI or not isinstance(item.type, wasmtime.FuncType):
            foreign.append(f"{where} ({_kind(item.type)})")
        elif item.name not in provided_functions():
            missing.append(where)
    if foreign:
        raise StudioError(f"{name} imports {_listed(foreign)}, which {'is' if len(foreign) == 1 else 'are'} not "
                          f"part of WASI preview 1: the guest gives a module only the {WASI} functions. Build it "
                          "as a plain WASI command, without host imports of its own")
    if memory:
        raise StudioError(f"{name} imports its memory ({memory[0]}): build a module that defines its own "
                          "memory (a WASI command, not a library sharing a host's memory)")
    if missing:
        raise StudioError(f"{name} imports {_listed(missing)}, which the studio's WASI layer does not provide: "
                          "it gives WASI preview 1's functions, not other runtimes' extensions (WasmEdge's "
                          "sockets, for one). Build the module for plain WASI preview 1")
    exports = {item.name: item.type for item in module.exports}
    if not isinstance(exports.get("_start"), wasmtime.FuncType):
        raise StudioError(f"{name} exports no _start function: it is a library (a reactor), not a command. "
                          "Build it as an executable (a `main`), e.g. zig cc -target wasm32-wasi, "
                          "cargo build --target wasm32-wasip1, tinygo build -target=wasi")
    if not isinstance(exports.get("memory"), wasmtime.MemoryType):
        raise StudioError(f"{name} does not export its memory as \"memory\", which WASI needs")


def _kind(kind) -> str:
    import wasmtime

    for cls, word in ((wasmtime.FuncType, "a function"), (wasmtime.GlobalType, "a global"),
                      (wasmtime.TableType, "a table")):
        if isinstance(kind, cls):
            return word
    return "an import"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
