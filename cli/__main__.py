"""``python -m cli``: the same as the ``amazon-jobs`` script."""

from cli.main import app

app(prog_name="amazon-jobs")
