"""``amazon-jobs``: the command-line client of the Amazon Jobs HTTP API."""
