"""The throttle service (ARCHITECTURE.md §5)."""
