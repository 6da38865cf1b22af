"""The storefront's labels as the tests read them: web/static/js/i18n.js, parsed."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import cloudmall

I18N = Path(cloudmall.__file__).parent / "web" / "static" / "js" / "i18n.js"
_ENTRY = re.compile(r'^\s*("(?:[^"\\]|\\.)+")\s*:\s*("(?:[^"\\]|\\.)*")\s*,?\s*$')


@cache
def labels() -> dict[str, dict[str, str]]:
    """{"ko": {key: text}, "en": {key: text}}: the `const ko = {...}` and `const en = {...}`."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in I18N.read_text(encoding="utf-8").splitlines():
        if start := re.match(r"^const (ko|en) = \{$", line):
            current = found.setdefault(start.group(1), {})
        elif line.startswith("};"):
            current = None
        elif current is not None and (entry := _ENTRY.match(line)):
            current[json.loads(entry.group(1))] = json.loads(entry.group(2))
    assert set(found) == {"ko", "en"} and all(found.values()), "i18n.js changed shape"
    return found


def missing(key: str) -> list[str]:
    """The languages without a text for `key` (empty: both have one)."""
    return [lang for lang, texts in labels().items() if not texts.get(key, "").strip()]
