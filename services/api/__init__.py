"""The api service (ARCHITECTURE.md §5)."""
