"""Comparing an image file with what the layers below hold (the base, or the package that
installed it): for "Compare with Base" (Qt-free)."""

from __future__ import annotations

import difflib

from studio.image.entry import FILE


def below_bytes(doc, path: str) -> bytes | None:
    """The content the base (or a package) has at `path`, or None when it has no file there."""
    entry = doc.state.base.get(path)
    if entry is None or entry.kind != FILE:
        return None
    return doc.store.read(entry.sha256)


def unified_diff(doc, path: str, context: int = 3) -> str:
    """A unified diff from the layers' version of `path` to the image's; "" when they are equal.
    Raises ValueError for content that is not text."""
    old, new = below_bytes(doc, path), doc.read_bytes(path)
    if old == new:
        return ""
    try:
        before = (old or b"").decode("utf-8").splitlines(keepends=True)
        after = new.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not text; compare it with an external tool (Export…)") from err
    label = "base" if old is not None else "nothing (added)"
    return "".join(difflib.unified_diff(before, after, f"{path} ({label})", f"{path} (image)", n=context))
