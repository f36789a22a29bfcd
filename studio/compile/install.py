"""Putting compiled outputs into the image (Qt-free): one reversible change for a program."""

from __future__ import annotations

import hashlib

from studio.compile.jobs import CompileOutcome
from studio.image import edits
from studio.image.entry import FILE, Entry
from studio.image.state import Change


def install_change(doc, outcome: CompileOutcome) -> Change | None:
    """Entries for the outcome's artifacts, replacing older builds (add_entries makes the folders
    they need); None when the image already holds exactly these files."""
    if all(_same(doc, a.image_path, a.host_path, a.mode) for a in outcome.artifacts):
        return None
    entries: list[Entry] = []
    for artifact in outcome.artifacts:
        source, size, sha = doc.store_file(artifact.host_path)
        entries.append(Entry(artifact.image_path, FILE, artifact.mode, size=size, sha256=sha, source=source))
    return edits.add_entries(doc.state, entries, f"Install {outcome.program}", replace=True)


def _same(doc, image_path: str, host_path, mode: int) -> bool:
    entry = doc.state.entry(image_path)
    if entry is None or entry.kind != FILE or entry.mode != mode:
        return False
    try:
        return hashlib.sha256(doc.read_bytes(image_path)).digest() == hashlib.sha256(host_path.read_bytes()).digest()
    except (OSError, KeyError):
        return False
