"""Request field types whose rule needs more than a length or a range, written once so that the
validation and the OpenAPI schema are the same rule."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainValidator, WithJsonSchema

#: The largest id: 2**53 - 1, the last integer that JSON Schema validators (and browsers) hold
#: exactly, so the schema's bound means the same to every client.
MAX_ID = 2**53 - 1


def _number_only(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("must be a number")
    return value


#: For an `int` field of a body: a JSON number (`5`, `5.0`), not `true` or `"5"`, which pydantic
#: alone takes for 1 and 5. Put it after the field's bounds, which then stay in the schema.
NUMBER_ONLY = BeforeValidator(_number_only)

#: Every character `str.isspace()` is true of, written out rather than found by scanning all
#: 1.1 M code points at import (85 ms of every cold start); tests/unit/test_request_rules.py
#: checks it against the scan.
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: Text with something besides white space, i.e. not empty after the services' `str.strip()`.
#: Python's white space is spelled out: a regex's `\s` leaves some of it out (U+001C to U+001F).
VISIBLE = "[^" + "".join(f"\\u{ord(c):04x}" for c in SPACES) + "]"


def any_of_in_any_case(words: Iterable[str]) -> str:
    """A regex group matching any of `words` in any letter case (JSON Schema has no flags)."""

    def any_case(word: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)

    return "(?:" + "|".join(sorted(map(any_case, words))) + ")"


#: An exact decimal text with at most two decimals: `"10.50"`.
AMOUNT_TEXT = r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"
_NOT_AN_AMOUNT = "must be a number or a decimal string like '10.50'"


def _client_total(value: object) -> Decimal:
    if isinstance(value, str):
        if not re.fullmatch(AMOUNT_TEXT, value):
            raise ValueError(_NOT_AN_AMOUNT)
        return Decimal(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(_NOT_AN_AMOUNT)
    if not math.isfinite(value) or value < 0:
        raise ValueError("must be a finite number, not negative")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


#: The total a client expects to pay: a JSON number ≥ 0 or an exact decimal string. It is only
#: compared with the server's total, so a number is taken exactly as written, whatever its
#: precision: any other total than the server's answers 409.
ClientTotal = Annotated[
    Decimal,
    PlainValidator(_client_total),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": AMOUNT_TEXT},
            ],
            "description": "the total the client expects; any other than the server's gets 409",
        }
    ),
]
