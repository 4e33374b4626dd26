"""The figures a benchmark reports and the one table `make bench` prints of them."""

from __future__ import annotations

import pytest

from devtools.figures import Figure, parse, report, table


def test_the_ratio_is_above_one_when_better_than_the_goal_either_way() -> None:
    fast = Figure("b", "rate", 6_000, "req/s", goal=5_000)
    slow = Figure("b", "rate", 4_000, "req/s", goal=5_000)
    small = Figure("b", "delay", 25, "ms", goal=50, higher_is_better=False)
    large = Figure("b", "delay", 100, "ms", goal=50, higher_is_better=False)
    assert fast.ratio == pytest.approx(1.2) and fast.met is True
    assert slow.ratio == pytest.approx(0.8) and slow.met is False
    assert small.ratio == pytest.approx(2.0) and small.met is True
    assert large.ratio == pytest.approx(0.5) and large.met is False


def test_a_figure_without_a_goal_or_of_zero_has_no_ratio() -> None:
    assert Figure("b", "rss", 100.0, "MiB").ratio is None
    assert Figure("b", "rss", 100.0, "MiB").met is None
    assert Figure("b", "delay", 0.0, "ms", goal=50, higher_is_better=False).ratio is None


def test_a_reported_figure_is_read_back_from_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    sent = report("intake", "refusals", 7_500, "req/s", goal=5_000, settings="N=50000")
    (line,) = capsys.readouterr().out.splitlines()
    assert parse(line + "\n") == sent
    assert parse("median 7,500 req/s\n") is None


def test_an_unreadable_figure_line_is_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse('FIGURE {"bench": "x"}') is None
    assert "unreadable figure line" in capsys.readouterr().err


def test_the_table_has_a_row_per_figure_with_goal_ratio_and_verdict() -> None:
    figures = [
        Figure("intake", "refusals", 7_500, "req/s", goal=5_000, settings="N=50000"),
        Figure("large", "peak message", 600_000, "bytes", goal=524_288, higher_is_better=False),
        Figure("large", "rss submitter", 123.456, "MiB"),
    ]
    lines = table(figures, "x86_64, 2 CPUs").splitlines()
    assert lines[0] == "machine: x86_64, 2 CPUs"
    assert lines[1].split() == ["bench", "figure", "value", "unit", "goal", "ratio", "met"]
    assert set(lines[2].replace(" ", "")) == {"-"}
    assert lines[3].split() == ["intake", "refusals", "7,500", "req/s", "≥", "5,000", "1.50", "yes"]
    assert lines[4].split() == [
        "large", "peak", "message", "600,000", "bytes", "≤", "524,288", "0.87", "NO",
    ]  # fmt: skip
    assert lines[5].split() == ["large", "rss", "submitter", "123", "MiB", "—", "—", "—"]
    assert lines[6:] == ["settings:", "  intake: N=50000"]
    # Columns line up: every row's value starts where the header's does.
    column = lines[1].index("value")
    assert all(row[column - 2 : column] == "  " and row[column] != " " for row in lines[3:6])
