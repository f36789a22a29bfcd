"""Running a compiled .wasm on the host with wasmtime (Qt-free): try a program without booting."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from studio.errors import StudioError


@dataclass
class HostRun:
    exit_code: int
    stdout: bytes
    stderr: bytes


def run_wasm(wasm: Path, args: list[str] | None = None, stdin: bytes = b"", env: dict[str, str] | None = None,
             root: Path | None = None, name: str | None = None, fuel: int | None = None) -> HostRun:
    """Run `wasm` with `args`; `root` (a host folder) is the module's "/", as the guest's is."""
    try:
        import wasmtime
    except ImportError as err:
        raise StudioError("wasmtime is missing: install the `wasmtime` Python package (packaging/setup.sh does)") from err
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    with tempfile.TemporaryDirectory(prefix="studio-run-") as tmp:
        tmp = Path(tmp)
        (tmp / "stdin").write_bytes(stdin)
        config = wasmtime.WasiConfig()
        config.argv = [name or Path(wasm).stem, *(args or [])]
        config.env = list((env or {}).items())
        config.stdin_file = str(tmp / "stdin")
        config.stdout_file = str(tmp / "stdout")
        config.stderr_file = str(tmp / "stderr")
        if root is not None:
            config.preopen_dir(str(root), "/")
        store.set_wasi(config)
        instance = linker.instantiate(store, module)
        code = 0
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as exit_trap:
            code = exit_trap.code
        except wasmtime.Trap as trap:
            (tmp / "stderr").open("ab").write(f"WebAssembly trap: {trap.message}\n".encode())
            code = 134
        return HostRun(code, (tmp / "stdout").read_bytes(), (tmp / "stderr").read_bytes())
