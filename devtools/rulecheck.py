"""The checker of the monitoring files (``deploy/monitoring/rulecheck``, Go): built from its
own go.mod/go.sum with the Go module proxy into ``.local/bin/``, like FerretDB, and cached
under a name that carries a hash of its sources, so a changed checker is built again and
worktrees with different ones never share a binary.

It parses the rules file with Prometheus's own ``rulefmt`` (what ``promtool check rules``
does) and PromQL with Prometheus's parser (docs/design.md §23).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devtools import REPO_ROOT

SOURCES = ("go.mod", "go.sum", "main.go")


def source_dir(root: Path = REPO_ROOT) -> Path:
    return root / "deploy" / "monitoring" / "rulecheck"


def binary(root: Path = REPO_ROOT) -> Path:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((source_dir(root) / name).read_bytes())
    return root / ".local" / "bin" / f"rulecheck-{digest.hexdigest()[:12]}"


def build(root: Path = REPO_ROOT) -> Path:
    """The checker's binary, built when missing (about a minute with an empty module
    cache; the modules are checked against go.sum by the go command)."""
    out = binary(root)
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    started = time.monotonic()
    print(f"[provision] rulecheck: building {out.name} from {source_dir(root)}", flush=True)
    result = subprocess.run(
        ["go", "build", "-trimpath", "-buildvcs=false", "-mod=readonly", "-o", str(partial), "."],
        cwd=source_dir(root),
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building rulecheck failed:\n{result.stdout}{result.stderr}")
    partial.rename(out)
    print(f"[provision] rulecheck: built in {time.monotonic() - started:.1f}s", flush=True)
    return out


def check_rules(files: Sequence[Path], root: Path = REPO_ROOT) -> list[str]:
    """Problems rulefmt finds in the rule files (none: valid)."""
    result = subprocess.run(
        [str(build(root)), "rules", *map(str, files)], capture_output=True, text=True, check=False
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"rulecheck failed: {result.stderr}")
    return result.stdout.splitlines()


@dataclass(frozen=True)
class Parsed:
    expr: str
    metrics: list[str]
    error: str | None


def parse_exprs(exprs: Sequence[str], root: Path = REPO_ROOT) -> list[Parsed]:
    """Each PromQL expression as Prometheus parses it: the metric names it selects, or
    the parse error."""
    result = subprocess.run(
        [str(build(root)), "exprs"],
        input="".join(json.dumps(e) + "\n" for e in exprs),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"rulecheck failed: {result.stderr}")
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    if len(answers) != len(exprs):
        raise RuntimeError(f"rulecheck answered {len(answers)} of {len(exprs)} expressions")
    return [
        Parsed(expr, a["metrics"], a.get("error") or None)
        for expr, a in zip(exprs, answers, strict=True)
    ]
