"""Every problem the editors would flag, for `studio check` and the GUI's problem list (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.image import inittab, scripts
from studio.image.entry import DIR, FILE
from studio.image.tarimport import resolve

ERROR, WARNING = inittab.ERROR, inittab.WARNING
INITTAB = "/etc/inittab"


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    severity: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


def image_lookups(entries: dict):
    """exists(path) and executable(path) over an image's entries, following its symlinks."""
    def exists(path: str) -> bool:
        return resolve(entries, path) is not None

    def executable(path: str) -> bool:
        entry = resolve(entries, path)
        return entry is not None and entry.kind == FILE and bool(entry.mode & 0o111)

    return exists, executable


def check_inittab_text(text: str, entries: dict) -> list[Finding]:
    exists, executable = image_lookups(entries)
    return [Finding(INITTAB, p.line, p.severity, p.message)
            for p in inittab.validate(inittab.parse(text), exists, executable)]


def check_image(doc) -> list[Finding]:
    entries = doc.state.entries
    findings: list[Finding] = []
    tab = resolve(entries, INITTAB)
    if tab is None or tab.kind != FILE:
        findings.append(Finding(INITTAB, 0, ERROR, "missing: BusyBox init will fall back to its built-in "
                                "defaults (no serial prompt). Apply an inittab preset."))
    else:
        findings += check_inittab_text(doc.read_bytes(tab.path).decode(errors="replace"), entries)
    for path, entry in sorted(entries.items()):
        if entry.kind != FILE or not scripts.is_init_script(path):
            continue
        text = doc.read_bytes(path).decode(errors="replace")
        if path != scripts.RCS and not text.startswith("#!"):
            continue  # not a script (a README, a conf file)
        problem = scripts.check_syntax(text)
        if problem:
            findings.append(Finding(path, problem.line, ERROR, problem.message))
        if not entry.mode & 0o111:
            findings.append(Finding(path, 0, WARNING, "not executable: init will not run it"))
    arch = resolve(entries, "/etc/apk/arch")
    if arch is not None and arch.kind == FILE:
        name = doc.read_bytes(arch.path).decode(errors="replace").strip()
        if name != "x86":
            findings.append(Finding("/etc/apk/arch", 0, ERROR,
                                    f"the image says it is {name}; v86 boots 32-bit x86 only"))
    root = entries.get("/")
    if root is None or root.kind != DIR:
        findings.append(Finding("/", 0, ERROR, "the image has no root folder"))
    return findings + check_packages(doc.project)


def check_packages(project) -> list[Finding]:
    """What is off about the project's packages: a lock resolved for another package list (an
    edited studio.toml), install scripts that have not run yet."""
    found = []
    lock = project.lock
    if (lock.packages or project.packages.world) and sorted(lock.world) != sorted(project.packages.world):
        found.append(Finding("/etc/apk/world", 0, WARNING,
                             "packages.lock was resolved for another package list than studio.toml's "
                             f"({', '.join(lock.world) or 'none'} vs {', '.join(project.packages.world) or 'none'}): "
                             "the build installs the lock's; Check for Updates (or `studio packages update`) "
                             "resolves the list again"))
    if lock.scripts_pending:
        found.append(Finding("/lib/apk/db/scripts.tar", 0, WARNING,
                             "the packages' install scripts have not run (they need the guest kernel): "
                             "`studio kernel`, then Check for Updates"))
    return found
