"""The `cloudmall` command's help: `serve` first, every option described, no Python types."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from cloudmall.cli import app

TYPE_TAGS = re.compile(r"<(str|int|float|bool|path|decimal)[^>]*>|\b(TEXT|INTEGER|FLOAT|BOOLEAN)\b")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under `command` (typer's own click), by its path of names."""
    yield path, command
    if hasattr(command, "list_commands"):
        context = typer.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None
            yield from commands(sub, (*path, name))


def test_serve_is_listed_first() -> None:
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"}).output
    listed = re.findall(r"^│ (\w+)\s{2,}", help_text.split("Commands")[1], re.MULTILINE)
    assert listed[0] == "serve"
    assert {"serve", "admin", "mail", "lake"} <= set(listed)


def test_every_option_is_described_and_no_help_shows_a_type() -> None:
    found = dict(commands(typer.main.get_command(app)))
    assert ("admin", "reset-password") in found and ("mail", "send") in found
    for path, command in found.items():
        answer = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert answer.exit_code == 0, (path, answer.output)
        assert not TYPE_TAGS.search(answer.output), (path, answer.output)
        for parameter in command.params:
            assert getattr(parameter, "help", None), (path, parameter.name)
