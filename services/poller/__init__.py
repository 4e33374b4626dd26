"""The poller service (docs/design.md §5)."""
