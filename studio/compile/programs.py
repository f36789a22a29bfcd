"""Programs of a project (Qt-free): kept as [[programs]] in studio.toml, sources under the project
(files brought in from elsewhere are copied to src/NAME/)."""

from __future__ import annotations

import shutil
from pathlib import Path

from studio.compile import modules
from studio.compile.jobs import Program
from studio.errors import StudioError
from studio.image.project import Project

SOURCE_DIR = "src"


def load(project: Project) -> list[Program]:
    return [Program(p["name"], list(p.get("sources", [])), p.get("target", "wasm32-wasi"),
                    p.get("install", ""), p.get("cflags", "")) for p in project.programs]


def save(project: Project, programs: list[Program]) -> None:
    project.programs = [{"name": p.name, "sources": p.sources, "target": p.target, "install": p.install,
                         "cflags": p.cflags} for p in programs]
    project.save_settings()


def find(project: Project, name: str) -> Program:
    for program in load(project):
        if program.name == name:
            return program
    known = ", ".join(p.name for p in load(project)) or "none yet"
    raise StudioError(f"no program named {name!r} in {project.root} (programs: {known}); "
                      "add one with `studio program add`")


def add(project: Project, name: str, sources: list[Path], target: str = "wasm32-wasi", install: str = "",
        cflags: str = "", replace: bool = False) -> Program:
    """Add (or with `replace`, redefine) a program; sources outside the project are copied in."""
    programs = load(project)
    if any(p.name == name for p in programs) and not replace:
        raise StudioError(f"a program named {name!r} exists already")
    Program(name, [str(s) for s in sources], target, install, cflags)  # refused before anything is copied
    for source in sources:
        if modules.is_module(source):
            modules.check_module(Path(source))
    program = Program(name, _bring_in(project, name, sources), target, install, cflags)
    programs = [p for p in programs if p.name != name] + [program]
    save(project, programs)
    return program


def add_sources(project: Project, name: str, sources: list[Path]) -> Program:
    """Add files or folders to a program's sources (copied in when outside the project)."""
    program = find(project, name)
    for source in _bring_in(project, name, sources):
        if source not in program.sources:
            program.sources.append(source)
    save(project, [program if p.name == name else p for p in load(project)])
    return program


def _bring_in(project: Project, name: str, sources: list[Path]) -> list[str]:
    """Project-relative paths of `sources`; those outside the project are copied to src/NAME/."""
    relative = []
    for source in sources:
        source = Path(source).resolve()
        if not source.exists():
            raise StudioError(f"{source} does not exist")
        if source.is_relative_to(project.root):
            relative.append(str(source.relative_to(project.root)))
            continue
        target_dir = project.root / SOURCE_DIR / name
        target_dir.mkdir(parents=True, exist_ok=True)
        copy = target_dir / source.name
        if source.is_dir():
            shutil.copytree(source, copy, dirs_exist_ok=True)
        else:
            shutil.copy2(source, copy)
        relative.append(str(copy.relative_to(project.root)))
    return relative


def remove(project: Project, name: str) -> None:
    find(project, name)
    save(project, [p for p in load(project) if p.name != name])
