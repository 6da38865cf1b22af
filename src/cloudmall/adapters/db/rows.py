"""What every repository needs to read rows: exact money, and the databases' constraint errors."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.exc import DBAPIError, IntegrityError

from cloudmall.domain.money import CENT


def cents(value: Decimal | float | int | str) -> Decimal:
    """A money column's value (Decimal, or what a driver's SUM gives) to exactly 2 places."""
    return Decimal(value).quantize(CENT)


# MariaDB and MySQL report a failed CHECK constraint as an operational error, by these codes.
_MYSQL_CHECK_FAILED = {3819, 4025}


def check_failed(exc: DBAPIError) -> bool:
    """True if the database refused a row for a CHECK (or other integrity) constraint."""
    args = getattr(exc.orig, "args", ())
    return isinstance(exc, IntegrityError) or bool(args and args[0] in _MYSQL_CHECK_FAILED)
