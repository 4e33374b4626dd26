"""How a benchmark reports a figure so that `make bench` can put it in its one table.

A benchmark is a program; besides whatever it prints for a reader, it calls
:func:`report` once per figure. The line it writes (``FIGURE {json}``) is what
devtools/bench.py collects from every benchmark it runs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

PREFIX = "FIGURE "


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    goal: float | None = None
    higher_is_better: bool = True
    settings: str = ""

    @property
    def ratio(self) -> float | None:
        """How far the figure is from its goal, > 1 when better than the goal."""
        if self.goal is None or self.value == 0 or self.goal == 0:
            return None
        return self.value / self.goal if self.higher_is_better else self.goal / self.value

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        return None if ratio is None else ratio >= 1.0


def report(
    bench: str,
    name: str,
    value: float,
    unit: str,
    *,
    goal: float | None = None,
    higher_is_better: bool = True,
    settings: str = "",
) -> Figure:
    figure = Figure(bench, name, float(value), unit, goal, higher_is_better, settings)
    print(PREFIX + json.dumps(asdict(figure)), flush=True)
    return figure


def parse(line: str) -> Figure | None:
    if not line.startswith(PREFIX):
        return None
    try:
        return Figure(**json.loads(line[len(PREFIX) :]))
    except (ValueError, TypeError):
        print(f"unreadable figure line: {line!r}", file=sys.stderr)
        return None


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def table(figures: list[Figure], machine: str) -> str:
    """Every figure, its goal and ratio, in one fixed-width table."""
    head = ("bench", "figure", "value", "unit", "goal", "ratio", "met")
    rows = [head]
    for f in figures:
        goal = "—" if f.goal is None else ("≥ " if f.higher_is_better else "≤ ") + _number(f.goal)
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        met = "—" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.bench, f.name, _number(f.value), f.unit, goal, ratio, met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [f"machine: {machine}"]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    settings = sorted({f"{f.bench}: {f.settings}" for f in figures if f.settings})
    if settings:
        lines.append("settings:")
        lines.extend(f"  {s}" for s in settings)
    return "\n".join(lines)
