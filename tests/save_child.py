"""A child process for the kill-during-save test: edits a project towards target A or B and saves.

    python save_child.py PROJECT A|B

Prints 'saving' right before the save starts, so the parent can kill it mid-save.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.image import edits  # noqa: E402
from studio.image.document import ImageDocument  # noqa: E402
from studio.image.entry import DIR, FILE, Entry  # noqa: E402

FILES = 150


def target_entries(doc, which: str) -> list[Entry]:
    entries = [Entry("/opt/data", DIR, 0o755)]
    if which == "B":
        entries.append(Entry("/opt/data/sub", DIR, 0o700))
    for i in range(FILES):
        source, size, sha = doc.store_bytes(f"{which}{i} ".encode() * (1 + i % 50))
        folder = "/opt/data/sub" if which == "B" and i % 3 == 0 else "/opt/data"
        entries.append(Entry(f"{folder}/f{i}", FILE, 0o644 if which == "A" else 0o750,
                             size=size, sha256=sha, source=source))
    return entries


def main() -> None:
    root, which = Path(sys.argv[1]), sys.argv[2]
    doc = ImageDocument.open(root)
    state = doc.state
    if state.entry("/opt/data"):
        state.apply(edits.remove(state, ["/opt/data"]))
    state.apply(edits.add_entries(state, target_entries(doc, which), "target"))
    source, size, sha = doc.store_bytes(f"host-{which}\n".encode())
    state.apply(edits.set_content(state, "/etc/hostname", source, size, sha))
    if which == "A" and state.entry("/etc/motd"):
        state.apply(edits.remove(state, ["/etc/motd"]))
    if which == "B" and state.ghost("/etc/motd"):
        state.apply(edits.restore(state, "/etc/motd"))
    if state.entry("/usr/local/bin/tool"):
        state.apply(edits.remove(state, ["/usr/local/bin/tool"]))
    state.apply(edits.new_symlink(state, "/usr/local/bin/tool", f"/bin/{which.lower()}"))
    print("saving", flush=True)
    doc.save()
    print("saved", flush=True)


if __name__ == "__main__":
    main()
