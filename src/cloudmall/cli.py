"""The `cloudmall` command line."""

import typer

from cloudmall.cost import cli as cost_cli

app = typer.Typer(help="cloudmall: the guide's online shopping mall.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """cloudmall: the guide's online shopping mall."""


app.add_typer(cost_cli.app, name="cost")
