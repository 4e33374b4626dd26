"""The applier service (docs/design.md §5)."""
