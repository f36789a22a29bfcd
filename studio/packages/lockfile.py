"""packages.lock (Qt-free): exactly what a project's package list resolved to, so that a build on
another machine, or offline from the package cache, installs the same bytes.

    # Image Studio: the packages the world resolved to. Written by the studio; commit it.
    format = 1
    [[package]]
    name = "nano"
    version = "7.2-r1"
    arch = "x86"
    repository = "alpine/main"
    size = 563217
    checksum = "Q1…"       # C: of the index (SHA-1 of the package's control stream)
    datahash = "…"         # SHA-256 of the package's data stream, from its .PKGINFO

    world = ["nano"]       # the package list this was resolved from
    [[effect]]             # what the packages' install scripts and triggers did, applied after
    path = "/etc/passwd"   # their files (text as text, other content as base64)
    kind = "file"
    mode = "0644"
    text = "root:x:0:0…"

Only packages the base image does not already hold are listed: the base brings its own.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

from studio.errors import StudioError

LOCK_FILE = "packages.lock"
FORMAT = 1


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    arch: str
    repository: str
    size: int
    checksum: str
    datahash: str = ""  # known once the package was downloaded and verified
    installed_size: int = 0

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.apk"


@dataclass(frozen=True)
class Effect:
    """One path a package script changed: its new kind ("deleted" when the script removed it),
    mode, owner, and content (files) or target (symlinks)."""

    path: str
    kind: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    target: str = ""
    content: bytes = b""

    def to_toml(self) -> dict:
        row: dict = {"path": self.path, "kind": self.kind}
        if self.kind != "deleted":
            row.update(mode=f"{self.mode:04o}", uid=self.uid, gid=self.gid)
        if self.kind == "symlink":
            row["target"] = self.target
        if self.kind == "file":
            try:
                row["text"] = self.content.decode("utf-8")
            except UnicodeDecodeError:
                row["data"] = base64.b64encode(self.content).decode()
        return row

    @classmethod
    def from_toml(cls, row: dict) -> "Effect":
        content = row["text"].encode() if "text" in row else base64.b64decode(row.get("data", ""))
        return cls(row["path"], row["kind"], int(row.get("mode", "0"), 8), int(row.get("uid", 0)),
                   int(row.get("gid", 0)), row.get("target", ""), content)


@dataclass
class Lock:
    packages: list[Locked] = field(default_factory=list)
    world: list[str] = field(default_factory=list)  # the package list this lock was resolved from
    effects: list[Effect] = field(default_factory=list)
    scripts_pending: bool = False  # the scripts could not run yet (no guest kernel)

    def by_name(self) -> dict[str, Locked]:
        return {p.name: p for p in self.packages}

    def dumps(self) -> str:
        rows = [{k: v for k, v in asdict(p).items() if v != "" and not (k == "installed_size" and not v)}
                for p in sorted(self.packages, key=lambda p: p.name)]
        header = "# Image Studio: the packages the world resolved to. Written by the studio; commit it.\n"
        data: dict = {"format": FORMAT, "world": list(self.world)}
        if self.scripts_pending:
            data["scripts_pending"] = True
        data["package"] = rows
        if self.effects:
            data["effect"] = [e.to_toml() for e in sorted(self.effects, key=lambda e: e.path)]
        return header + tomli_w.dumps(data, multiline_strings=True)

    @classmethod
    def loads(cls, text: str, where: str = LOCK_FILE) -> "Lock":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise StudioError(f"{where} is not valid TOML ({err}); restore it from version control, or "
                              "delete it and run `studio packages update` to resolve again.") from err
        if data.get("format", FORMAT) != FORMAT:
            raise StudioError(f"{where} has format {data.get('format')}; this studio reads format {FORMAT}")
        try:
            return cls([Locked(**row) for row in data.get("package", [])], list(data.get("world", [])),
                       [Effect.from_toml(row) for row in data.get("effect", [])],
                       bool(data.get("scripts_pending", False)))
        except (TypeError, KeyError, ValueError) as err:
            raise StudioError(f"{where}: an entry is malformed ({err}); restore it from version control, or "
                              "delete it and run `studio packages update`") from err

    @classmethod
    def load(cls, root: Path) -> "Lock":
        path = Path(root) / LOCK_FILE
        return cls.loads(path.read_text(), str(path)) if path.exists() else cls()

    def __eq__(self, other) -> bool:
        return isinstance(other, Lock) and self.dumps() == other.dumps()
