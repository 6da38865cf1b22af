"""Access-token keys in the settings: a key pair generated once for development, required in
production, and what each process is given (issuer and verifier, or a verifier alone)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from cloudmall.bootstrap import build_access_tokens, new_signing_key
from cloudmall.config import Settings

SECRET = "k" * 64


def test_development_generates_a_key_pair_once_kept_private(tmp_path: Path) -> None:
    key = Settings(var_dir=tmp_path).token_signing_key.get_secret_value()
    assert key.startswith("-----BEGIN PRIVATE KEY-----")
    path = tmp_path / "token-signing-key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(var_dir=tmp_path).token_signing_key.get_secret_value() == key  # kept
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_production_needs_a_signing_key_or_verify_keys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CLOUDMALL_TOKEN_SIGNING_KEY must be set"):
        Settings(environment="production", var_dir=tmp_path, secret_key=SECRET)
    assert not (tmp_path / "token-signing-key.pem").exists()
    private, public = new_signing_key()
    Settings(environment="production", secret_key=SECRET, token_signing_key=private)
    Settings(environment="production", secret_key=SECRET, token_verify_keys=public.pem())
    Settings(environment="production", secret_key=SECRET, token_algorithm="HS256")


def test_a_process_with_the_private_key_issues_and_verifies(tmp_path: Path) -> None:
    private, public = new_signing_key()
    tokens = build_access_tokens(Settings(var_dir=tmp_path, token_signing_key=private))
    assert tokens.issuer is not None
    keys = tokens.verifier.key_set()["keys"]
    assert [k["kid"] for k in keys] == [public.kid]  # type: ignore[attr-defined]


def test_a_process_with_public_keys_alone_only_verifies(tmp_path: Path) -> None:
    """During a rotation the old key is listed beside the new one (the signing key's own is
    always accepted, listed or not)."""
    _, new = new_signing_key()
    _, old = new_signing_key()
    settings = Settings(var_dir=tmp_path, token_verify_keys=f"{new.pem()}\n{old.pem()}")
    tokens = build_access_tokens(settings)
    assert tokens.issuer is None
    assert [k["kid"] for k in tokens.verifier.key_set()["keys"]] == [new.kid, old.kid]  # type: ignore[attr-defined]
    assert settings.token_signing_key.get_secret_value() == ""
    assert not (tmp_path / "token-signing-key.pem").exists()


def test_the_signing_key_listed_among_verify_keys_is_published_once(tmp_path: Path) -> None:
    private, public = new_signing_key()
    _, old = new_signing_key()
    settings = Settings(
        var_dir=tmp_path, token_signing_key=private, token_verify_keys=public.pem() + old.pem()
    )
    keys = build_access_tokens(settings).verifier.key_set()["keys"]
    assert [k["kid"] for k in keys] == [public.kid, old.kid]  # type: ignore[attr-defined]


def test_hs256_signs_with_the_secret_key_and_publishes_no_keys(tmp_path: Path) -> None:
    tokens = build_access_tokens(
        Settings(var_dir=tmp_path, secret_key=SECRET, token_algorithm="HS256")
    )
    assert tokens.issuer is not None
    assert tokens.verifier.key_set() == {"keys": []}


def test_a_bad_key_is_a_startup_error_that_shows_no_key(tmp_path: Path) -> None:
    private, _ = new_signing_key()
    broken = private.replace("A", "B", 3)[:-30]
    with pytest.raises(ValueError, match="CLOUDMALL_TOKEN_SIGNING_KEY is not") as refused:
        build_access_tokens(Settings(var_dir=tmp_path, token_signing_key=broken))
    assert "PRIVATE KEY" not in str(refused.value)
    with pytest.raises(ValueError, match="CLOUDMALL_TOKEN_VERIFY_KEYS"):
        build_access_tokens(Settings(var_dir=tmp_path, token_verify_keys="ssh-ed25519 AAAA"))
