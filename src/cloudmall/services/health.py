"""Tier checks for /readyz and `cloudmall check`: each tier's adapter answers through a probe."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from cloudmall.services.ports import TierProbe

TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class TierStatus:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failing optional tier degrades the instance but keeps it in service


async def _timed(probe: TierProbe) -> tuple[bool, str]:
    try:
        return True, await asyncio.wait_for(probe.check(), TIMEOUT_SECONDS)
    except TimeoutError:
        return False, f"no answer within {TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # every failure is reported, none is raised
        return False, _one_line(exc)


def _one_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200] or type(exc).__name__


async def check_tiers(probes: Sequence[TierProbe], *, migrations: bool = True) -> list[TierStatus]:
    """Every probe at once, each within TIMEOUT_SECONDS; `migrations=False` skips the schema's."""
    chosen = [probe for probe in probes if migrations or probe.name != "migrations"]
    results = await asyncio.gather(*(_timed(probe) for probe in chosen))
    return [
        TierStatus(name=probe.name, ok=ok, detail=detail, required=probe.required)
        for probe, (ok, detail) in zip(chosen, results, strict=True)
    ]
