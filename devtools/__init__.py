"""Tools for running, testing and measuring the system locally (not deployed)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
