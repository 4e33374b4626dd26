"""The applier service (ARCHITECTURE.md §5)."""
