"""The e2e stack lives in devtools/stack.py (benchmarks use it too)."""

from devtools.stack import ADMIN_KEY, SECRET_KEY, Stack

__all__ = ["ADMIN_KEY", "SECRET_KEY", "Stack"]
