"""Feed documents we build and report documents we read: pure functions, no I/O."""
