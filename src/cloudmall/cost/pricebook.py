"""The price book: list prices per region, service and SKU, each with its source and date.

The built-in book ships as ``data/prices.json``; a user may pass their own JSON or TOML file of
the same shape. Numbers are read as :class:`~decimal.Decimal` (never through ``float``).
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from cloudmall.cost.errors import (
    MissingPriceError,
    PriceBookError,
    UnknownInstanceTypeError,
    UnknownRegionError,
    describe_validation_error,
)

PurchaseName = Literal["on-demand", "reserved-1y", "spot"]
PURCHASE_NAMES: tuple[PurchaseName, ...] = ("on-demand", "reserved-1y", "spot")

# Services whose SKUs are instance/node classes: a SKU unknown in every region is reported as an
# unknown instance type rather than a missing price.
INSTANCE_SERVICES = frozenset({"ec2", "rds.mysql", "rds.aurora-mysql", "elasticache.redis"})

BUILTIN_PRICES = "prices.json"


class PriceEntry(BaseModel):
    """One list price: ``price`` USD for every ``per`` ``unit`` of ``service``/``sku``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(min_length=1)
    service: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    per: Decimal = Field(default=Decimal(1), gt=0)
    price: Decimal = Field(ge=0)
    source: str = Field(min_length=1)
    as_of: date
    note: str | None = None

    def cost(self, quantity: Decimal) -> Decimal:
        """The on-demand cost of ``quantity`` units (exact; round only for display)."""
        return quantity * self.price / self.per


class PurchaseOption(BaseModel):
    """A flat discount on the instance-hour lines of the named services."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["reserved-1y", "spot"]
    discount: Decimal = Field(ge=0, lt=1)
    applies_to: frozenset[str]
    source: str = Field(min_length=1)
    as_of: date
    note: str | None = None


class PriceBook(BaseModel):
    """A validated price book with O(1) look-ups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    name: str = Field(min_length=1)
    currency: Literal["USD"]
    as_of: date
    source_note: str = Field(min_length=1)
    regions: dict[str, str] = Field(min_length=1)
    purchase_options: list[PurchaseOption] = Field(default_factory=list)
    entries: list[PriceEntry] = Field(min_length=1)

    _index: dict[tuple[str, str, str], PriceEntry] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_consistency(self) -> PriceBook:
        index: dict[tuple[str, str, str], PriceEntry] = {}
        for position, entry in enumerate(self.entries):
            if entry.region not in self.regions:
                raise ValueError(
                    f"entries.{position} names region {entry.region!r}, "
                    f"which is not listed in 'regions'"
                )
            key = (entry.region, entry.service, entry.sku)
            if key in index:
                raise ValueError(
                    f"entries.{position} repeats the price of {entry.service} {entry.sku!r} "
                    f"in {entry.region}"
                )
            index[key] = entry
        names = [option.name for option in self.purchase_options]
        if len(names) != len(set(names)):
            raise ValueError("purchase_options names a purchase option twice")
        self._index = index
        return self

    def check_region(self, region: str) -> None:
        """Raise :class:`UnknownRegionError` unless the book prices ``region``."""
        if region not in self.regions:
            known = ", ".join(sorted(self.regions))
            raise UnknownRegionError(
                f"unknown region {region!r}: the price book {self.name!r} has {known}"
            )

    def price(self, region: str, service: str, sku: str) -> PriceEntry:
        """The entry for ``service``/``sku`` in ``region``, or a one-line error saying why not."""
        self.check_region(region)
        entry = self._index.get((region, service, sku))
        if entry is not None:
            return entry
        known_anywhere = {s for (_, svc, s) in self._index if svc == service}
        if not known_anywhere:
            raise MissingPriceError(f"the price book {self.name!r} has no {service} prices")
        if service in INSTANCE_SERVICES and sku.split("/")[0] not in {
            s.split("/")[0] for s in known_anywhere
        }:
            known = ", ".join(sorted({s.split("/")[0] for s in known_anywhere}))
            raise UnknownInstanceTypeError(
                f"unknown instance type {sku.split('/')[0]!r} for {service}: "
                f"the price book {self.name!r} knows {known}"
            )
        raise MissingPriceError(
            f"no price for {service} {sku!r} in {region} in the price book {self.name!r}"
        )

    def purchase_option(self, name: PurchaseName) -> PurchaseOption | None:
        """The discount for ``name``; ``None`` for on-demand."""
        if name == "on-demand":
            return None
        for option in self.purchase_options:
            if option.name == name:
                return option
        raise MissingPriceError(f"the price book {self.name!r} defines no purchase option {name!r}")


def parse_price_book(text: str, *, fmt: Literal["json", "toml"], origin: str) -> PriceBook:
    """Parse and validate price-book text; ``origin`` names it in error messages."""
    try:
        raw: object
        if fmt == "toml":
            raw = tomllib.loads(text, parse_float=Decimal)
        else:
            raw = json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        first_line = str(exc).splitlines()[0]
        raise PriceBookError(f"cannot parse price book {origin}: {first_line}") from exc
    try:
        return PriceBook.model_validate(raw)
    except ValidationError as exc:
        raise PriceBookError(describe_validation_error(f"price book {origin}", exc)) from exc


def load_price_book(path: Path | None = None) -> PriceBook:
    """Load the built-in book (``path=None``) or a user's ``.json``/``.toml`` price file."""
    if path is None:
        text = resources.files("cloudmall.cost.data").joinpath(BUILTIN_PRICES).read_text("utf-8")
        return parse_price_book(text, fmt="json", origin="(built-in)")
    fmt: Literal["json", "toml"] = "toml" if path.suffix.lower() == ".toml" else "json"
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise PriceBookError(f"price book not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceBookError(f"cannot read price book {path}: {exc}") from exc
    return parse_price_book(text, fmt=fmt, origin=str(path))
