"""`cloudmall keys generate PATH`: a new Ed25519 pair in two files, the private one 0600 and never
printed, that the shop takes as its signing and verify keys; an existing file is never replaced."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from cloudmall.bootstrap import build_access_tokens
from cloudmall.cli import app
from cloudmall.config import Settings
from cloudmall.domain.users import Role, User


def test_a_generated_pair_signs_and_verifies_and_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    answer = CliRunner().invoke(app, ["keys", "generate", str(path)], env={"COLUMNS": "200"})
    assert answer.exit_code == 0, answer.output
    assert "PRIVATE KEY" not in answer.output
    private = path.read_text()
    public = (tmp_path / "signing.pem.pub").read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert private.startswith("-----BEGIN PRIVATE KEY-----")
    assert public.startswith("-----BEGIN PUBLIC KEY-----")

    issuing = build_access_tokens(Settings(var_dir=tmp_path, token_signing_key=private))
    verifying = build_access_tokens(Settings(var_dir=tmp_path, token_verify_keys=public))
    assert issuing.issuer is not None and verifying.issuer is None
    kid = verifying.verifier.key_set()["keys"][0]["kid"]  # type: ignore[index]
    assert f"key id:      {kid}" in answer.output
    user = User(7, "a@b.co", "A", Role.CUSTOMER, "x", datetime.now(UTC))
    assert verifying.verifier.decode(issuing.issuer.issue(user)[0]).user_id == 7

    (tmp_path / "other.pem.pub").write_text("an old public key")
    for taken in (path, tmp_path / "other.pem"):
        again = CliRunner().invoke(app, ["keys", "generate", str(taken)])
        assert again.exit_code == 1 and "exists" in again.output
    assert path.read_text() == private
    assert not (tmp_path / "other.pem").exists()  # nothing written when either file exists
