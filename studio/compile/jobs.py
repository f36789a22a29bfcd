"""Compiling one program (Qt-free): its source set, the steps for its target, a content-hash
cache, cancellation that kills the running compiler, and the outcome with parsed diagnostics.

wasm32-wasi:  zig cc -> NAME.wasm;  wasm2c -> prog.c;  zig cc (i386) prog.c + wasm2c runtime +
              studio's WASI layer -> NAME (runs inside the guest; NAME.wasm is installed beside it)
i386:         zig cc -> NAME (static, musl)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio import paths
from studio.compile import toolchain
from studio.compile.toolchain import I386, WASM
from studio.errors import StudioError
from studio.fsutil import atomic_write

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, CACHED = (
    "queued", "running", "succeeded", "failed", "cancelled", "cached")
SOURCE_SUFFIXES = toolchain.C_SUFFIXES | toolchain.CXX_SUFFIXES | toolchain.HEADER_SUFFIXES

_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\n]+?):(?P<line>\d+):(?P<column>\d+): (?P<severity>fatal error|error|warning|note): "
    r"(?P<message>.*)$", re.MULTILINE)


@dataclass
class Program:
    """A program in the project: sources (files or folders, relative to the project), target,
    where it is installed in the image, extra compiler flags."""

    name: str
    sources: list[str]
    target: str = WASM
    install: str = ""
    cflags: str = ""

    def __post_init__(self):
        if self.target not in toolchain.TARGETS:
            raise StudioError(f"unknown target {self.target!r}: use {' or '.join(toolchain.TARGETS)}")
        if not re.fullmatch(r"[A-Za-z0-9._+-]+", self.name):
            raise StudioError(f"program name {self.name!r}: use letters, digits, '.', '_', '+' or '-'")
        self.install = self.install or f"/usr/local/bin/{self.name}"

    def source_files(self, root: Path) -> list[Path]:
        """Every file of the source set (folders expanded), sorted."""
        files: list[Path] = []
        for source in self.sources:
            path = root / source
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
            elif path.is_file():
                files.append(path)
            else:
                raise StudioError(f"{self.name}: source {source} does not exist in {root}")
        return files

    def compile_units(self, root: Path) -> list[Path]:
        units = [p for p in self.source_files(root) if p.suffix.lower() not in toolchain.HEADER_SUFFIXES]
        if not units:
            raise StudioError(f"{self.name}: no C or C++ source files in {', '.join(self.sources)}")
        return units


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: str  # error, warning, note
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"


@dataclass
class Artifact:
    image_path: str
    host_path: Path
    mode: int


@dataclass
class CompileOutcome:
    program: str
    status: str
    seconds: float = 0.0
    output: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    key: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (SUCCEEDED, CACHED)


def parse_diagnostics(output: str, root: Path) -> list[Diagnostic]:
    found = []
    for m in _DIAGNOSTIC.finditer(output):
        file = m["file"].strip()
        try:
            file = str(Path(file).resolve().relative_to(root.resolve()))
        except ValueError:
            pass
        severity = "error" if m["severity"] == "fatal error" else m["severity"]
        found.append(Diagnostic(file, int(m["line"]), int(m["column"]), severity, m["message"].strip()))
    return found


class CompileCache:
    """Outputs by content hash: sources (paths and bytes), flags, target, toolchain version."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else paths.cache_dir() / "compile"

    def key(self, program: Program, project: Path) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([program.name, program.target, program.cflags, toolchain.version()]).encode())
        for path in program.source_files(project):
            digest.update(str(path.relative_to(project)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()[:32]

    def lookup(self, key: str) -> Path | None:
        entry = self.root / key
        return entry if (entry / "outcome.json").exists() else None

    def store(self, key: str, outputs: Path, meta: dict) -> Path:
        entry = self.root / key
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
        for item in outputs.iterdir():
            shutil.copy2(item, staging / item.name)
        atomic_write(staging / "outcome.json", json.dumps(meta))
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(staging, entry)
        return entry


class Cancelled(Exception):
    pass


def _run(cmd: list[str], cwd: Path, log: list[str], cancel: threading.Event | None) -> int:
    """Run one step in its own process group, killed (with its children) when cancelled."""
    log.append("$ " + shlex.join(str(c) for c in cmd))
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        while True:
            try:
                out, _ = proc.communicate(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise Cancelled() from None
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    if out:
        log.append(out.rstrip())
    return proc.returncode


def _artifacts(program: Program, outputs: Path) -> list[Artifact]:
    found = [Artifact(program.install, outputs / program.name, 0o755)]
    if program.target == WASM:
        found.append(Artifact(program.install + ".wasm", outputs / f"{program.name}.wasm", 0o644))
    return found


def compile_program(program: Program, project: Path, cache: CompileCache | None = None,
                    cancel: threading.Event | None = None, on_running=None) -> CompileOutcome:
    """Compile `program` from the project folder `project`. Never raises for compile errors or
    cancellation: the outcome says what happened."""
    started = time.perf_counter()
    project = Path(project)
    log: list[str] = []
    try:
        key = cache.key(program, project) if cache else ""
        hit = cache.lookup(key) if cache else None
        if hit is not None:
            meta = json.loads((hit / "outcome.json").read_text())
            diagnostics = [Diagnostic(**d) for d in meta.get("diagnostics", [])]
            return CompileOutcome(program.name, CACHED, time.perf_counter() - started, meta.get("output", ""),
                                  diagnostics, _artifacts(program, hit), key)
        if on_running:
            on_running()
        units = program.compile_units(project)
        language = toolchain.language_of(units)
        flags = toolchain.FLAGS[program.target] + (toolchain.CXX[program.target] if language == "c++" else [])
        extra = shlex.split(program.cflags)
        with tempfile.TemporaryDirectory(prefix=f"studio-cc-{program.name}-") as tmp:
            work = Path(tmp)
            outputs = work / "out"
            outputs.mkdir()
            if program.target == I386:
                steps = [toolchain.compiler(language) + flags + extra + units + ["-o", outputs / program.name]]
            else:
                wasm = outputs / f"{program.name}.wasm"
                rt = toolchain.runtime_dir(work)
                steps = [
                    toolchain.compiler(language) + flags + extra + units + toolchain.LINK[WASM] + ["-o", wasm],
                    [toolchain.wasm2c(), "-n", toolchain.MODULE_NAME, wasm, "-o", rt / "prog.c"],
                    toolchain.compiler("c") + toolchain.FLAGS[I386] + ["-I", rt, rt / "prog.c",
                                                                      rt / "wasm-rt-impl.c", toolchain.WASI_RUNTIME,
                                                                      "-o", outputs / program.name],
                ]
            for step in steps:
                code = _run(step, project, log, cancel)
                if code != 0:
                    output = "\n".join(log)
                    return CompileOutcome(program.name, FAILED, time.perf_counter() - started, output,
                                          parse_diagnostics(output, project), [], key)
            output = "\n".join(log)
            diagnostics = parse_diagnostics(output, project)
            if cache is not None:
                entry = cache.store(key, outputs, {"output": output,
                                                   "diagnostics": [d.__dict__ for d in diagnostics]})
                artifacts = _artifacts(program, entry)
            else:
                keep = Path(tempfile.mkdtemp(prefix=f"studio-out-{program.name}-"))
                for item in outputs.iterdir():
                    shutil.copy2(item, keep / item.name)
                artifacts = _artifacts(program, keep)
            return CompileOutcome(program.name, SUCCEEDED, time.perf_counter() - started, output,
                                  diagnostics, artifacts, key)
    except Cancelled:
        return CompileOutcome(program.name, CANCELLED, time.perf_counter() - started, "\n".join(log) + "\ncancelled")
    except StudioError as err:
        return CompileOutcome(program.name, FAILED, time.perf_counter() - started, "\n".join(log + [str(err)]))
