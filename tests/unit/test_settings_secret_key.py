"""Token signing keys: generated and required at 64 bytes or more (HS256, PyJWT's advice)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cloudmall.config import MIN_SECRET_KEY_BYTES, Settings


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_a_short_key_is_refused_in_every_environment(tmp_path: Path, environment: str) -> None:
    # HS256: the secret key is all production needs (with EdDSA it also needs a key pair)
    with pytest.raises(ValidationError, match="at least 64 bytes"):
        Settings(
            environment=environment, var_dir=tmp_path, secret_key="k" * 63, token_algorithm="HS256"
        )
    Settings(
        environment=environment, var_dir=tmp_path, secret_key="k" * 64, token_algorithm="HS256"
    )


def test_production_needs_a_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must be set in production"):
        Settings(environment="production", var_dir=tmp_path)


def test_the_generated_key_is_long_and_replaces_an_older_short_one(tmp_path: Path) -> None:
    key = Settings(var_dir=tmp_path).secret_key.get_secret_value()
    assert len(key.encode()) >= MIN_SECRET_KEY_BYTES
    assert Settings(var_dir=tmp_path).secret_key.get_secret_value() == key  # kept
    (tmp_path / "secret.key").write_text("short-key-from-an-older-version")
    renewed = Settings(var_dir=tmp_path).secret_key.get_secret_value()
    assert len(renewed.encode()) >= MIN_SECRET_KEY_BYTES and renewed != key
