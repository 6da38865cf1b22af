"""`python -m cloudmall` runs the CLI."""

from cloudmall.cli.main import app

app(prog_name="cloudmall")
