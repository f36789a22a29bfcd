"""Finding packages by name and description while the user types (Qt-free): an index built once
per set of repository indexes, each keystroke a scan of plain strings (20,000 packages: a few ms)."""

from __future__ import annotations

from studio.packages import version as apkver
from studio.packages.model import Package


def newest(packages: list[Package], name: str) -> Package | None:
    """The newest version of `name` among `packages` (the first repository's on a tie)."""
    best = None
    for package in packages:
        if package.name == name and (best is None or apkver.compare(package.version, best.version) > 0):
            best = package
    return best


class SearchIndex:
    """One entry per package name (its newest version), searchable by name and description."""

    def __init__(self, packages: list[Package]):
        by_name: dict[str, Package] = {}
        for package in packages:
            known = by_name.get(package.name)
            if known is None or apkver.compare(package.version, known.version) > 0:
                by_name[package.name] = package
        self.packages = sorted(by_name.values(), key=lambda p: p.name)
        self._names = [p.name.lower() for p in self.packages]
        self._descriptions = [p.description.lower() for p in self.packages]

    def __len__(self) -> int:
        return len(self.packages)

    def search(self, text: str, limit: int | None = None) -> list[Package]:
        """Exact name first, then names starting with the text, names containing it, then
        descriptions containing it (every word of the text must appear in one or the other)."""
        words = text.lower().split()
        if not words:
            return self.packages[:limit] if limit else list(self.packages)
        first, rest = words[0], words[1:]
        buckets: tuple[list[int], ...] = ([], [], [], [])  # exact, prefix, in the name, in the description
        names, descriptions = self._names, self._descriptions
        for i, name in enumerate(names):
            if first in name:
                rank = 0 if name == first else 1 if name.startswith(first) else 2
            elif first in descriptions[i]:
                rank = 3
            else:
                continue
            if rest and not all(w in name or w in descriptions[i] for w in rest):
                continue
            buckets[rank].append(i)
        chosen = [i for bucket in buckets for i in bucket]  # names are sorted: each bucket is too
        return [self.packages[i] for i in (chosen[:limit] if limit else chosen)]


def search(packages: list[Package], text: str) -> list[Package]:
    return SearchIndex(packages).search(text)
