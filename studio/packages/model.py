"""What the package code passes around (Qt-free): dependencies as apk writes them, and packages
as an APKINDEX record (or an installed-database record) describes them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dependency:
    """One item of a `D:`, `p:` or `i:` field, or of the world: `name`, `name>=1.2`, `!name`,
    `so:libc.musl-x86.so.1`, `cmd:nano=7.2-r1`, `/bin/sh`. `op` is "" (any version) or one of
    apk's operators; `conflict` is the leading `!`."""

    name: str
    op: str = ""
    version: str = ""
    conflict: bool = False


@dataclass
class Package:
    """A package as an index (APKINDEX) or the installed database describes it."""

    name: str  # P:
    version: str  # V:
    arch: str = ""  # A:
    checksum: str = ""  # C: 'Q1' + base64(SHA-1 of the control stream)
    size: int = 0  # S: the .apk's size
    installed_size: int = 0  # I:
    description: str = ""  # T:
    url: str = ""  # U:
    license: str = ""  # L:
    origin: str = ""  # o:
    maintainer: str = ""  # m:
    build_time: int = 0  # t:
    commit: str = ""  # c:
    depends: list[Dependency] = field(default_factory=list)  # D:
    provides: list[Dependency] = field(default_factory=list)  # p: (op is "" or "=")
    install_if: list[Dependency] = field(default_factory=list)  # i:
    provider_priority: int | None = None  # k:
    repository: str = ""  # the repository URL it came from ("" for the installed database)

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.apk"


OPERATORS = ("<=", ">=", "><", "~=", "=", "<", ">", "~")  # longest first


def parse_dependency(text: str) -> Dependency:
    """`name`, `!name`, `name>=1.2-r0`, `so:libfoo.so.1=1.2`, `/bin/sh`, `name~1.2` (apk's forms;
    `~=` is read as `~`, as apk prints it). Raises ValueError for an empty or malformed item."""
    item = text.strip()
    conflict = item.startswith("!")
    if conflict:
        item = item[1:]
    cut = min((i for i in (item.find(c) for c in "<>=~") if i >= 0), default=-1)
    if cut < 0:
        name, op, version = item, "", ""
    else:
        name = item[:cut]
        op = next(o for o in OPERATORS if item.startswith(o, cut))
        version = item[cut + len(op):]
        if op == "~=":
            op = "~"
        if not version:
            raise ValueError(f"dependency {text!r} has an operator but no version")
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"not a dependency: {text!r}")
    return Dependency(name, op, version, conflict)


def parse_dependencies(field_value: str) -> list[Dependency]:
    """A whole `D:`/`p:`/`i:` field (space-separated items)."""
    return [parse_dependency(item) for item in field_value.split()]


def format_dependency(dep: Dependency) -> str:
    return ("!" if dep.conflict else "") + dep.name + (dep.op + dep.version if dep.op else "")
