"""The submitter service (docs/design.md §5)."""
