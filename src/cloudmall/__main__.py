"""`python -m cloudmall` runs the CLI."""

from cloudmall.cli import app

app(prog_name="cloudmall")
