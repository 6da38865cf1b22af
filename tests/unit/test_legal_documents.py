"""The storefront's terms and privacy pages are the versions sign-up records consent to."""

from __future__ import annotations

import re
from pathlib import Path

from cloudmall.config import Settings

LEGAL_JS = Path(__file__).resolve().parents[2] / "src/cloudmall/web/static/js/views/legal.js"


def test_the_pages_versions_are_the_settings_defaults() -> None:
    text = LEGAL_JS.read_text(encoding="utf-8")
    versions = dict(re.findall(r'^  (terms|privacy): \{\n    version: "([^"]+)"', text, re.M))
    settings = Settings(secret_key="k" * 64)
    assert versions == {
        "terms": settings.terms_version,
        "privacy": settings.privacy_policy_version,
    }
