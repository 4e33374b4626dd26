"""The submitter service (ARCHITECTURE.md §5)."""
