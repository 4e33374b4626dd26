"""The e2e stack lives in devtools/stack.py (benchmarks use it too)."""

from devtools.stack import ADMIN_KEY, ALL_SERVICES, SECRET_KEY, ServiceProcess, Stack

__all__ = ["ADMIN_KEY", "ALL_SERVICES", "SECRET_KEY", "ServiceProcess", "Stack"]
