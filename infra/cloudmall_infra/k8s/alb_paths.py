"""The load balancer's path patterns, derived from the services' route table
(cloudmall.web.service_routes), so the ALB and the services' apps never disagree.

A route's head is its path up to its first parameter. A service's pattern for a route is the
shortest prefix of that head (two segments at least: `/api` is everyone's) under which every
route is the service's own, so `/api/auth/...` is one `/api/auth` rule. Where two services share
a head (`/api/orders`: orders, and payments' `/api/orders/{order_id}/pay`), the service with more
routes under it keeps the prefix and the other's routes get a wildcard pattern each, evaluated
first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from cloudmall.web.service_routes import OWNERSHIP

_MIN_SEGMENTS = 2


def _head(template: str) -> tuple[str, ...]:
    segments = template.strip("/").split("/")
    literal = []
    for segment in segments:
        if segment.startswith("{"):
            break
        literal.append(segment)
    return tuple(literal)


def _wildcard(template: str) -> str:
    """`/api/orders/{order_id}/pay` → `/api/orders/*/pay` (an ALB wildcard pattern)."""
    return re.sub(r"\{[^}]+\}", "*", template)


def _under(head: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return head[: len(prefix)] == prefix


def patterns() -> tuple[tuple[str, str], ...]:
    """(ALB path pattern, service) in evaluation order: the wildcards, then the prefixes, the
    longer first (a path under two prefixes goes to the nearer one)."""
    routes = [
        (service.value, _head(template), template)
        for service, owned in OWNERSHIP.items()
        for _, template in sorted(owned)
    ]
    owners: defaultdict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for service, head, _ in routes:
        owners[head][service] += 1
    keeper = {head: counts.most_common(1)[0][0] for head, counts in owners.items()}
    wildcards = {
        (_wildcard(template), service)
        for service, head, template in routes
        if keeper[head] != service
    }
    kept = [(service, head) for service, head, _ in routes if keeper[head] == service]
    prefixes: set[tuple[str, str]] = set()
    for service, head in kept:
        for length in range(min(_MIN_SEGMENTS, len(head)), len(head) + 1):
            prefix = head[:length]
            if all(other == service for other, h in kept if _under(h, prefix)):
                prefixes.add(("/" + "/".join(prefix), service))
                break
    return (*sorted(wildcards), *sorted(prefixes, key=lambda p: (-p[0].count("/"), p)))
