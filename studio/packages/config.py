"""A project's package settings (Qt-free): the world (what the user asked for) and the
repositories, kept in studio.toml's [packages] table.

    [packages]
    world = ["nano", "curl>=8"]
    [[packages.repositories]]
    url = "https://example.org/alpine/v3.19/testing"
    keys = ["keys/me@example.org-1234.rsa.pub"]     # project-relative; trusted for this repository

Without repositories listed, a project uses its base's Alpine release, `main` and `community`, on
the mirror `studio new` uses ($STUDIO_ALPINE_MIRROR or Alpine's CDN): the mirror is a setting of
the machine, not of the project, so a project moves between machines and mirrors. Those default
repositories are named `alpine/main` and `alpine/community` in the lock file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.errors import StudioError
from studio.packages.model import Dependency, format_dependency, parse_dependency

KEYS_DIR = "keys"  # PROJECT/keys/: public keys the user added for repositories
ALPINE_SECTIONS = ("main", "community")


@dataclass(frozen=True)
class Repository:
    """Where packages come from. `name` is what the lock file records: `alpine/main` for the
    release's own repositories (whatever the mirror), else the URL itself."""

    name: str
    url: str
    keys: tuple[str, ...] = ()  # project-relative paths of extra public keys

    @property
    def is_default(self) -> bool:
        return self.name.startswith("alpine/")


@dataclass
class PackageSettings:
    world: list[str] = field(default_factory=list)  # as the user wrote them: "nano", "curl>=8"
    repositories: list[Repository] = field(default_factory=list)  # empty: the defaults

    @classmethod
    def from_toml(cls, table: dict) -> "PackageSettings":
        world = [str(item) for item in table.get("world", [])]
        for item in world:
            world_dependency(item)  # a bad item is an error that names it, at open
        repos = []
        for row in table.get("repositories", []):
            if not isinstance(row, dict) or "url" not in row:
                raise StudioError("studio.toml: each [[packages.repositories]] needs a url")
            repos.append(Repository(row["url"].rstrip("/"), row["url"].rstrip("/"), tuple(row.get("keys", []))))
        return cls(world, repos)

    def to_toml(self) -> dict:
        table: dict = {"world": list(self.world)}
        if self.repositories:
            table["repositories"] = [{"url": r.url, **({"keys": list(r.keys)} if r.keys else {})}
                                     for r in self.repositories]
        return table

    def is_empty(self) -> bool:
        return not self.world and not self.repositories

    def dependencies(self) -> list[Dependency]:
        return [world_dependency(item) for item in self.world]

    def copy(self) -> "PackageSettings":
        return PackageSettings(list(self.world), list(self.repositories))


def world_dependency(item: str) -> Dependency:
    try:
        return parse_dependency(item)
    except ValueError as err:
        raise StudioError(f"package list: {err}. Write a name with an optional constraint, e.g. "
                          "`nano`, `curl>=8`, `musl-utils~1.2`.") from err


def add_to_world(world: list[str], items: list[str]) -> list[str]:
    """The world with `items` added; an item naming a package already there replaces it (a new
    constraint for the same name)."""
    result = list(world)
    for item in items:
        dep = world_dependency(item)
        result = [w for w in result if world_dependency(w).name != dep.name]
        result.append(format_dependency(dep))
    return sorted(result, key=lambda w: world_dependency(w).name)


def remove_from_world(world: list[str], names: list[str]) -> list[str]:
    missing = [n for n in names if all(world_dependency(w).name != n for w in world)]
    if missing:
        raise StudioError(f"not in the package list: {', '.join(missing)} "
                          f"(it holds: {', '.join(world) or 'nothing'}); see `studio packages list`")
    return [w for w in world if world_dependency(w).name not in names]


def default_repositories(alpine_version: str, mirror: str) -> list[Repository]:
    """The base release's own repositories on `mirror` (e.g. v3.19/main and v3.19/community)."""
    branch = ".".join(alpine_version.split(".")[:2])
    return [Repository(f"alpine/{section}", f"{mirror.rstrip('/')}/v{branch}/{section}")
            for section in ALPINE_SECTIONS]
