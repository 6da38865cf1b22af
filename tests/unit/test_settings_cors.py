"""CLOUDMALL_CORS_ORIGINS is read as comma-separated origins (or a JSON list)."""

from __future__ import annotations

import pytest

from cloudmall.config import Settings


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("http://127.0.0.1:9000", ["http://127.0.0.1:9000"]),
        (
            "https://shop.example, https://cdn.example",
            ["https://shop.example", "https://cdn.example"],
        ),
        ('["https://shop.example"]', ["https://shop.example"]),
        ("", []),
    ],
)
def test_cors_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("CLOUDMALL_CORS_ORIGINS", raw)
    assert Settings().cors_origins == origins
