"""Putting compiled outputs into the image (Qt-free): one reversible change for a program."""

from __future__ import annotations

from studio.compile.jobs import CompileOutcome
from studio.image import edits
from studio.image.entry import DIR, FILE, Entry, ancestors
from studio.image.state import Change


def install_change(doc, outcome: CompileOutcome) -> Change:
    """Entries for the outcome's artifacts (replacing older builds), with the folders they need."""
    entries: list[Entry] = []
    for artifact in outcome.artifacts:
        for folder in ancestors(artifact.image_path):
            if doc.state.entry(folder) is None and not any(e.path == folder for e in entries):
                entries.append(Entry(folder, DIR, 0o755))
        source, size, sha = doc.store_file(artifact.host_path)
        entries.append(Entry(artifact.image_path, FILE, artifact.mode, size=size, sha256=sha, source=source))
    return edits.add_entries(doc.state, entries, f"Install {outcome.program}", replace=True)
