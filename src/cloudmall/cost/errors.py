"""The cost package's errors: each carries a one-line message fit to show a user as is."""

from __future__ import annotations

from pydantic import ValidationError


class CostError(Exception):
    """Base of every error the cost model raises on bad input; ``str()`` is one line."""


class PriceBookError(CostError):
    """The price book file is missing, unreadable or invalid."""


class UnknownRegionError(CostError):
    """The region is not in the price book."""


class MissingPriceError(CostError):
    """The price book has no price for a service/SKU in the region."""


class UnknownInstanceTypeError(MissingPriceError):
    """An instance/node class the price book does not know in any region."""


class ProfileError(CostError):
    """A usage profile is missing, unreadable or invalid."""


class TemplateError(CostError):
    """A CloudFormation template or cloud assembly is missing, unreadable or invalid."""


def describe_validation_error(what: str, exc: ValidationError) -> str:
    """Summarise a pydantic error as one line: the first problem and how many more."""
    errors = exc.errors()
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return f"invalid {what}"
    first = errors[0]
    location = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = f"invalid {what}: {location}: {first['msg']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return message
