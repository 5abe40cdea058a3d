"""Rewrite one marked section of a docs file, leaving every other section as it is.

A section is the text between ``<!-- NAME -->`` and ``<!-- /NAME -->``. Several benchmarks (and hand-written
sections) share docs/performance.md, so a benchmark replaces only its own section; a file that does not
have the section yet gets it appended at the end.
"""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, name: str, body: str, *, legacy_open_marker: bool = False) -> None:
    """Put ``body`` between the markers of section ``name`` in ``doc``.

    ``legacy_open_marker``: the file may hold the start marker without an end marker (an older layout
    where the section ran to the end of the file); the whole tail is then the section.
    """
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    current = doc.read_text(encoding="utf-8") if doc.exists() else ""
    block = f"{start}\n\n{body.strip()}\n\n{end}"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        tail = rest.split(end, 1)[1]
    elif start in current and legacy_open_marker:
        head, tail = current.split(start, 1)[0], "\n"
    else:
        head, tail = (current.rstrip("\n") + "\n\n") if current else "", "\n"
    doc.write_text(head + block + tail, encoding="utf-8")
