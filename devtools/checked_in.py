"""Files generated from the code and checked in (event schemas, the AsyncAPI document):
``write`` them, or ``check`` that what is checked in is what the code generates (CI)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path


def write_or_check(
    argv: list[str],
    wanted: Mapping[Path, str],
    *,
    what: str,
    module: str,
    owned: Iterable[Path] = (),
) -> int:
    """``write`` every file of ``wanted`` and delete the ``owned`` ones not among them;
    ``check`` (the default): 0 when the files on disk are exactly these, else 1, naming
    the files that differ. ``what`` names the files in messages; ``module`` runs this."""
    command = argv[0] if argv else "check"
    extra = [path for path in owned if path not in wanted]
    if command == "write":
        for path in extra:
            path.unlink()
        for path, text in wanted.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        print(f"wrote {what}")
        return 0
    if command != "check":
        print(f"usage: python -m {module} write|check", file=sys.stderr)
        return 2
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if stale or extra:
        names = ", ".join(p.name for p in stale + extra)
        print(f"out of date: {what} ({names}): run `python -m {module} write`")
        return 1
    print(f"current: {what}")
    return 0
