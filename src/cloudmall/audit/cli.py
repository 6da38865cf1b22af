"""`cloudmall audit [CDK_OUT_DIR]`: the guide's security checklist, item by item, per stack.

Exit status: 0 when every item is met, account-level and covered, exempt or not applicable;
1 when an item is not met; 2 when the templates cannot be read.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cloudmall.audit.engine import audit
from cloudmall.audit.render import print_table, to_json, to_markdown
from cloudmall.audit.stack import StackTemplate
from cloudmall.cost.errors import TemplateError
from cloudmall.cost.template import load_templates

app = typer.Typer(
    help="The guide's security checklist (보안 체크리스트) against synthesized CDK templates.",
    invoke_without_command=True,
    # one command, no subcommands: options may follow the path
    context_settings={"allow_interspersed_args": True},
)

BAD_INPUT = 2


class OutputFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


def error(message: str) -> None:
    Console(stderr=True).print("[bold red]error:[/]", escape(message))


def load_stacks(path: Path) -> list[StackTemplate]:
    """Every stack of a cdk.out directory; a template file's stack is named after the file."""
    return [
        StackTemplate(t.name if path.is_dir() else t.name.split(".", 1)[0], t.body)
        for t in load_templates(path)
    ]


@app.callback()
def audit_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A cdk.out directory (every stack in it) or one CloudFormation template."
        ),
    ] = Path("cdk.out"),
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Check every stack against the checklist: met, not met, account-level (covered by the
    SecurityBaseline stack when it is in the set), exempt or n/a, with the resources and reasons.
    """
    try:
        stacks = load_stacks(path)
    except TemplateError as exc:
        error(str(exc))
        raise typer.Exit(BAD_INPUT) from None
    try:
        report = audit(stacks)
    except (AttributeError, TypeError, ValueError) as exc:
        # a property of a shape CloudFormation would reject: say so rather than guess
        error(f"a template holds a property the audit cannot read: {type(exc).__name__}: {exc}")
        raise typer.Exit(BAD_INPUT) from None
    if output is OutputFormat.table:
        print_table(report, Console())
    elif output is OutputFormat.markdown:
        typer.echo(to_markdown(report))
    else:
        typer.echo(to_json(report))
    raise typer.Exit(0 if report.passed else 1)
