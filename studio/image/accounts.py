"""User and group names from an image's own /etc/passwd and /etc/group (Qt-free)."""

from __future__ import annotations


def parse_ids(text: str) -> dict[int, str]:
    """id -> name from passwd- or group-format text (name:x:id:...)."""
    names: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            names.setdefault(int(fields[2]), fields[0])
    return names


def parse_names(text: str) -> dict[str, int]:
    """name -> id, the inverse, for the properties dialog."""
    return {name: uid for uid, name in parse_ids(text).items()}
