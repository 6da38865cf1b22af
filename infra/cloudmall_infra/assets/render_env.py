#!/usr/bin/env python3
"""Write cloudmall's env file from SSM parameters and Secrets Manager (runs on the instance).

Usage: render_env.py BOOT_JSON

BOOT_JSON names the parameters, secrets and URL credentials (see cloudmall_infra/app_settings.py);
the values are fetched with the instance role and written to ``env_file`` with mode 0600, in the
KEY="value" form that systemd's EnvironmentFile= reads. Only the standard library and boto3 (a
dependency of cloudmall, so present in its virtualenv) are used.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# No whitespace, single quotes, '$', '`' or backslashes; double quotes are escaped (JSON lists).
_SAFE_VALUE = re.compile(r"^[^\s'\\$`]*$")


def with_credentials(url: str, password: str, username: str | None = None) -> str:
    """Put ``username:password`` (URL-encoded) into the netloc of ``url``.

    >>> with_credentials("rediss://cache:6379/0", "t0k/en")
    'rediss://:t0k%2Fen@cache:6379/0'
    >>> with_credentials("mysql+asyncmy://db:3306/cloudmall", "p@ss", "admin")
    'mysql+asyncmy://admin:p%40ss@db:3306/cloudmall'
    """
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValueError("the URL already carries credentials")
    user = quote(username, safe="") if username else ""
    netloc = f"{user}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def compose(
    config: Mapping[str, Any],
    get_parameter: Callable[[str], str],
    get_secret: Callable[[str], str],
) -> dict[str, str]:
    """The environment: parameters, then whole secrets, then credentials spliced into URLs."""
    env: dict[str, str] = {}
    for key, name in config.get("parameters", {}).items():
        env[key] = get_parameter(name)
    for key, secret_id in config.get("secrets", {}).items():
        env[key] = get_secret(secret_id)
    for key, spec in config.get("url_credentials", {}).items():
        raw = get_secret(spec["secret_id"])
        if spec.get("json"):
            fields = json.loads(raw)
            env[key] = with_credentials(env[key], fields["password"], fields["username"])
        else:
            env[key] = with_credentials(env[key], raw)
    return env


def render(env: Mapping[str, str]) -> str:
    """KEY="value" lines (systemd EnvironmentFile= syntax; double quotes escaped).

    Refuses values that would need any other escaping: URL-encoded credentials never do.
    """
    lines = []
    for key in sorted(env):
        value = env[key]
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"not an environment variable name: {key!r}")
        if not _SAFE_VALUE.match(value):
            raise ValueError(f"{key}: the value has whitespace, ', $, ` or a backslash")
        escaped = value.replace('"', '\\"')
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"


def write_private(path: str, text: str) -> None:
    """Write atomically with mode 0600 from the first byte."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o750, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".env-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as handle:
        config = json.load(handle)
    import boto3

    session = boto3.session.Session(region_name=config["region"])
    ssm = session.client("ssm")
    secrets = session.client("secretsmanager")

    def get_parameter(name: str) -> str:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]

    def get_secret(secret_id: str) -> str:
        return secrets.get_secret_value(SecretId=secret_id)["SecretString"]

    env = compose(config, get_parameter, get_secret)
    write_private(config["env_file"], render(env))
    print(f"wrote {len(env)} settings to {config['env_file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
