"""`cloudmall keys generate PATH`: a new Ed25519 key pair for signing access tokens."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cloudmall.bootstrap import new_signing_key
from cloudmall.cli.runner import console, fail

keys_app = typer.Typer(help="Access-token signing keys (Ed25519).", no_args_is_help=True)


def _create(path: Path, text: str, mode: int) -> None:
    """Write a new file; never over an existing one (it may be a key still in use)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as file:
        file.write(text)


@keys_app.command("generate")
def generate(
    path: Annotated[
        Path, typer.Argument(help="the private key's file (mode 0600); the public key: PATH.pub")
    ],
) -> None:
    """Write a new private key to PATH and its public key to PATH.pub, and print the key id.

    The private key goes into CLOUDMALL_TOKEN_SIGNING_KEY of the process that issues tokens
    (on AWS: its Secrets Manager secret); the public key into CLOUDMALL_TOKEN_VERIFY_KEYS of
    processes that only verify. The private key is never printed."""
    public_path = path.with_name(f"{path.name}.pub")
    private_pem, public = new_signing_key()
    try:
        for target in (path, public_path):  # both checked before either is written
            if target.exists():
                raise FileExistsError(0, "exists", str(target))
        _create(path, private_pem, 0o600)
        _create(public_path, public.pem(), 0o644)
    except FileExistsError as exc:
        raise fail(f"{exc.filename} exists: choose a new path (it may hold a key in use)") from None
    except OSError as exc:
        raise fail(f"cannot write {exc.filename}: {exc.strerror}") from None
    console.print(f"private key: {path} (mode 0600)")
    console.print(f"public key:  {public_path}")
    console.print(f"key id:      {public.kid}")
