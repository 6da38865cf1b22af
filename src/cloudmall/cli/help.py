"""How `--help` looks: words, not Python types.

typer (0.29) prints each parameter's Python type beside it (`<str>`, `<int>`, `<bool>` even on
flags) and has no setting to leave that column out; every option here says in its help what its
value is, so the column is dropped for all of them. A metavar chosen on purpose (`--hours HOURS`)
still shows.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption


def _chosen_metavar(option: Any, ctx: Any) -> str | None:
    return option.metavar or None


def _nothing(argument: Any, ctx: Any) -> None:
    return None  # an argument's name (or metavar) is shown already


def hide_parameter_types() -> None:
    TyperOption.display_type_rich = _chosen_metavar  # type: ignore[method-assign, assignment]
    TyperArgument.display_type_rich = _nothing  # type: ignore[method-assign, assignment]
