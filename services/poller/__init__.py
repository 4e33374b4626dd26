"""The poller service (ARCHITECTURE.md §5)."""
