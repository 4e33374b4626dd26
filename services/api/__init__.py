"""The api service (docs/design.md §5)."""
