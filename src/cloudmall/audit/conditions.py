"""When a statement's Condition scopes ``Resource: "*"`` to some resources (attribute-based).

Two kinds count: a tag the resource or the request must carry (``aws:ResourceTag/<key>``,
``aws:RequestTag/<key>`` and the services' own ``ec2:ResourceTag/<key>``...), compared with a
positive operator or required by ``Null: false``; and the one service a service-linked role is
made for (``iam:AWSServiceName`` equal to a named service). A request without the key matches
neither, so such a statement grants nothing beyond the tagged resources (or that service's role).
Negated operators, ``...IfExists``, ``ForAllValues:`` (true when the key is absent) and
``Null: true`` (the tag must be absent) scope nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cloudmall.audit.stack import as_list

_TAG_KEY = re.compile(r"^[a-z0-9-]+:(resourcetag|requesttag)/.+$", re.IGNORECASE)
_SERVICE_NAME_KEY = "iam:awsservicename"
_TAG_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "stringlike"})
_SERVICE_NAME_OPERATORS = frozenset({"stringequals", "stringlike"})


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _named(values: list[Any], *, wildcards: bool) -> bool:
    """Every value a literal string, none empty (nor a wildcard, unless ``wildcards``)."""
    return bool(values) and all(
        isinstance(v, str) and v and (wildcards or not set(v) & {"*", "?"}) for v in values
    )


def _scopes(operator: str, key: str, value: Any) -> bool:
    operator, key = operator.lower(), key.lower()
    if _TAG_KEY.match(key):
        if operator == "null":
            return _is_false(value)
        return operator in _TAG_OPERATORS and _named(as_list(value), wildcards=True)
    if key == _SERVICE_NAME_KEY:
        return operator in _SERVICE_NAME_OPERATORS and _named(as_list(value), wildcards=False)
    return False


def scoping_keys(condition: Any) -> tuple[str, ...]:
    """The condition keys that scope a statement to tagged resources or to one service's role.

    Empty when the Condition (its blocks are all required) leaves the statement unscoped.
    """
    if not isinstance(condition, Mapping):
        return ()
    return tuple(
        key
        for operator, block in condition.items()
        if isinstance(block, Mapping)
        for key, value in block.items()
        if _scopes(str(operator), str(key), value)
    )
