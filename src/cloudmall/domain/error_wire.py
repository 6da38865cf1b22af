"""A CloudmallError as plain data and back, for the internal calls between services: the caller
raises the same class, with the same message and attributes, that the called service raised.

The class travels as its `code` (each is unique: `error_class`), its attributes as JSON values
(a Decimal as a string, tagged).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloudmall.domain import reservations  # noqa: F401 - ReservationExpired joins the registry
from cloudmall.domain.errors import CloudmallError

_DECIMAL = "$decimal"


def error_classes() -> dict[str, type[CloudmallError]]:
    """Every CloudmallError class imported so far, by its code."""
    found: dict[str, type[CloudmallError]] = {CloudmallError.code: CloudmallError}
    pending = [CloudmallError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.setdefault(subclass.code, subclass)
            pending.append(subclass)
    return found


def error_class(code: str) -> type[CloudmallError]:
    """The class with this code; CloudmallError itself for a code this process does not know."""
    return error_classes().get(code, CloudmallError)


def to_wire(exc: CloudmallError) -> dict[str, Any]:
    """The error's code, message and attributes (besides the message) as JSON values."""
    attributes = {name: _encode(value) for name, value in vars(exc).items() if name != "message"}
    return {"code": exc.code, "message": exc.message, "attributes": attributes}


def from_wire(data: dict[str, Any]) -> CloudmallError:
    """The error `to_wire` described, of its class by code (built without its __init__, whose
    arguments differ per class: the attributes are set as they were)."""
    cls = error_class(str(data.get("code", "")))
    message = str(data.get("message", ""))
    exc = cls.__new__(cls)
    CloudmallError.__init__(exc, message)
    for name, value in dict(data.get("attributes") or {}).items():
        setattr(exc, name, _decode(value))
    return exc


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return {_DECIMAL: str(value)}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: object) -> object:
    if isinstance(value, dict) and set(value) == {_DECIMAL}:
        return Decimal(str(value[_DECIMAL]))
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value
