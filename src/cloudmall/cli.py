"""The `cloudmall` command line."""

import typer

app = typer.Typer(help="cloudmall: the guide's online shopping mall.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """cloudmall: the guide's online shopping mall."""
