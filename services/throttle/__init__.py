"""The throttle service (docs/design.md §5)."""
